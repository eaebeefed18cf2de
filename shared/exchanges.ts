/**
 * The exchanges the pipeline covers, by EODHD code, and the four regions the seed ran as
 * parallel jobs. Region is the unit of fan-out: one collect-region shard each.
 */
export const REGIONS = ['us', 'lse', 'german', 'european'] as const;
export type Region = (typeof REGIONS)[number];

export const EXCHANGES = ['US', 'LSE', 'F', 'XETRA', 'PA', 'AS', 'BR', 'LS', 'MC', 'SW'] as const;
export type ExchangeCode = (typeof EXCHANGES)[number];

export const REGION_OF: Record<ExchangeCode, Region> = {
  US: 'us',
  LSE: 'lse',
  F: 'german',
  XETRA: 'german',
  PA: 'european',
  AS: 'european',
  BR: 'european',
  LS: 'european',
  MC: 'european',
  SW: 'european',
};

export function exchangesOf(region: Region): ExchangeCode[] {
  return EXCHANGES.filter((e) => REGION_OF[e] === region);
}

/** The venue of a non-US listing (for US, the symbol list names NYSE, NASDAQ, ...). */
export const VENUE_OF: Record<Exclude<ExchangeCode, 'US'>, string> = {
  LSE: 'LSE',
  F: 'FRANKFURT',
  XETRA: 'XETRA',
  PA: 'EURONEXT PARIS',
  AS: 'EURONEXT AMSTERDAM',
  BR: 'EURONEXT BRUSSELS',
  LS: 'EURONEXT LISBON',
  MC: 'BME',
  SW: 'SIX',
};

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
