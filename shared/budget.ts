/**
 * check-quota: fits the plan into today's budget (quota - buffer - used) in the plan's
 * priority order: price updates, corporate-action refreshes, new histories, then
 * fundamentals (new ones up to max_new_assets_per_day, flagged, refreshes). What does not
 * fit is deferred: the asset's state still says what it needs, so tomorrow's plan has it
 * again. Then it fans out one collect-region per region with work.
 *
 * Price updates of an exchange cost whichever is less: the bulk endpoint (100 calls a day
 * for every ticker of the exchange) for each trading day a group of tickers is missing,
 * or one history call per ticker from its last stored day.
 */
import type { PipelineContext } from './context.js';
import { inTransaction, type Queryable } from './db.js';
import { runParameters, stepFailed } from './discover.js';
import { reconcileQuota } from './reconcile.js';
import { setRunPlan, touchRun } from './executions.js';
import { loadEntitlements, mayFetch, notInPlan } from './api-plan.js';
import { addDays, REGIONS, type Region } from './exchanges.js';
import type { FunctionResult } from './function-contract.js';
import { log } from './log.js';
import { PRIORITY } from './plan.js';
import { quotaUsage } from './quota.js';
import { loadSettings, type Settings } from './settings.js';
import { guardStep } from './step-guard.js';
import { completeStep, ensureStepPending, STEP_LEASE_SECONDS } from './steps.js';

export const BULK_COST = 100;
export const HISTORY_COST = 1;
export const FUNDAMENTALS_COST = 10;

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

/** How many of an exchange's price-update tickers are complete through each date. */
export interface ExchangeDemand { exchange: string; byThrough: Array<{ through: string; assets: number }> }

export interface PriceUpdateFit {
  exchange: string;
  /** Days fetched with the bulk endpoint (100 calls each); empty: every ticker its own call. */
  bulkDates: string[];
  /** Tickers complete through this date or later are covered by the bulk days. */
  coversFrom: string | null;
  calls: number;
  taken: number;
  deferred: number;
}

/**
 * The arithmetic of the budget, without the database. For each exchange, the threshold T
 * that minimises 100 x (weekdays after T) + (tickers complete only before T), compared
 * with one call per ticker; then the budget and the daily cap on price updates.
 */
export function fitPriceUpdates(demand: ExchangeDemand[], tradingDay: string, budget: number, maxAssets: number, opts: { maxBulkDays: number; perTickerOnly?: boolean; maxBulkExchanges?: number }): { fits: PriceUpdateFit[]; calls: number } {
  let bulkExchangesLeft = opts.maxBulkExchanges ?? Infinity;
  let remaining = Math.max(0, budget);
  let assetsLeft = maxAssets;
  const fits: PriceUpdateFit[] = [];
  const total = (d: ExchangeDemand) => d.byThrough.reduce((s, x) => s + x.assets, 0);
  for (const d of [...demand].sort((a, b) => total(b) - total(a) || a.exchange.localeCompare(b.exchange))) {
    const n = total(d);
    let best: { dates: string[]; coversFrom: string; covered: number; cost: number } | null = null;
    if (!opts.perTickerOnly && bulkExchangesLeft > 0) {
      for (const { through } of d.byThrough) {
        const dates = weekdaysBetween(through, tradingDay, opts.maxBulkDays + 1);
        if (dates.length === 0 || dates.length > opts.maxBulkDays) continue;
        const covered = d.byThrough.filter((x) => x.through >= through).reduce((s, x) => s + x.assets, 0);
        const cost = BULK_COST * dates.length + (n - covered) * HISTORY_COST;
        if (cost < n * HISTORY_COST && (!best || cost < best.cost)) best = { dates, coversFrom: through, covered, cost };
      }
    }
    let calls = 0;
    let taken = 0;
    let bulkDates: string[] = [];
    let coversFrom: string | null = null;
    if (best && remaining >= BULK_COST * best.dates.length && assetsLeft >= best.covered) {
      bulkExchangesLeft--;
      bulkDates = best.dates;
      coversFrom = best.coversFrom;
      calls += BULK_COST * best.dates.length;
      remaining -= BULK_COST * best.dates.length;
      taken = best.covered;
    }
    const perTicker = Math.max(0, Math.min(n - taken, remaining, assetsLeft - taken));
    calls += perTicker * HISTORY_COST;
    remaining -= perTicker * HISTORY_COST;
    taken += perTicker;
    assetsLeft -= taken;
    fits.push({ exchange: d.exchange, bulkDates, coversFrom, calls, taken, deferred: n - taken });
  }
  return { fits, calls: fits.reduce((s, f) => s + f.calls, 0) };
}

