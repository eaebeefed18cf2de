/**
 * Beta of an asset against its exchange's benchmark index, from daily adjusted closes:
 * cov(r_asset, r_benchmark) / var(r_benchmark) over the last BETA_RETURNS returns, where a
 * return runs between consecutive dates both series have (a day one of them lacks, a gap of
 * a thin stock or a holiday of the index, is skipped by both, so the two returns always
 * cover the same span). Fewer than BETA_MIN_RETURNS such returns: null, as an estimate from
 * a few months says little. Pure: the caller loads the series (store/benchmarks.ts).
 */

export const BETA_RETURNS = 252;
export const BETA_MIN_RETURNS = 200;

export interface DatedSeries {
  /** 'YYYY-MM-DD', ascending */
  dates: ArrayLike<string>;
  /** adjusted closes, one per date */
  closes: ArrayLike<number>;
}

/** The index of the last date on or before `session` (-1: none), by binary search. */
export function lastIndexOnOrBefore(dates: ArrayLike<string>, session: string, end = dates.length): number {
  let lo = 0;
  let hi = end; // the answer is in [lo - 1, hi - 1]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (dates[mid]! <= session) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

// Scratch for the common closes (newest first): one beta allocates nothing, as
// calc-indicators takes one per asset and session (11 million on a first backfill).
const A = new Float64Array(BETA_RETURNS + 1);
const B = new Float64Array(BETA_RETURNS + 1);

/**
 * Beta at `session` (only dates on or before it count). Non-positive or non-finite closes
 * are left out (no return can be taken from them).
 */
export function beta(
  asset: DatedSeries,
  benchmark: DatedSeries,
  session: string,
  opts: { returns?: number; minReturns?: number } = {},
): number | null {
  return betaFrom(
    asset,
    lastIndexOnOrBefore(asset.dates, session),
    benchmark,
    lastIndexOnOrBefore(benchmark.dates, session),
    opts,
  );
}

/**
 * Beta from the asset's bar `i` and the benchmark's bar `j` backwards (each the last on or
 * before the session): calc-indicators walks an asset's sessions in order and finds `j`
 * once per session.
 */
export function betaFrom(
  asset: DatedSeries,
  i: number,
  benchmark: DatedSeries,
  j: number,
  opts: { returns?: number; minReturns?: number } = {},
): number | null {
  const want = Math.min(opts.returns ?? BETA_RETURNS, BETA_RETURNS);
  const min = opts.minReturns ?? BETA_MIN_RETURNS;
  // Walk both series from the end (merge on dates), collecting common closes until want + 1.
  let m = 0;
  while (i >= 0 && j >= 0 && m < want + 1) {
    const da = asset.dates[i]!;
    const db = benchmark.dates[j]!;
    if (da > db) i--;
    else if (db > da) j--;
    else {
      const x = asset.closes[i]!;
      const y = benchmark.closes[j]!;
      if (x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y)) {
        A[m] = x;
        B[m] = y;
        m++;
      }
      i--;
      j--;
    }
  }
  const n = m - 1;
  if (n < min || n < 1) return null;
  // A and B run backwards in time: return k is close[k] / close[k + 1] - 1.
  let sa = 0;
  let sb = 0;
  for (let k = 0; k < n; k++) {
    sa += A[k]! / A[k + 1]! - 1;
    sb += B[k]! / B[k + 1]! - 1;
  }
  const ma = sa / n;
  const mb = sb / n;
  let cov = 0;
  let varB = 0;
  for (let k = 0; k < n; k++) {
    const rb = B[k]! / B[k + 1]! - 1 - mb;
    cov += (A[k]! / A[k + 1]! - 1 - ma) * rb;
    varB += rb * rb;
  }
  // A flat benchmark has no variance to measure against.
  return varB > 0 ? cov / varB : null;
}
