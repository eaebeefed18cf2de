/**
 * exchange_calendars and exchange_holidays: every write to them is here. What
 * /exchange-details said of an exchange (its time zone, close, working days, holidays and
 * early closes over a range of days), and the holidays learnt from an exchange's bulk day
 * that came back empty on a weekday outside any range the API described. Read back as the
 * ExchangeCalendar of each exchange (calendar.ts).
 */
import { type Calendars, DEFAULT_HOURS, ExchangeCalendar } from '../domain/calendar.js';
import { addDays } from '../domain/dates.js';
import { EXCHANGES, type ExchangeCode } from '../domain/exchanges.js';
import { EodhdError } from '../eodhd/client.js';
import type { ExchangeDetails } from '../eodhd/schemas.js';
import type { Queryable } from '../platform/db.js';
import { errorText, log } from '../platform/log.js';

const LOAD_CALENDARS = `SELECT exchange, time_zone, close_local, working_days FROM exchange_calendars`;
const LOAD_CLOSED = `SELECT exchange, day::text AS day FROM exchange_holidays WHERE kind IN ('official', 'learnt')`;

/** Every covered exchange's calendar: what the API said, else the defaults, with the closed days known. */
export async function loadCalendars(q: Queryable): Promise<Calendars> {
  const read = new Map(
    (
      await q.query<{ exchange: string; time_zone: string; close_local: string; working_days: number[] }>(
        LOAD_CALENDARS,
      )
    ).rows.map((r) => [r.exchange, r]),
  );
  const closed = new Map<string, Set<string>>();
  for (const r of (await q.query<{ exchange: string; day: string }>(LOAD_CLOSED)).rows) {
    let s = closed.get(r.exchange);
    if (!s) closed.set(r.exchange, (s = new Set()));
    s.add(r.day);
  }
  const out = new Map<string, ExchangeCalendar>();
  for (const ex of EXCHANGES) {
    const r = read.get(ex);
    const hours = r
      ? { ...DEFAULT_HOURS[ex], timeZone: r.time_zone, close: r.close_local, workingDays: r.working_days }
      : DEFAULT_HOURS[ex];
    out.set(ex, new ExchangeCalendar(ex, hours, closed.get(ex) ?? new Set()));
  }
  return out;
}

// Not read yet, read `refreshDays` or more ago, or its range ends within a month.
const DUE = `
  SELECT e AS exchange FROM unnest($1::text[]) e
   WHERE NOT EXISTS (SELECT 1 FROM exchange_calendars c WHERE c.exchange = e
                        AND c.read_on > $2::date - $3::int AND c.holidays_to >= $2::date + 31)
   ORDER BY 1`;

/** The exchanges whose calendar should be read from the API today. */
export async function calendarsDue(
  q: Queryable,
  exchanges: readonly string[],
  today: string,
  refreshDays: number,
): Promise<string[]> {
  return (await q.query<{ exchange: string }>(DUE, [exchanges, today, refreshDays])).rows.map((r) => r.exchange);
}

/** The range of days one /exchange-details read asks for: a year back (gaps are filled by session) and ahead. */
function detailsRange(today: string): { from: string; to: string } {
  return { from: addDays(today, -366), to: addDays(today, 366) };
}

const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** "Mon,Tue,Wed,Thu,Fri" as weekday numbers; null when it names none. */
export function workingDaysOf(text: string | null | undefined): number[] | null {
  if (!text) return null;
  const days = text
    .split(',')
    .map((d) => WEEKDAY_NAMES.indexOf(d.trim().slice(0, 3).toLowerCase()))
    .filter((d) => d >= 0);
  return days.length > 0 ? [...new Set(days)].sort() : null;
}

const UPSERT_CALENDAR = `
  INSERT INTO exchange_calendars (exchange, time_zone, close_local, working_days, holidays_from, holidays_to, read_on)
  VALUES ($1, $2, $3, $4::smallint[], $5, $6, $7)
  ON CONFLICT (exchange) DO UPDATE SET time_zone = EXCLUDED.time_zone, close_local = EXCLUDED.close_local,
    working_days = EXCLUDED.working_days, holidays_from = EXCLUDED.holidays_from, holidays_to = EXCLUDED.holidays_to,
    read_on = EXCLUDED.read_on, read_at = now()`;

// Within the range read, the API's word replaces what was known, learnt holidays included.
const CLEAR_RANGE = `DELETE FROM exchange_holidays WHERE exchange = $1 AND day BETWEEN $2 AND $3`;

// One row a day: a closure wins over an early close, which wins over a bank holiday.
const INSERT_DAYS = `
  INSERT INTO exchange_holidays (exchange, day, name, kind)
  SELECT DISTINCT ON (d.day) $1, d.day, d.name, d.kind
    FROM unnest($2::date[], $3::text[], $4::text[]) AS d(day, name, kind)
   WHERE d.day BETWEEN $5 AND $6
   ORDER BY d.day, array_position(ARRAY['official', 'early_close', 'bank'], d.kind)`;

/** Validated: a time zone Intl knows, a close 'HH:MM'. */
function checkedHours(d: ExchangeDetails): { timeZone: string; close: string } {
  try {
    new Intl.DateTimeFormat('en', { timeZone: d.Timezone });
  } catch {
    throw new Error(`exchange-details ${d.Code}: unknown time zone ${d.Timezone}`);
  }
  return { timeZone: d.Timezone, close: d.TradingHours.Close.slice(0, 5) };
}

