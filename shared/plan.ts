/**
 * The plan of a run, written as work items: bulk_load for assets with no data yet (or
 * flagged for reprocessing), price_update for assets whose prices are behind the run's
 * trading day, indicator_calc for every asset whose indicators will be or already are
 * stale. Assets that failed max_consecutive_failures times in a row are left out until
 * reset_ticker_for_reprocessing brings them back. Each insert is one statement; the
 * unique (execution, asset, operation) key makes a repeated plan a no-op.
 */
import type { Queryable } from './db.js';

export interface PlanScope {
  executionId: number;
  /** The trading day the run brings prices up to. */
  tradingDay: string;
  mode: 'auto' | 'bulk' | 'incremental';
  exchanges: string[] | null;
  symbols: string[] | null;
  skipExisting: boolean;
  maxFailures: number;
}

const SCOPE = `a.is_active
  AND ($2::text[] IS NULL OR a.exchange = ANY($2::text[]))
  AND ($3::text[] IS NULL OR a.symbol = ANY($3::text[]))
  AND coalesce(s.consecutive_failures, 0) < $4`;

// History is needed when none is stored, when flagged, or (for a loaded asset) when behind;
// fundamentals when none are stored or flagged. skipExisting ($6) ignores the flags.
const PLAN_BULK_LOADS = `
  INSERT INTO work_items (execution_id, asset_id, region, exchange, operation, priority, estimated_calls)
  SELECT $1, a.id, a.region, a.exchange, 'bulk_load', 100,
         CASE WHEN NOT coalesce(s.prices_loaded, false) OR (NOT $6 AND coalesce(s.needs_prices_reprocess, false))
                   OR coalesce(s.prices_checked_through, s.prices_last_date) < $5::date THEN 1 ELSE 0 END
       + CASE WHEN NOT coalesce(s.fundamentals_loaded, false) OR (NOT $6 AND coalesce(s.needs_fundamentals_reprocess, false)) THEN 10 ELSE 0 END
    FROM assets a LEFT JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE ${SCOPE}
     AND (NOT coalesce(s.prices_loaded, false) OR NOT coalesce(s.fundamentals_loaded, false)
          OR (NOT $6 AND (s.needs_prices_reprocess OR s.needs_fundamentals_reprocess)))
  ON CONFLICT (execution_id, asset_id, operation) DO NOTHING`;

const PLAN_PRICE_UPDATES = `
  INSERT INTO work_items (execution_id, asset_id, region, exchange, operation, priority, estimated_calls)
  SELECT $1, a.id, a.region, a.exchange, 'price_update', 50, 1
    FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE ${SCOPE}
     AND s.prices_loaded AND NOT s.needs_prices_reprocess
     AND coalesce(s.prices_checked_through, s.prices_last_date) < $5::date
     AND NOT EXISTS (SELECT 1 FROM work_items w WHERE w.execution_id = $1 AND w.asset_id = a.id AND w.operation = 'bulk_load')
  ON CONFLICT (execution_id, asset_id, operation) DO NOTHING`;

const PLAN_INDICATORS = `
  INSERT INTO work_items (execution_id, asset_id, region, exchange, operation, priority, estimated_calls)
  SELECT $1, a.id, a.region, a.exchange, 'indicator_calc', 200, 0
    FROM assets a LEFT JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE ${SCOPE} AND $5::date IS NOT NULL
     AND (EXISTS (SELECT 1 FROM work_items w WHERE w.execution_id = $1 AND w.asset_id = a.id AND w.operation IN ('bulk_load', 'price_update'))
          OR (s.prices_loaded AND (s.needs_indicators_reprocess OR s.indicators_calculated_at IS NULL
                                   OR s.indicators_calculated_at < s.prices_last_updated_at)))
  ON CONFLICT (execution_id, asset_id, operation) DO NOTHING`;

const PLAN_COUNTS = `
  SELECT operation, region, count(*)::int AS assets, sum(estimated_calls)::int AS estimated_calls
    FROM work_items WHERE execution_id = $1 GROUP BY operation, region ORDER BY operation, region`;

export interface PlanCount { operation: string; region: string; assets: number; estimated_calls: number }

export async function writePlan(q: Queryable, p: PlanScope): Promise<PlanCount[]> {
  const args = [p.executionId, p.exchanges, p.symbols, p.maxFailures, p.tradingDay];
  if (p.mode !== 'incremental') await q.query(PLAN_BULK_LOADS, [...args, p.skipExisting]);
  if (p.mode !== 'bulk') await q.query(PLAN_PRICE_UPDATES, args);
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
