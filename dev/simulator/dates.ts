// Dates as integer day numbers (days since 1970-01-01, UTC).
//
// Why: every model in the simulator indexes its randomness by day, and the hot paths
// (bulk answers of 20k rows, long histories) compare and step through days millions of
// times. Integers make that arithmetic trivial and allocation-free; strings only appear
// at the edges (parsing a query, writing an answer), and formatting is cached.

const DAY_MS = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Day number of a calendar date (month 1-12). */
export function dayOf(y: number, m: number, d: number): number {
  return Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);
}

/** Strict YYYY-MM-DD parser: null for anything else, including 2026-02-30 or 0000-00-00. */
export function parseDate(s: string | null | undefined): number | null {
  if (!s) return null;
  const m = DATE_RE.exec(s);
  if (!m) return null;
  const y = +m[1],
    mo = +m[2],
    d = +m[3];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1900) return null;
  const n = dayOf(y, mo, d);
  const back = new Date(n * DAY_MS);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return n;
}

const cache = new Map<number, string>();

/** YYYY-MM-DD of a day number (cached: a bulk answer formats the same day 20k times). */
export function fmtDate(n: number): string {
  let s = cache.get(n);
  if (s === undefined) {
    s = new Date(n * DAY_MS).toISOString().slice(0, 10);
    if (cache.size > 200_000) cache.clear();
    cache.set(n, s);
  }
  return s;
}

/** 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday). */
export function weekday(n: number): number {
  return (((n + 4) % 7) + 7) % 7;
}

export function isWeekend(n: number): boolean {
  const w = weekday(n);
  return w === 0 || w === 6;
}

export function yearOf(n: number): number {
  return new Date(n * DAY_MS).getUTCFullYear();
}

/** [year, month 1-12, day] */
export function ymd(n: number): [number, number, number] {
  const d = new Date(n * DAY_MS);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
}

/** Month index (year * 12 + month - 1): dividends are scheduled per month. */
export function monthIndex(n: number): number {
  const [y, m] = ymd(n);
  return y * 12 + m - 1;
}

/** Add whole months to a day number, clamping the day of month. */
export function addMonths(n: number, months: number): number {
  const [y, m, d] = ymd(n);
  const t = y * 12 + (m - 1) + months;
  const ny = Math.floor(t / 12),
    nm = (t % 12) + 1;
  const last = new Date(Date.UTC(ny, nm, 0)).getUTCDate();
  return dayOf(ny, nm, Math.min(d, last));
}
