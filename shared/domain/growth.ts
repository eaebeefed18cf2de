/**
 * Growth as it could be computed on a day from the yearly income statements public by then:
 * exactly `fundamental_growth_as_of(d)` (sql/025_fundamentals_as_known.sql), in TypeScript,
 * so that calc-indicators can put it on every session's screener row without a query per
 * session (test/screener-rows.test.ts checks the two agree).
 *
 * Per asset, of the yearly income statements public on or before d (a row is public from its
 * filing date, else from the day it was first seen; of several versions of a period the
 * latest public one), t is the latest fiscal year; t-k is the yearly period ending within 45
 * days of k years before t (the closest). Then
 *   *_growth_1y = x(t) / x(t-1) - 1;  *_growth_ky = (x(t) / x(t-k))^(1/k) - 1 (k = 3, 5),
 * fractions a year; NULL when the year is missing or its value is not positive, and over 3
 * and 5 years when the latest is negative.
 */

export const GROWTH_ROW_COLUMNS = [
  'revenue_growth_1y',
  'revenue_growth_3y',
  'revenue_growth_5y',
  'net_income_growth_1y',
  'net_income_growth_3y',
  'net_income_growth_5y',
  'eps_growth_1y',
  'eps_growth_3y',
  'eps_growth_5y',
] as const;
export type GrowthColumn = (typeof GROWTH_ROW_COLUMNS)[number];

/** One version of a yearly income statement (financial_reports). */
export interface YearlyIncome {
  /** 'YYYY-MM-DD' */
  periodEnd: string;
  /** The day it became public: its filing date, else first_seen. */
  publicFrom: string;
  firstSeen: string;
  revenue: number | null;
  netIncome: number | null;
  eps: number | null;
}

export type Growth = { fiscalYearEnd: string } & Record<GrowthColumn, number | null>;

const DAY_MS = 86_400_000;
const dayNumber = (d: string): number =>
  Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10))) / DAY_MS;

/**
 * `d - make_interval(years => k)` as PostgreSQL computes it, as a day number: the same month
 * and day k years earlier, the day cut to the month's last (29 February -> 28 February).
 */
function yearsBefore(d: string, k: number): number {
  const y = Number(d.slice(0, 4)) - k;
  const m = Number(d.slice(5, 7)) - 1;
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(Number(d.slice(8, 10)), last)) / DAY_MS;
}

const WINDOW_DAYS = 45;

/** The SQL's rate: NULL without a positive base, or (over several years) with a negative latest. */
function rate(x: number | null, base: number | null, years: number): number | null {
  if (x === null || base === null || !(base > 0) || (years !== 1 && !(x >= 0))) return null;
  return (x / base) ** (1 / years) - 1;
}

/**
 * Growth from the periods known (one version each: the latest public), or null when none is
 * known. On two periods equally close to t-k (one before, one after), the earlier is taken:
 * the SQL function's ORDER BY abs(...) LIMIT 1 leaves that tie to its plan.
 */
export function growthOfKnown(known: Iterable<YearlyIncome>): Growth | null {
  const rows = [...known];
  if (rows.length === 0) return null;
  let latest = rows[0]!;
  for (const r of rows) if (r.periodEnd > latest.periodEnd) latest = r;
  const out = { fiscalYearEnd: latest.periodEnd } as Growth;
  for (const years of [1, 3, 5] as const) {
    const target = yearsBefore(latest.periodEnd, years);
    let base: YearlyIncome | null = null;
    let baseDistance = Infinity;
    let baseDay = Infinity;
    for (const r of rows) {
      const day = dayNumber(r.periodEnd);
      const distance = Math.abs(day - target);
      if (distance > WINDOW_DAYS) continue;
      if (distance < baseDistance || (distance === baseDistance && day < baseDay)) {
        base = r;
        baseDistance = distance;
        baseDay = day;
      }
    }
    out[`revenue_growth_${years}y`] = rate(latest.revenue, base?.revenue ?? null, years);
    out[`net_income_growth_${years}y`] = rate(latest.netIncome, base?.netIncome ?? null, years);
    out[`eps_growth_${years}y`] = rate(latest.eps, base?.eps ?? null, years);
  }
  return out;
}

/** `a` is a later public version of its period than `b` (the SQL's ORDER BY public DESC, first_seen DESC). */
const laterVersion = (a: YearlyIncome, b: YearlyIncome): boolean =>
  a.publicFrom > b.publicFrom || (a.publicFrom === b.publicFrom && a.firstSeen > b.firstSeen);

/** Growth as known on day d, from every version of an asset's yearly income statements: the definition, read directly. */
export function growthAsOf(rows: readonly YearlyIncome[], d: string): Growth | null {
  const known = new Map<string, YearlyIncome>();
  for (const r of rows) {
    if (r.publicFrom > d) continue;
    const seen = known.get(r.periodEnd);
    if (!seen || laterVersion(r, seen)) known.set(r.periodEnd, r);
  }
  return growthOfKnown(known.values());
}

/** Orders an asset's versions as the walks read them: by the day they became public, then first seen. */
export const byPublication = <T extends { publicFrom: string; firstSeen: string }>(a: T, b: T): number =>
  a.publicFrom < b.publicFrom ? -1 : a.publicFrom > b.publicFrom ? 1 : a.firstSeen < b.firstSeen ? -1 : 1;

/**
 * growthAsOf for sessions in date order, without recomputing per session: the rows (sorted
 * by byPublication) are taken as they become public, and growth is computed again only
 * when one does. at() returns the same object until then (callers may cache by identity).
 */
export class GrowthWalk {
  private next = 0;
  private readonly known = new Map<string, YearlyIncome>();
  private current: Growth | null = null;

  constructor(private readonly rows: readonly YearlyIncome[]) {}

  /** Growth known on d; d never earlier than the day asked before. */
  at(d: string): Growth | null {
    const start = this.next;
    while (this.next < this.rows.length && this.rows[this.next]!.publicFrom <= d) {
      const r = this.rows[this.next++]!;
      // In publication order, a period's later row is its later version.
      this.known.set(r.periodEnd, r);
    }
    if (this.next !== start) this.current = growthOfKnown(this.known.values());
    return this.current;
  }
}
