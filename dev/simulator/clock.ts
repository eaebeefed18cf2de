// Simulated time: instants, times of day, and local time at the exchanges.
//
// Why: what the API shows depends on the hour, not only the day. A bar is published some
// time after its exchange closes (publication.ts), /exchange-details says whether an
// exchange is open, and every answer is dated. The simulated instant is the simulated day
// (dates.ts) plus a time of day in UTC; local times are converted with the IANA zones of
// Intl (daylight saving included), so 16:15 in New York is 21:15 UTC in winter and 20:15
// in summer.
//
// Instants are milliseconds since 1970-01-01T00:00Z, like Date.now(); a day number times
// DAY_MS is that day's midnight UTC.

import { parseDate } from './dates.js';

export const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.(\d{3}))?)?$/;
const INSTANT_RE = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2}(?:\.\d{3})?)?)Z$/;

/** 'HH:MM[:SS[.mmm]]' -> milliseconds after midnight, or null. */
export function parseTimeOfDay(s: string): number | null {
  const m = TIME_RE.exec(s);
  if (!m) return null;
  return ((+m[1] * 60 + +m[2]) * 60 + +(m[3] ?? 0)) * 1000 + +(m[4] ?? 0);
}

/** Milliseconds after midnight -> 'HH:MM:SS.mmm'. */
export function fmtTimeOfDay(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** 'YYYY-MM-DDTHH:MM[:SS[.mmm]]Z' -> instant, or null. */
export function parseInstant(s: string): number | null {
  const m = INSTANT_RE.exec(s);
  if (!m) return null;
  const day = parseDate(m[1]);
  const time = parseTimeOfDay(m[2]);
  return day === null || time === null ? null : day * DAY_MS + time;
}

/** The day number of an instant (UTC). */
export function dayOfInstant(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** 'HH:MM' -> minutes after midnight (exchange hours, known-good constants). */
export function minutesOf(hhmm: string): number {
  return Math.floor(parseTimeOfDay(hhmm)! / MINUTE_MS);
}

/** Minutes after midnight -> 'HH:MM:SS'. */
export function fmtMinutes(minutes: number): string {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}:00`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Local wall-clock of an instant in a zone: its day number and minutes after local midnight. */
export function localTime(zone: string, ms: number): { day: number; minutes: number } {
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(ms)) if (part.type !== 'literal') p[part.type] = +part.value;
  const day = Math.floor(Date.UTC(p.year, p.month - 1, p.day) / DAY_MS);
  return { day, minutes: p.hour * 60 + p.minute };
}

/** The zone's offset from UTC at an instant, in minutes (New York in winter: -300). */
function offsetMinutes(zone: string, ms: number): number {
  const t = localTime(zone, ms);
  const wholeMinute = Math.floor(ms / MINUTE_MS) * MINUTE_MS;
  return (t.day * DAY_MS + t.minutes * MINUTE_MS - wholeMinute) / MINUTE_MS;
}

/**
 * The instant of a local wall-clock time (day number, minutes after local midnight) in a
 * zone. Exchange hours are never in the night hours when clocks change, so the offset
 * found at the first guess, checked once, is the right one.
 */
export function zonedInstant(zone: string, day: number, minutes: number): number {
  const wall = day * DAY_MS + minutes * MINUTE_MS;
  const first = wall - offsetMinutes(zone, wall) * MINUTE_MS;
  return wall - offsetMinutes(zone, first) * MINUTE_MS;
}

/** ISO form of an instant ('2026-11-20T21:30:00.000Z'). */
export function fmtInstant(ms: number): string {
  return new Date(ms).toISOString();
}
