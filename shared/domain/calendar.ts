/**
 * Each exchange's trading sessions, and which of them EODHD has published at a given
 * instant. Pure: the database's part (what /exchange-details said, holidays learnt from
 * empty bulk days) is read by exchange-calendars.ts and handed in.
 *
 * Why per exchange and in the exchange's own time zone: a run at 21:30 UTC covers the day
 * everywhere, one at 10:00 UTC only the previous session, and Thanksgiving closes New York
 * while London trades. Dates are 'YYYY-MM-DD' strings as everywhere in the pipeline;
 * instants are Dates. Every loop here is bounded (MAX_SCAN days), so a calendar that
 * claims an exchange never trades fails loudly instead of spinning.
 */
import { addDays } from './dates.js';
import { EXCHANGES, type ExchangeCode } from './exchanges.js';

export interface ExchangeHours {
  /** IANA zone of the exchange (daylight saving follows from it). */
  timeZone: string;
  /** Regular close, local 'HH:MM'. */
  close: string;
  /** Minutes after the close when EODHD's end-of-day data is complete (update-times). */
  publishAfterMinutes: number;
  /** Trading weekdays, 0 = Sunday ... 6 = Saturday. */
  workingDays: number[];
}

const MON_FRI = [1, 2, 3, 4, 5];
const EUROPE = (timeZone: string, close: string): ExchangeHours => ({
  timeZone,
  close,
  // "2-3 hours after market close": the late end, so that a run never takes a day whose
  // answer is still incomplete.
  publishAfterMinutes: 180,
  workingDays: MON_FRI,
});

/**
 * What the pipeline assumes until /exchange-details says otherwise (its time zone, close and
 * working days then win). US: 16:00 New York, data at 16:15. Frankfurt has no row of its own
 * in EODHD's update times: it follows Xetra's close.
 */
export const DEFAULT_HOURS: Record<ExchangeCode, ExchangeHours> = {
  US: { timeZone: 'America/New_York', close: '16:00', publishAfterMinutes: 15, workingDays: MON_FRI },
  LSE: EUROPE('Europe/London', '16:30'),
  F: EUROPE('Europe/Berlin', '17:30'),
  XETRA: EUROPE('Europe/Berlin', '17:30'),
  PA: EUROPE('Europe/Paris', '17:30'),
  AS: EUROPE('Europe/Amsterdam', '17:30'),
  BR: EUROPE('Europe/Brussels', '17:30'),
  LS: EUROPE('Europe/Lisbon', '16:30'),
  MC: EUROPE('Europe/Madrid', '17:30'),
  SW: EUROPE('Europe/Zurich', '17:30'),
};

/** How far a scan for a session may go: a year without one is a broken calendar. */
const MAX_SCAN = 400;

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

/** The local date and minutes after midnight of an instant in a time zone. */
export function localTime(at: Date, timeZone: string): { date: string; minutes: number } {
  let f = partsFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    partsFormatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, minutes: Number(p.hour) * 60 + Number(p.minute) };
}

/** The instant of a local date and time ('HH:MM') in a time zone (two passes settle daylight saving). */
export function zonedInstant(date: string, hhmm: string, timeZone: string): Date {
  const wanted = Date.parse(`${date}T${hhmm}:00Z`);
  let guess = wanted;
  for (let i = 0; i < 2; i++) {
    const l = localTime(new Date(guess), timeZone);
    const seen = Date.parse(`${l.date}T00:00:00Z`) + l.minutes * 60_000;
    guess += wanted - seen;
  }
  return new Date(guess);
}

function weekdayOf(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

export class ExchangeCalendar {
  private readonly workingDays: Set<number>;

  constructor(
    readonly exchange: string,
    readonly hours: ExchangeHours,
    /** Weekdays on which the exchange is closed (official holidays, learnt ones). */
    private readonly closed: ReadonlySet<string>,
  ) {
    this.workingDays = new Set(hours.workingDays);
    if (this.workingDays.size === 0) throw new Error(`exchange ${exchange} has no working days`);
  }

  isSession(date: string): boolean {
    return this.workingDays.has(weekdayOf(date)) && !this.closed.has(date);
  }

  lastSessionOnOrBefore(date: string): string {
    let d = date;
    for (let i = 0; i < MAX_SCAN; i++, d = addDays(d, -1)) if (this.isSession(d)) return d;
    throw new Error(`exchange ${this.exchange} has no session in the ${MAX_SCAN} days up to ${date}`);
  }

  /** Sessions d with after < d <= through, the first `max` of them. */
  sessionsBetween(after: string, through: string, max = Infinity): string[] {
    const out: string[] = [];
    for (let d = addDays(after, 1); d <= through && out.length < max; d = addDays(d, 1))
      if (this.isSession(d)) out.push(d);
    return out;
  }

  /** When EODHD's data of a session is complete. */
  publishedAt(session: string): Date {
    const close = zonedInstant(session, this.hours.close, this.hours.timeZone);
    return new Date(close.getTime() + this.hours.publishAfterMinutes * 60_000);
  }

  /** The last session whose data is published at `at`: the day a run at that instant brings prices up to. */
  publishedSession(at: Date): string {
    let s = this.lastSessionOnOrBefore(localTime(at, this.hours.timeZone).date);
    for (let i = 0; i < MAX_SCAN; i++) {
      if (this.publishedAt(s).getTime() <= at.getTime()) return s;
      s = this.lastSessionOnOrBefore(addDays(s, -1));
    }
    throw new Error(`exchange ${this.exchange}: no published session found before ${at.toISOString()}`);
  }

  /**
   * How far prices through `through` lag at `at`: the last session published then, and the
   * sessions after `through` up to it (at most 1,000 counted). What health, the status page
   * and its metrics report: a holiday is not a session behind.
   */
  sessionsBehind(through: string, at: Date): { last: string; behind: number } {
    const last = this.publishedSession(at);
    return { last, behind: this.sessionsBetween(through, last, 1000).length };
  }

  /** The close as minutes after local midnight (for reports). */
  get closeMinutes(): number {
    return minutesOf(this.hours.close);
  }
}

/** Weekdays only, the default hours: what is known of an exchange before anything is read. */
export function defaultCalendar(exchange: ExchangeCode, closed: ReadonlySet<string> = new Set()): ExchangeCalendar {
  return new ExchangeCalendar(exchange, DEFAULT_HOURS[exchange], closed);
}

export type Calendars = ReadonlyMap<string, ExchangeCalendar>;

/** Each exchange's trading day for a run: the published session at `at`, or the last session on or before an explicit day. */
export function tradingDays(calendars: Calendars, at: Date, explicit: string | null): Record<ExchangeCode, string> {
  const out = {} as Record<ExchangeCode, string>;
  for (const ex of EXCHANGES) {
    const cal = calendars.get(ex) ?? defaultCalendar(ex);
    out[ex] = explicit ? cal.lastSessionOnOrBefore(explicit) : cal.publishedSession(at);
  }
  return out;
}
