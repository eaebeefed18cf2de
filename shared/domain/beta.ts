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
  dates: readonly string[];
  /** adjusted closes, one per date */
  closes: readonly number[];
}

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
  const want = opts.returns ?? BETA_RETURNS;
  const min = opts.minReturns ?? BETA_MIN_RETURNS;
  // Walk both series from the end (merge on dates), collecting common closes until want + 1.
  const a: number[] = [];
  const b: number[] = [];
  let i = asset.dates.length - 1;
  let j = benchmark.dates.length - 1;
  while (i >= 0 && asset.dates[i]! > session) i--;
  while (j >= 0 && benchmark.dates[j]! > session) j--;
  while (i >= 0 && j >= 0 && a.length < want + 1) {
    const da = asset.dates[i]!;
    const db = benchmark.dates[j]!;
    if (da > db) i--;
    else if (db > da) j--;
    else {
      const x = asset.closes[i]!;
      const y = benchmark.closes[j]!;
      if (x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y)) {
        a.push(x);
        b.push(y);
      }
      i--;
      j--;
    }
  }
  const n = a.length - 1;
  if (n < min) return null;
  // a and b run backwards in time: return k is close[k] / close[k + 1] - 1.
  let sa = 0;
  let sb = 0;
  const ra = new Float64Array(n);
  const rb = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    ra[k] = a[k]! / a[k + 1]! - 1;
    rb[k] = b[k]! / b[k + 1]! - 1;
    sa += ra[k]!;
    sb += rb[k]!;
  }
  const ma = sa / n;
  const mb = sb / n;
  let cov = 0;
  let varB = 0;
  for (let k = 0; k < n; k++) {
    cov += (ra[k]! - ma) * (rb[k]! - mb);
    varB += (rb[k]! - mb) ** 2;
  }
  // A flat benchmark has no variance to measure against.
  return varB > 0 ? cov / varB : null;
}
