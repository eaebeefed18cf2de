/**
 * check-quota: fits the plan into today's budget (quota - buffer - used), price updates
 * first, then new assets; defers the rest (they stay flagged in asset_processing_state and
 * are planned again tomorrow), then fans out one collect-region per region with work.
 *
 * Price updates of an exchange cost min(bulk, per ticker): the bulk endpoint answers every
 * ticker of the exchange for one day at 100 calls, so it wins from 101 tickers that are
 * exactly one trading day behind; tickers further behind need their own history call.
 */
import type { PipelineContext } from './context.js';
import { inTransaction, type Queryable } from './db.js';
import { reconcileQuota, runParameters, stepFailed } from './discover.js';
import { touchRun } from './executions.js';
import { addDays, lastWeekdayOnOrBefore, REGIONS, type Region } from './exchanges.js';
import type { FunctionResult } from './function-contract.js';
import { log } from './log.js';
import { quotaUsage } from './quota.js';
import { loadSettings, type Settings } from './settings.js';
import { guardStep } from './step-guard.js';
import { completeStep, ensureStepPending } from './steps.js';

export const BULK_COST = 100;
export const HISTORY_COST = 1;
export const FUNDAMENTALS_COST = 10;

export interface ExchangeDemand { exchange: string; assets: number; oneDayBehind: number }

export interface PriceUpdateFit {
  exchange: string;
  useBulk: boolean;
  calls: number;
  /** how many of the exchange's items are taken, ordered one-day-behind first */
  taken: number;
  deferred: number;
}

/**
 * The arithmetic of the budget, without the database: for each exchange, bulk when it is
 * cheaper, then per-ticker calls while the budget and the daily cap on price updates last.
 */
export function fitPriceUpdates(demand: ExchangeDemand[], budget: number, maxAssets: number): { fits: PriceUpdateFit[]; calls: number } {
  let remaining = Math.max(0, budget);
  let assetsLeft = maxAssets;
  const fits: PriceUpdateFit[] = [];
  for (const d of [...demand].sort((a, b) => b.assets - a.assets || a.exchange.localeCompare(b.exchange))) {
    let calls = 0;
    let taken = 0;
    const useBulk = d.oneDayBehind > BULK_COST && remaining >= BULK_COST && assetsLeft >= d.oneDayBehind;
    if (useBulk) {
      calls += BULK_COST;
      remaining -= BULK_COST;
      taken = d.oneDayBehind;
    }
    const perTicker = Math.min(d.assets - taken, remaining, assetsLeft - taken);
    if (perTicker > 0) {
      calls += perTicker * HISTORY_COST;
      remaining -= perTicker * HISTORY_COST;
      taken += perTicker;
    }
    assetsLeft -= taken;
    fits.push({ exchange: d.exchange, useBulk, calls, taken, deferred: d.assets - taken });
  }
  return { fits, calls: fits.reduce((s, f) => s + f.calls, 0) };
}

const PRICE_DEMAND = `
  SELECT w.exchange, count(*)::int AS assets,
         count(*) FILTER (WHERE coalesce(s.prices_checked_through, s.prices_last_date) >= $2::date)::int AS one_day_behind
    FROM work_items w JOIN asset_processing_state s ON s.asset_id = w.asset_id
   WHERE w.execution_id = $1 AND w.operation = 'price_update' AND w.status = 'pending'
   GROUP BY w.exchange`;

// Within an exchange, one-day-behind tickers come first (the bulk call covers them), then
// the others by how far behind they are.
const DEFER_PRICE_UPDATES = `
  WITH ranked AS (
    SELECT w.id, row_number() OVER (ORDER BY (coalesce(s.prices_checked_through, s.prices_last_date) >= $3::date) DESC,
                                             coalesce(s.prices_checked_through, s.prices_last_date) DESC NULLS LAST, w.id) AS rn
      FROM work_items w JOIN asset_processing_state s ON s.asset_id = w.asset_id
     WHERE w.execution_id = $1 AND w.operation = 'price_update' AND w.status = 'pending' AND w.exchange = $2
  )
  UPDATE work_items w SET status = 'deferred', updated_at = now()
    FROM ranked r WHERE w.id = r.id AND r.rn > $4`;

const DEFER_BULK_LOADS = `
  WITH ranked AS (
    SELECT id, sum(estimated_calls) OVER (ORDER BY priority, id) AS cum, row_number() OVER (ORDER BY priority, id) AS rn
      FROM work_items WHERE execution_id = $1 AND operation = 'bulk_load' AND status = 'pending'
  )
  UPDATE work_items w SET status = 'deferred', updated_at = now()
    FROM ranked r WHERE w.id = r.id AND (r.cum > $2 OR r.rn > $3)`;

const BULK_LOAD_DEMAND = `
  SELECT count(*)::int AS assets, coalesce(sum(estimated_calls), 0)::int AS calls
    FROM work_items WHERE execution_id = $1 AND operation = 'bulk_load' AND status = $2`;

const SKIP_ALL_FOR_DRY_RUN = `
  UPDATE work_items SET status = 'skipped', error_message = 'dry run', updated_at = now()
   WHERE execution_id = $1 AND status = 'pending'`;