const PRICE_DEMAND = `
  SELECT w.exchange, coalesce(s.prices_checked_through, s.prices_last_date)::text AS through, count(*)::int AS assets
    FROM work_items w JOIN asset_processing_state s ON s.asset_id = w.asset_id
   WHERE w.execution_id = $1 AND w.operation = 'price_update' AND w.status = 'pending'
   GROUP BY 1, 2`;

// Within an exchange: covered tickers first (the bulk days serve them), then the others
// from the most recent (cheapest to fill) back.
const DEFER_PRICE_UPDATES = `
  WITH ranked AS (
    SELECT w.id, row_number() OVER (ORDER BY ($3::date IS NOT NULL AND coalesce(s.prices_checked_through, s.prices_last_date) >= $3::date) DESC,
                                             coalesce(s.prices_checked_through, s.prices_last_date) DESC NULLS LAST, w.id) AS rn
      FROM work_items w JOIN asset_processing_state s ON s.asset_id = w.asset_id
     WHERE w.execution_id = $1 AND w.operation = 'price_update' AND w.status = 'pending' AND w.exchange = $2
  )
  UPDATE work_items w SET status = 'deferred', updated_at = now()
    FROM ranked r WHERE w.id = r.id AND r.rn > $4`;

const STORE_PRICE_PLAN = `
  INSERT INTO price_plans (execution_id, exchange, bulk_dates, covers_from, estimated_calls) VALUES ($1, $2, $3::date[], $4, $5)
  ON CONFLICT (execution_id, exchange) DO NOTHING`;

// New assets' fundamentals beyond the day's cap wait for tomorrow.
const CAP_NEW_FUNDAMENTALS = `
  WITH ranked AS (
    SELECT id, row_number() OVER (ORDER BY id) AS rn FROM work_items
     WHERE execution_id = $1 AND operation = 'fundamentals_load' AND priority = ${PRIORITY.fundamentals_new} AND status = 'pending'
  )
  UPDATE work_items w SET status = 'deferred', updated_at = now() FROM ranked r WHERE w.id = r.id AND r.rn > $2`;

// Everything but price updates, in priority order, while the running total fits.
const DEFER_OVER_BUDGET = `
  WITH ranked AS (
    SELECT id, sum(estimated_calls) OVER (ORDER BY priority, id) AS cum FROM work_items
     WHERE execution_id = $1 AND status = 'pending' AND operation NOT IN ('price_update', 'indicator_calc')
  )
  UPDATE work_items w SET status = 'deferred', updated_at = now() FROM ranked r WHERE w.id = r.id AND r.cum > $2`;