/** Stores one /exchange-details answer for its range; how many closed days it lists. */
export async function storeExchangeDetails(
  q: Queryable,
  exchange: ExchangeCode,
  d: ExchangeDetails,
  range: { from: string; to: string },
  readOn: string,
): Promise<{ closed: number; sessionsNoted: number }> {
  const hours = checkedHours(d);
  const workingDays = workingDaysOf(d.TradingHours.WorkingDays) ?? DEFAULT_HOURS[exchange].workingDays;
  // 'official' closes the exchange; 'bank' (and anything unknown) may not: it stays a session.
  const days = [
    ...d.ExchangeHolidays.map((h) => ({
      day: h.Date,
      name: h.Holiday ?? null,
      kind: (h.Type ?? '').toLowerCase() === 'official' ? 'official' : 'bank',
    })),
    ...d.ExchangeEarlyCloseDays.map((h) => ({ day: h.Date, name: h.Holiday ?? null, kind: 'early_close' })),
  ];
  await q.query(UPSERT_CALENDAR, [exchange, hours.timeZone, hours.close, workingDays, range.from, range.to, readOn]);
  await q.query(CLEAR_RANGE, [exchange, range.from, range.to]);
  const r = await q.query<{ kind: string }>(`${INSERT_DAYS} RETURNING kind`, [
    exchange,
    days.map((x) => x.day),
    days.map((x) => x.name),
    days.map((x) => x.kind),
    range.from,
    range.to,
  ]);
  const closed = r.rows.filter((x) => x.kind === 'official').length;
  return { closed, sessionsNoted: r.rows.length - closed };
}

// Only outside what the API described: there an empty answer is something else (an outage).
const LEARN = `
  INSERT INTO exchange_holidays (exchange, day, name, kind)
  SELECT $1, $2::date, 'no bars in the bulk answer', 'learnt'
   WHERE NOT EXISTS (SELECT 1 FROM exchange_calendars c
                      WHERE c.exchange = $1 AND $2::date BETWEEN c.holidays_from AND c.holidays_to)
  ON CONFLICT (exchange, day) DO NOTHING`;

/** An exchange's bulk day came back empty on a weekday: recorded as a holiday (true when it was new). */
export async function learnHoliday(q: Queryable, exchange: string, day: string): Promise<boolean> {
  return ((await q.query(LEARN, [exchange, day])).rowCount ?? 0) > 0;
}

const LEARNT = `SELECT exchange, day::text AS day FROM exchange_holidays WHERE kind = 'learnt' AND exchange = ANY($1::text[])`;

/** The learnt holidays of these exchanges (a bar on one of them proves it wrong). */
export async function learntHolidays(q: Queryable, exchanges: readonly string[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const r of (await q.query<{ exchange: string; day: string }>(LEARNT, [exchanges])).rows) {
    let s = out.get(r.exchange);
    if (!s) out.set(r.exchange, (s = new Set()));
    s.add(r.day);
  }
  return out;
}

const UNLEARN = `DELETE FROM exchange_holidays WHERE exchange = $1 AND day = $2 AND kind = 'learnt'`;

/** A learnt holiday that had bars after all: forgotten (true when there was one). */
export async function forgetLearntHoliday(q: Queryable, exchange: string, day: string): Promise<boolean> {
  return ((await q.query(UNLEARN, [exchange, day])).rowCount ?? 0) > 0;
}

export interface CalendarRead {
  /** Exchanges whose calendar was read, with the closed days and other noted days it listed. */
  read: Array<{ exchange: string; closed: number; sessionsNoted: number }>;
  /** Exchanges left for another run (the plan refused, the budget, an error), with why. */
  left: Array<{ exchange: string; reason: string }>;
}

/** What readCalendars needs of the EODHD client. */
export interface ExchangeDetailsSource {
  exchangeDetails(exchange: string, from: string, to: string): Promise<ExchangeDetails>;
}

/**
 * Reads the due calendars of these exchanges from /exchange-details (5 calls each), one at
 * a time; a probe (the plan refused the endpoint on an earlier day) asks for one only. A
 * 403 ends the reads (the plan does not have it: the calendars known, or weekdays, serve);
 * the day's limit ends them too. Any other failure is the exchange's and is left for the
 * next run.
 */
export async function readCalendars(
  q: Queryable,
  api: ExchangeDetailsSource,
  exchanges: readonly ExchangeCode[],
  today: string,
  opts: { refreshDays: number; probe: boolean },
): Promise<CalendarRead> {
  const due = (await calendarsDue(q, exchanges, today, opts.refreshDays)) as ExchangeCode[];
  const out: CalendarRead = { read: [], left: [] };
  const range = detailsRange(today);
  for (const ex of opts.probe ? due.slice(0, 1) : due) {
    try {
      const d = await api.exchangeDetails(ex, range.from, range.to);
      out.read.push({ exchange: ex, ...(await storeExchangeDetails(q, ex, d, range, today)) });
    } catch (err) {
      if (err instanceof EodhdError && (err.kind === 'auth' || err.kind === 'not_in_plan' || err.kind === 'quota')) {
        const reason = err.kind === 'not_in_plan' ? 'exchange-details is not in the plan' : err.message;
        for (const rest of due.slice(due.indexOf(ex))) out.left.push({ exchange: rest, reason });
        if (err.kind === 'auth') throw err;
        return out;
      }
      out.left.push({ exchange: ex, reason: errorText(err) });
      log('warn', 'exchange_calendar_failed', { exchange: ex, error: errorText(err) });
    }
  }
  if (opts.probe)
    for (const rest of due.slice(1)) out.left.push({ exchange: rest, reason: 'probe: one exchange a day' });
  return out;
}
