/**
 * The plan of a run, written as work items, one per asset and operation:
 *   price_update        prices behind the run's trading day (bulk or own history, check-quota decides)
 *   adjustment_refresh  a split or dividend changed adjusted_close: the whole history again (1 call)
 *   history_load        no prices yet, or flagged for reprocessing: the history (1 call)
 *   fundamentals_load   none yet, flagged, or due for refresh by the policy (10 calls)
 *   indicator_calc      every asset whose indicators will be or already are stale
 * Priorities are check-quota's spending order: prices first, then corporate-action
 * refreshes, new histories, new fundamentals, flagged ones, and refreshes oldest first.
 * Assets that failed max_consecutive_failures times in a row are left out until
 * reset_ticker_for_reprocessing brings them back; so are prices or fundamentals EODHD
 * said it does not have for a symbol, until the symbol reappears in its exchange's list.
 * What the plan does not include is not planned, except one item a quota day that asks
 * again (a 403 costs nothing). The unique (execution, asset, operation) key makes a
 * repeated plan a no-op.
 */
import type { Queryable } from './db.js';
import type { Settings } from './settings.js';

export const COLLECT_OPERATIONS = ['price_update', 'adjustment_refresh', 'history_load', 'fundamentals_load', 'bulk_load'] as const;
export type CollectOperation = (typeof COLLECT_OPERATIONS)[number];

export const PRIORITY = { price_update: 50, adjustment_refresh: 60, history_load: 70, fundamentals_new: 100, fundamentals_flagged: 110, fundamentals_refresh: 120, indicator_calc: 200 } as const;

export interface PlanScope {
  executionId: number;
  /** The trading day the run brings prices up to. */
  tradingDay: string;
  mode: 'auto' | 'bulk' | 'incremental';
  exchanges: string[] | null;
  symbols: string[] | null;
  skipExisting: boolean;
  settings: Settings;
  /** What the plan lets the run fetch: everything, one item to try again ('probe'), or nothing. */
  fetch: { prices: 'yes' | 'probe' | 'no'; fundamentals: 'yes' | 'probe' | 'no' };
}

const SCOPE = `a.is_active
  AND ($2::text[] IS NULL OR a.exchange = ANY($2::text[]))
  AND ($3::text[] IS NULL OR a.symbol = ANY($3::text[]))
  AND coalesce(s.consecutive_failures, 0) < $4`;

const PRICES_KNOWN = `s.prices_not_found_on IS NULL`;
const FUNDAMENTALS_KNOWN = `(s.fundamentals_not_found_on IS NULL)`;

const INSERT = `INSERT INTO work_items (execution_id, asset_id, region, exchange, operation, priority, estimated_calls)`;
const NO_DUP = `ON CONFLICT (execution_id, asset_id, operation) DO NOTHING`;

// skipExisting ($6) ignores reprocess flags: only assets never loaded.
const PLAN_HISTORY_LOADS = `${INSERT}
  SELECT $1, a.id, a.region, a.exchange, 'history_load', ${PRIORITY.history_load}, 1
    FROM assets a LEFT JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE ${SCOPE} AND $5::date IS NOT NULL AND s.prices_not_found_on IS NULL
     AND (NOT coalesce(s.prices_loaded, false) OR (NOT $6 AND s.needs_prices_reprocess))
   ORDER BY a.id LIMIT $7
  ${NO_DUP}`;

const PLAN_ADJUSTMENT_REFRESHES = `${INSERT}
  SELECT $1, a.id, a.region, a.exchange, 'adjustment_refresh', ${PRIORITY.adjustment_refresh}, 1
    FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE ${SCOPE} AND $5::date IS NOT NULL AND ${PRICES_KNOWN}
     AND s.prices_loaded AND NOT s.needs_prices_reprocess AND s.needs_adjustment_refresh
  ${NO_DUP}`;

const PLAN_PRICE_UPDATES = `${INSERT}
  SELECT $1, a.id, a.region, a.exchange, 'price_update', ${PRIORITY.price_update}, 1
    FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE ${SCOPE} AND ${PRICES_KNOWN}
     AND s.prices_loaded AND NOT s.needs_prices_reprocess
     AND coalesce(s.prices_checked_through, s.prices_last_date) < $5::date
     AND NOT EXISTS (SELECT 1 FROM work_items w WHERE w.execution_id = $1 AND w.asset_id = a.id
                        AND w.operation IN ('history_load', 'adjustment_refresh'))
  ${NO_DUP}`;

const PLAN_FUNDAMENTALS = `${INSERT}
  SELECT $1, a.id, a.region, a.exchange, 'fundamentals_load',
         CASE WHEN NOT coalesce(s.fundamentals_loaded, false) THEN ${PRIORITY.fundamentals_new} ELSE ${PRIORITY.fundamentals_flagged} END, 10
    FROM assets a LEFT JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE ${SCOPE} AND $5::date IS NOT NULL AND (s.asset_id IS NULL OR ${FUNDAMENTALS_KNOWN})
     AND (NOT coalesce(s.fundamentals_loaded, false) OR (NOT $6 AND s.needs_fundamentals_reprocess))
   ORDER BY a.id LIMIT $7
  ${NO_DUP}`;