const DEMAND_BY_OPERATION = `
  SELECT operation, count(*) FILTER (WHERE status = 'pending')::int AS assets,
         coalesce(sum(estimated_calls) FILTER (WHERE status = 'pending'), 0)::int AS calls,
         count(*) FILTER (WHERE status = 'deferred')::int AS deferred
    FROM work_items WHERE execution_id = $1 AND operation NOT IN ('price_update', 'indicator_calc')
   GROUP BY operation ORDER BY operation`;

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
   WHERE execution_id = $1 AND status = 'pending' AND operation <> 'indicator_calc'`;

const SET_REGIONS_PENDING = `UPDATE process_executions SET regions_pending = $2 WHERE execution_id = $1`;

async function priceDemand(q: Queryable, executionId: number): Promise<ExchangeDemand[]> {
  const rows = (await q.query<{ exchange: string; through: string | null; assets: number }>(PRICE_DEMAND, [executionId])).rows;
  const by = new Map<string, ExchangeDemand>();
  for (const r of rows) {
    const d = by.get(r.exchange) ?? { exchange: r.exchange, byThrough: [] };
    d.byThrough.push({ through: r.through ?? '1900-01-01', assets: r.assets });
    by.set(r.exchange, d);
  }
  return [...by.values()];
}

export async function checkQuota(ctx: PipelineContext, executionId: number): Promise<FunctionResult> {
  const g = await guardStep(ctx, executionId, 'check-quota', '', STEP_LEASE_SECONDS);
  if (!g.ok) return g.response;
  const run = g.run;
  const params = runParameters(run.parameters);
  try {
    await touchRun(ctx.pool, executionId, 'check-quota');
    const settings: Settings = await loadSettings(ctx.pool);
    const { quotaDay, apiReported, plan, limits } = await reconcileQuota(ctx, executionId, settings, run.quota_day);
    const usage = await quotaUsage(ctx.pool, quotaDay);
    // The plan's limit for the day (recorded by the reconciliation), else what the settings allow.
    const callLimit = usage.callLimit ?? limits.callLimit;
    const budget = Math.max(0, callLimit - usage.used);
    const entitlements = await loadEntitlements(ctx.pool);
    // Without bulk in the plan every ticker fetches its own history; once a quota day the
    // largest exchange asks for its bulk day again (a 403 costs nothing, and falls back).
    const bulk = mayFetch(entitlements, 'bulk', quotaDay);
    const off = notInPlan(entitlements);
    const planFigures = {
      subscriptionType: plan?.subscriptionType ?? null, subscriptionMode: plan?.subscriptionMode ?? null,
      dailyRateLimit: plan?.dailyRateLimit ?? null, extraLimit: plan?.extraLimit ?? null,
      apiLimit: limits.apiLimit, configuredQuota: settings.eodhd_daily_quota, buffer: limits.buffer, callLimit,
      usedToday: usage.used, budget, notInPlan: off,
    };
    await setRunPlan(ctx.pool, executionId, planFigures);

    const result = await inTransaction(ctx.pool, async (c) => {
      const price = fitPriceUpdates(await priceDemand(c, executionId), run.as_of, budget, settings.max_price_updates_per_day, {
        maxBulkDays: settings.max_bulk_days, perTickerOnly: settings.price_update_method === 'per_ticker' || bulk === 'no',
        maxBulkExchanges: bulk === 'probe' ? 1 : undefined,
      });
      for (const f of price.fits) {
        if (f.deferred > 0) await c.query(DEFER_PRICE_UPDATES, [executionId, f.exchange, f.coversFrom, f.taken]);
        if (f.bulkDates.length > 0) {
          await c.query(STORE_PRICE_PLAN, [executionId, f.exchange, f.bulkDates, f.coversFrom, f.calls]);
          for (const d of f.bulkDates) await ensureStepPending(c, executionId, 'bulk-eod', `${f.exchange}:${d}`);
        }
      }
      await c.query(CAP_NEW_FUNDAMENTALS, [executionId, settings.max_new_assets_per_day]);
      await c.query(DEFER_OVER_BUDGET, [executionId, Math.max(0, budget - price.calls)]);
      const others = (await c.query<{ operation: string; assets: number; calls: number; deferred: number }>(DEMAND_BY_OPERATION, [executionId])).rows;
      if (params.dryRun) await c.query(SKIP_ALL_FOR_DRY_RUN, [executionId]);
      await c.query(DETAILS_FOR_UNCOLLECTED, [executionId]);
      const regions = (await c.query<{ region: Region }>(REGIONS_WITH_WORK, [executionId])).rows.map((r) => r.region)
        .sort((a, b) => REGIONS.indexOf(a) - REGIONS.indexOf(b));
      await c.query(SET_REGIONS_PENDING, [executionId, regions.length]);
      for (const r of regions) await ensureStepPending(c, executionId, 'collect-region', r);
      if (regions.length === 0) await ensureStepPending(c, executionId, 'finalize');
      const otherCalls = others.reduce((s, o) => s + o.calls, 0);
      const body = {
        executionId, quotaDay,
        quota: {
          apiLimit: limits.apiLimit, configured: settings.eodhd_daily_quota, buffer: limits.buffer, callLimit,
          usedToday: usage.used, apiReported, budget,
        },
        plan: planFigures,
        priceUpdates: {
          method: settings.price_update_method === 'per_ticker' ? 'per_ticker' : bulk === 'no' ? 'per_ticker (bulk not in the plan)' : 'auto',
          assets: price.fits.reduce((s, f) => s + f.taken, 0),
          deferred: price.fits.reduce((s, f) => s + f.deferred, 0),
          estimatedCalls: price.calls,
          byExchange: price.fits,
        },
        byOperation: Object.fromEntries(others.map((o) => [o.operation, { assets: o.assets, estimatedCalls: o.calls, deferred: o.deferred }])),
        estimatedCalls: price.calls + otherCalls,
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
  } finally {
    g.release();
  }
}