// Deferred and skipped items leave a details row each, so that the run's totals are the
// sum of its details and an operator sees why an asset was not touched.
const DETAILS_FOR_UNCOLLECTED = `
  INSERT INTO asset_processing_details (execution_id, asset_id, operation, status, error_message)
  SELECT execution_id, asset_id, operation, 'skipped',
         CASE status WHEN 'deferred' THEN 'deferred: over today''s API budget or daily cap' ELSE coalesce(error_message, status) END
    FROM work_items WHERE execution_id = $1 AND status IN ('deferred', 'skipped') AND operation <> 'indicator_calc'`;

const REGIONS_WITH_WORK = `
  SELECT DISTINCT region FROM work_items
   WHERE execution_id = $1 AND status = 'pending' AND operation IN ('bulk_load', 'price_update')`;

const SET_REGIONS_PENDING = `UPDATE process_executions SET regions_pending = $2 WHERE execution_id = $1`;

async function count(q: Queryable, sql: string, args: unknown[]): Promise<{ assets: number; calls: number }> {
  return (await q.query<{ assets: number; calls: number }>(sql, args)).rows[0]!;
}

export async function checkQuota(ctx: PipelineContext, executionId: number): Promise<FunctionResult> {
  const g = await guardStep(ctx, executionId, 'check-quota', '', 300);
  if (!g.ok) return g.response;
  const run = g.run;
  const params = runParameters(run.parameters);
  try {
    await touchRun(ctx.pool, executionId, 'check-quota');
    const settings: Settings = await loadSettings(ctx.pool);
    const { quotaDay, apiReported } = await reconcileQuota(ctx, executionId, settings, run.quota_day);
    const usage = await quotaUsage(ctx.pool, quotaDay);
    const limit = settings.eodhd_daily_quota - settings.eodhd_quota_buffer;
    const budget = Math.max(0, limit - usage.used);
    // A ticker is one day behind when its series is complete through the weekday before the run's trading day.
    const previousDay = lastWeekdayOnOrBefore(addDays(run.as_of, -1));

    const result = await inTransaction(ctx.pool, async (c) => {
      const demand = (await c.query<{ exchange: string; assets: number; one_day_behind: number }>(PRICE_DEMAND, [executionId, previousDay]))
        .rows.map((r) => ({ exchange: r.exchange, assets: r.assets, oneDayBehind: r.one_day_behind }));
      const price = fitPriceUpdates(demand, budget, settings.max_price_updates_per_day);
      for (const f of price.fits) {
        if (f.deferred > 0) await c.query(DEFER_PRICE_UPDATES, [executionId, f.exchange, previousDay, f.taken]);
        if (f.useBulk) await ensureStepPending(c, executionId, 'bulk-eod', f.exchange);
      }
      const afterPrices = budget - price.calls;
      await c.query(DEFER_BULK_LOADS, [executionId, Math.max(0, afterPrices), settings.max_new_assets_per_day]);
      const bulkLoads = await count(c, BULK_LOAD_DEMAND, [executionId, 'pending']);
      const bulkDeferred = await count(c, BULK_LOAD_DEMAND, [executionId, 'deferred']);
      if (params.dryRun) await c.query(SKIP_ALL_FOR_DRY_RUN, [executionId]);
      await c.query(DETAILS_FOR_UNCOLLECTED, [executionId]);
      const regions = (await c.query<{ region: Region }>(REGIONS_WITH_WORK, [executionId])).rows.map((r) => r.region)
        .sort((a, b) => REGIONS.indexOf(a) - REGIONS.indexOf(b));
      await c.query(SET_REGIONS_PENDING, [executionId, regions.length]);
      for (const r of regions) await ensureStepPending(c, executionId, 'collect-region', r);
      if (regions.length === 0) await ensureStepPending(c, executionId, 'finalize');
      const body = {
        executionId, quotaDay,
        quota: { daily: settings.eodhd_daily_quota, buffer: settings.eodhd_quota_buffer, usedToday: usage.used, apiReported, budget },
        priceUpdates: {
          assets: price.fits.reduce((s, f) => s + f.taken, 0),
          deferred: price.fits.reduce((s, f) => s + f.deferred, 0),
          estimatedCalls: price.calls,
          byExchange: price.fits,
        },
        bulkLoads: { assets: bulkLoads.assets, estimatedCalls: bulkLoads.calls, deferred: bulkDeferred.assets },
        estimatedCalls: price.calls + bulkLoads.calls,
        dryRun: params.dryRun,
        regions,
        next: regions.length > 0 ? 'collect-region' : 'finalize',
      };
      await completeStep(c, executionId, 'check-quota', '', body);
      await touchRun(c, executionId, regions.length > 0 ? 'collect-region' : 'finalize');
      return body;
    });
    log('info', 'budget_fitted', { execution_id: executionId, budget, estimated_calls: result.estimatedCalls, regions: result.regions });
    if (result.regions.length === 0) await ctx.invoke('finalize', { executionId });
    for (const region of result.regions) await ctx.invoke('collect-region', { executionId, region });
    return { status: 200, body: result };
  } catch (err) {
    return stepFailed(ctx, executionId, 'check-quota', '', err);
  }
}
