/**
 * Reads of the benchmark indices' series (their bars are written by prices.ts, their assets
 * by universe.ts): the last stored day, for the next fetch, and the dates and adjusted
 * closes beta is computed from (domain/beta.ts).
 */
import type { DatedSeries } from '../domain/beta.js';
import type { Queryable } from '../platform/db.js';

const LAST_BARS = `
  SELECT a.symbol, (SELECT max(p.date) FROM stock_prices p WHERE p.asset_id = a.id)::text AS last
    FROM assets a WHERE a.symbol = ANY($1::text[]) AND a.source = 'benchmark'`;

/** The last stored day of each benchmark (absent: never stored). */
export async function lastBenchmarkBars(q: Queryable, symbols: string[]): Promise<Map<string, string | null>> {
  const rows = (await q.query<{ symbol: string; last: string | null }>(LAST_BARS, [symbols])).rows;
  return new Map(rows.map((r) => [r.symbol, r.last]));
}

// The last `sessions` bars on or before the day, newest first (the key's index, backwards).
const SERIES = `
  SELECT p.date::text AS date, p.adjusted_close
    FROM assets a JOIN stock_prices p ON p.asset_id = a.id
   WHERE a.symbol = $1 AND a.source = 'benchmark' AND p.date <= $2::date
   ORDER BY p.date DESC LIMIT $3`;

/**
 * A benchmark's dates and adjusted closes, ascending, through `upTo`: its last `sessions`
 * bars (400 by default: 252 returns with room for the days the asset lacks). Empty when
 * the benchmark has no bars.
 */
export async function loadBenchmarkSeries(
  q: Queryable,
  symbol: string,
  upTo: string,
  sessions = 400,
): Promise<DatedSeries> {
  const rows = (await q.query<{ date: string; adjusted_close: number }>(SERIES, [symbol, upTo, sessions])).rows;
  rows.reverse();
  return { dates: rows.map((r) => r.date), closes: rows.map((r) => r.adjusted_close) };
}