// Due for refresh: older than the policy's age for its size, or an earnings date passed
// (by a few days, for the filings to reach EODHD) since the document was fetched. Oldest
// first, at most fundamentals_refresh_max_per_day.
const PLAN_FUNDAMENTALS_REFRESH = `${INSERT}
  SELECT $1, x.id, x.region, x.exchange, 'fundamentals_load', ${PRIORITY.fundamentals_refresh}, 10
    FROM (
      SELECT a.id, a.region, a.exchange, f.fetched_at
        FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id JOIN fundamentals f ON f.asset_id = a.id
       WHERE ${SCOPE} AND s.fundamentals_loaded AND ${FUNDAMENTALS_KNOWN}
         AND (f.fetched_at < $5::date - make_interval(days => CASE WHEN f.market_cap >= $8::float8 THEN $7::int ELSE $6::int END)
              OR (f.next_earnings_date IS NOT NULL AND f.next_earnings_date >= f.fetched_at::date
                  AND f.next_earnings_date <= $5::date - $9::int))
       ORDER BY f.fetched_at, a.id
       LIMIT $10::int
    ) x
  ${NO_DUP}`;

const PLAN_INDICATORS = `${INSERT}
  SELECT $1, a.id, a.region, a.exchange, 'indicator_calc', ${PRIORITY.indicator_calc}, 0
    FROM assets a LEFT JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE ${SCOPE} AND $5::date IS NOT NULL
     AND (EXISTS (SELECT 1 FROM work_items w WHERE w.execution_id = $1 AND w.asset_id = a.id
                     AND w.operation IN ('history_load', 'price_update', 'adjustment_refresh'))
          OR (s.prices_loaded AND (s.needs_indicators_reprocess OR s.indicators_calculated_at IS NULL
                                   OR s.indicators_calculated_at < s.prices_last_updated_at)))
  ${NO_DUP}`;

const PLAN_COUNTS = `
  SELECT operation, region, count(*)::int AS assets, sum(estimated_calls)::int AS estimated_calls
    FROM work_items WHERE execution_id = $1 GROUP BY operation, region ORDER BY operation, region`;

export interface PlanCount { operation: string; region: string; assets: number; estimated_calls: number }

export async function writePlan(q: Queryable, p: PlanScope): Promise<PlanCount[]> {
  const args = [p.executionId, p.exchanges, p.symbols, p.settings.max_consecutive_failures, p.tradingDay];
  const s = p.settings;
  // A probe is one item: it asks the API once whether the plan now includes the kind.
  const prices = p.fetch.prices;
  const fundamentals = p.fetch.fundamentals;
  if (prices !== 'no' && p.mode !== 'incremental') await q.query(PLAN_HISTORY_LOADS, [...args, p.skipExisting, prices === 'probe' ? 1 : null]);
  if (prices === 'yes' && p.mode !== 'bulk') {
    await q.query(PLAN_ADJUSTMENT_REFRESHES, args);
    await q.query(PLAN_PRICE_UPDATES, args);
  }
  let planned = 0;
  if (fundamentals !== 'no' && p.mode !== 'incremental') {
    planned = (await q.query(PLAN_FUNDAMENTALS, [...args, p.skipExisting, fundamentals === 'probe' ? 1 : null])).rowCount ?? 0;
  }
  const refreshes = fundamentals === 'probe' ? (planned > 0 ? 0 : 1) : fundamentals === 'yes' ? s.fundamentals_refresh_max_per_day : 0;
  if (p.mode === 'auto' && !p.skipExisting && refreshes > 0) {
    await q.query(PLAN_FUNDAMENTALS_REFRESH, [...args, s.fundamentals_refresh_days, s.fundamentals_refresh_large_days,
      s.fundamentals_large_market_cap, s.fundamentals_refresh_after_earnings_days, refreshes]);
  }
  await q.query(PLAN_INDICATORS, args);
  return planCounts(q, p.executionId);
}

export async function planCounts(q: Queryable, executionId: number): Promise<PlanCount[]> {
  return (await q.query<PlanCount>(PLAN_COUNTS, [executionId])).rows;
}

const EXCLUDED_COUNT = `
  SELECT count(*)::int AS n FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE a.is_active AND s.consecutive_failures >= $1
     AND ($2::text[] IS NULL OR a.exchange = ANY($2::text[]))
     AND ($3::text[] IS NULL OR a.symbol = ANY($3::text[]))`;

export async function excludedForFailures(q: Queryable, maxFailures: number, exchanges: string[] | null, symbols: string[] | null): Promise<number> {
  return (await q.query<{ n: number }>(EXCLUDED_COUNT, [maxFailures, exchanges, symbols])).rows[0]!.n;
}

const UNKNOWN_SYMBOLS = `SELECT s FROM unnest($1::text[]) s WHERE NOT EXISTS (SELECT 1 FROM assets a WHERE a.symbol = s AND a.is_active)`;

export async function unknownSymbols(q: Queryable, symbols: string[]): Promise<string[]> {
  return (await q.query<{ s: string }>(UNKNOWN_SYMBOLS, [symbols])).rows.map((r) => r.s);
}
