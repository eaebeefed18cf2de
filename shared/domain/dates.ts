/**
 * Calendar arithmetic on 'YYYY-MM-DD' strings (UTC), the form dates take everywhere in the
 * pipeline (the database's dates are read as strings too). Bounded: a date past year 9999
 * would stop comparing in date order as a string, so that throws instead.
 */

/** The latest weekday on or before a date: the trading day a run after the close expects. */
export function lastWeekdayOnOrBefore(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

/**
 * The date `days` after `date`. Dates are four-digit years: past 9999 (or before year 1)
 * the string form would stop comparing in date order, so that throws instead.
 */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) throw new RangeError(`not a date: ${date}`);
  d.setUTCDate(d.getUTCDate() + days);
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) throw new RangeError(`${date} + ${days} days is outside the years 0001-9999`);
  return d.toISOString().slice(0, 10);
}

export function utcToday(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * Weekdays d with after < d <= through: the trading days a ticker complete through `after`
 * may miss; at most `max` of them (the first ones): callers only need to know whether
 * there are more than a few, and a ticker 50 years behind must not cost 13,000 dates.
 */
export function weekdaysBetween(after: string, through: string, max = Infinity): string[] {
  const out: string[] = [];
  for (let d = addDays(after, 1); d <= through && out.length < max; d = addDays(d, 1)) {
    const wd = new Date(`${d}T00:00:00Z`).getUTCDay();
    if (wd !== 0 && wd !== 6) out.push(d);
  }
  return out;
}
