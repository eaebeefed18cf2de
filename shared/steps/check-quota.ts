/**
 * check-quota: fits the plan into today's budget (quota - buffer - used) in the plan's
 * priority order: price updates, corporate-action refreshes, new histories, then
 * fundamentals (new ones up to max_new_assets_per_day, flagged, refreshes). What does not
 * fit is deferred: the asset's state still says what it needs, so tomorrow's plan has it
 * again. Then it fans out one collect-region per region with work.
 *
 * Between the price updates and the rest, it fetches the run's benchmark indices and FX
 * rates itself (fetch-reference.ts: ~20 calls, once per run, before the regions start).
 *
 * Price updates of an exchange cost whichever is less: the bulk endpoint (100 calls a day
 * for every ticker of the exchange) for each session of the exchange a group of tickers is
 * missing (its calendar: no call is spent on a holiday), or one history call per ticker
 * from its last stored day.
 */

import type { Calendars } from '../domain/calendar.js';
import { addDays, weekdaysBetween } from '../domain/dates.js';
import { REGIONS, type Region } from '../domain/exchanges.js';
import { API_COST } from '../eodhd/client.js';
import { inTransaction, type Queryable } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import { quotaUsage } from '../store/api-ledger.js';
import { loadEntitlements, mayFetch, notInPlan } from '../store/api-plan.js';
import { recordUncollected } from '../store/details.js';
import { loadCalendars } from '../store/exchange-calendars.js';
import {
  asOfFor,
  type Execution,
  previousRunDays,
  runParameters,
  setReaskAllowed,
  setRegionsPending,
  setRunPlan,
} from '../store/executions.js';
import { ensureStepPending } from '../store/pipeline-steps.js';
import { storePricePlan, storeRecheckPlan } from '../store/price-plans.js';
import { lastRechecked } from '../store/price-rechecks.js';
import { loadSettings, type Settings } from '../store/settings.js';
import {
  capNewFundamentals,
  deferOverBudget,
  deferPriceUpdates,
  demandByOperation,
  type ExchangeDemand,
  priceDemand,
  regionsWithWork,
  skipAllForDryRun,
} from '../store/work-items.js';
import type { PipelineContext } from './context.js';
import { fetchReference, planReference } from './fetch-reference.js';
import { planRechecks, type RecheckDemand } from './plan-rechecks.js';
import { reconcileQuota } from './reconcile.js';
import { type Handover, runStep } from './step-runner.js';
import { RECHECK_STEP, recheckShard } from './verify-prices.js';

const BULK_COST = API_COST.bulk;
const HISTORY_COST = API_COST.eod;

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

/** Each exchange's trading day and sessions (without them: one day for all, and weekdays). */
export interface SessionsOf {
  dayOf(exchange: string): string;
  between(exchange: string, after: string, through: string, max: number): string[];
}

/** The run's days and the exchanges' calendars, as fitPriceUpdates asks for them. */
export function sessionsOf(calendars: Calendars, dayOf: (exchange: string) => string): SessionsOf {
  return {
    dayOf,
    between: (ex, after, through, max) =>
      calendars.get(ex)?.sessionsBetween(after, through, max) ?? weekdaysBetween(after, through, max),
  };
}

/**
 * The arithmetic of the budget, without the database. For each exchange, the threshold T
 * that minimises 100 x (sessions after T) + (tickers complete only before T), compared
 * with one call per ticker; then the budget, and the daily cap on per-ticker price updates.
 */
export function fitPriceUpdates(
  demand: ExchangeDemand[],
  tradingDay: string,
  budget: number,
  maxAssets: number,
  opts: { maxBulkDays: number; perTickerOnly?: boolean; maxBulkExchanges?: number; sessions?: SessionsOf },
): { fits: PriceUpdateFit[]; calls: number } {
  // Without calendars: the one day for every exchange, and weekdays.
  const sessions = opts.sessions ?? sessionsOf(new Map(), () => tradingDay);
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
        const dates = sessions.between(d.exchange, through, sessions.dayOf(d.exchange), opts.maxBulkDays + 1);
        if (dates.length === 0 || dates.length > opts.maxBulkDays) continue;
        const covered = d.byThrough.filter((x) => x.through >= through).reduce((s, x) => s + x.assets, 0);
        const cost = BULK_COST * dates.length + (n - covered) * HISTORY_COST;
        if (cost < n * HISTORY_COST && (!best || cost < best.cost))
          best = { dates, coversFrom: through, covered, cost };
      }
    }
    let calls = 0;
    let taken = 0;
    let bulkDates: string[] = [];
    let coversFrom: string | null = null;
    // A bulk day is 100 calls however many tickers it covers: the daily cap on price updates
    // (max_price_updates_per_day) bounds the per-ticker calls only. (At 150,000 assets the cap
    // of 25,000 refused Frankfurt's bulk day and priced 25,000 tickers one call each.)
    if (best && remaining >= BULK_COST * best.dates.length) {
      bulkExchangesLeft--;
      bulkDates = best.dates;
      coversFrom = best.coversFrom;
      calls += BULK_COST * best.dates.length;
      remaining -= BULK_COST * best.dates.length;
      taken = best.covered;
    }
    const perTicker = Math.max(0, Math.min(n - taken, remaining, assetsLeft));
    calls += perTicker * HISTORY_COST;
    remaining -= perTicker * HISTORY_COST;
    taken += perTicker;
    assetsLeft -= perTicker;
    fits.push({ exchange: d.exchange, bulkDates, coversFrom, calls, taken, deferred: n - taken });
  }
  return { fits, calls: fits.reduce((s, f) => s + f.calls, 0) };
}

/** An exchange's bulk days, and a pending 'bulk-eod' step for each (its replicas fetch it once). */
async function planBulkDays(q: Queryable, executionId: number, f: PriceUpdateFit): Promise<void> {
  await storePricePlan(q, executionId, f);
  for (const d of f.bulkDates) await ensureStepPending(q, executionId, 'bulk-eod', `${f.exchange}:${d}`);
}

/**
 * The run's re-reads (plan-rechecks.ts) from its price demand, stored with the exchanges'
 * price plans, a pending 'recheck-eod' step each (its replicas make it once), and the
 * run's allowance of re-asks.
 */
async function planRunRechecks(
  q: Queryable,
  run: Execution,
  fits: PriceUpdateFit[],
  o: { budget: number; bulk: boolean; settings: Settings; sessions: SessionsOf },
): Promise<ReturnType<typeof planRechecks>> {
  const previous = await previousRunDays(q, run);
  const demand: RecheckDemand[] = fits.map((f) => {
    const day = o.sessions.dayOf(f.exchange);
    const window = o.settings.recheck_sessions;
    const sessions = o.sessions.between(f.exchange, addDays(day, -(window * 2 + 14)), addDays(day, -1), window * 3);
    return {
      exchange: f.exchange,
      assets: f.taken + f.deferred,
      sessions: sessions.slice(-window),
      previousDay: previous ? previous(f.exchange) : null,
    };
  });
  const earliest = demand.flatMap((d) => d.sessions.slice(0, 1)).sort()[0] ?? run.as_of;
  const planned = planRechecks(demand, o.budget, {
    bulk: o.bulk,
    slowDaysPerDay: o.settings.recheck_slow_days_per_day,
    today: run.as_of,
    lastChecked: await lastRechecked(
      q,
      demand.map((d) => d.exchange),
      earliest,
    ),
  });
  for (const p of planned.plans) {
    await storeRecheckPlan(q, run.execution_id, p.exchange, p.dates, p.method);
    for (const d of p.method === 'bulk' ? p.dates : [null])
      await ensureStepPending(q, run.execution_id, RECHECK_STEP, recheckShard(p.exchange, p.method, d));
  }
  await setReaskAllowed(q, run.execution_id, planned.reaskAllowed);
  return planned;
}

export async function checkQuota(ctx: PipelineContext, executionId: number): Promise<FunctionResult> {
  return runStep(ctx, executionId, 'check-quota', '', async (s) => {
    const { run } = s;
    const params = runParameters(run.parameters);
    const settings = await loadSettings(ctx.pool);
    const { quotaDay, apiReported, plan, limits } = await reconcileQuota(ctx, executionId, settings, run.quota_day);
    const usage = await quotaUsage(ctx.pool, quotaDay);
    // The plan's limit for the day (recorded by the reconciliation), else what the settings allow.
    const callLimit = usage.callLimit ?? limits.callLimit;
    const budget = Math.max(0, callLimit - usage.used);
    const entitlements = await loadEntitlements(ctx.pool);
    // Without bulk in the plan every ticker fetches its own history; once a quota day the
    // largest exchange asks for its bulk day again (a 403 costs nothing, and falls back).
    const bulk = mayFetch(entitlements, 'bulk', quotaDay);
    const planFigures = {
      subscriptionType: plan?.subscriptionType ?? null,
      subscriptionMode: plan?.subscriptionMode ?? null,
      dailyRateLimit: plan?.dailyRateLimit ?? null,
      extraLimit: plan?.extraLimit ?? null,
      apiLimit: limits.apiLimit,
      configuredQuota: settings.eodhd_daily_quota,
      buffer: limits.buffer,
      callLimit,
      usedToday: usage.used,
      budget,
      notInPlan: notInPlan(entitlements),
    };
    await setRunPlan(ctx.pool, executionId, planFigures);

    const calendars = await loadCalendars(ctx.pool);
    const body = await inTransaction(ctx.pool, async (c) => {
      const price = fitPriceUpdates(
        await priceDemand(c, executionId),
        run.as_of,
        budget,
        settings.max_price_updates_per_day,
        {
          maxBulkDays: settings.max_bulk_days,
          perTickerOnly: settings.price_update_method === 'per_ticker' || bulk === 'no',
          maxBulkExchanges: bulk === 'probe' ? 1 : undefined,
          sessions: sessionsOf(calendars, (ex) => asOfFor(run, ex)),
        },
      );
      for (const f of price.fits) {
        if (f.deferred > 0) await deferPriceUpdates(c, executionId, f.exchange, f.coversFrom, f.taken);
        if (f.bulkDates.length > 0) await planBulkDays(c, executionId, f);
      }
      // The benchmarks and FX rates: after the price updates, before everything else (1 call
      // each; fetched here, once per run, before the regions start).
      const reference = await fetchReference(ctx, run, settings, await planReference(ctx, run, settings), {
        allowance: Math.max(0, budget - price.calls),
        quotaDay,
        dryRun: params.dryRun,
      });
      // In the run's row too, where an operator reads what the run budgeted with.
      await setRunPlan(c, executionId, {
        ...planFigures,
        reference: {
          calls: reference.calls,
          needed: reference.needed,
          fetched: reference.items.filter((i) => i.outcome === 'fetched').map((i) => i.symbol),
          notFetched: reference.items
            .filter((i) => i.outcome !== 'fetched' && i.outcome !== 'current')
            .map((i) => `${i.symbol}: ${i.outcome}`),
        },
      });
      await capNewFundamentals(c, executionId, settings.max_new_assets_per_day);
      await deferOverBudget(c, executionId, Math.max(0, budget - price.calls - reference.calls));
      const others = await demandByOperation(c, executionId);
      const collectCalls = price.calls + reference.calls + others.reduce((n, o) => n + o.calls, 0);
      // Re-reads for late corrections and re-asks of quarantined bars: what is left after collection.
      const rechecks = params.dryRun
        ? { plans: [], calls: 0, reaskAllowed: 0 }
        : await planRunRechecks(c, run, price.fits, {
            budget: Math.min(settings.recheck_calls_per_day, Math.max(0, budget - collectCalls)),
            bulk: bulk !== 'no' && settings.price_update_method !== 'per_ticker',
            settings,
            sessions: sessionsOf(calendars, (ex) => asOfFor(run, ex)),
          });
      if (params.dryRun) await skipAllForDryRun(c, executionId);
      await recordUncollected(c, executionId);
      const regions = ((await regionsWithWork(c, executionId)) as Region[]).sort(
        (a, b) => REGIONS.indexOf(a) - REGIONS.indexOf(b),
      );
      await setRegionsPending(c, executionId, regions.length);
      const result = {
        executionId,
        quotaDay,
        quota: {
          apiLimit: limits.apiLimit,
          configured: settings.eodhd_daily_quota,
          buffer: limits.buffer,
          callLimit,
          usedToday: usage.used,
          apiReported,
          budget,
        },
        plan: planFigures,
        priceUpdates: {
          method:
            settings.price_update_method === 'per_ticker'
              ? 'per_ticker'
              : bulk === 'no'
                ? 'per_ticker (bulk not in the plan)'
                : 'auto',
          assets: price.fits.reduce((n, f) => n + f.taken, 0),
          deferred: price.fits.reduce((n, f) => n + f.deferred, 0),
          estimatedCalls: price.calls,
          byExchange: price.fits,
        },
        reference,
        byOperation: Object.fromEntries(
          others.map((o) => [o.operation, { assets: o.assets, estimatedCalls: o.calls, deferred: o.deferred }]),
        ),
        rechecks: { estimatedCalls: rechecks.calls, reaskAllowed: rechecks.reaskAllowed, byExchange: rechecks.plans },
        estimatedCalls: collectCalls + rechecks.calls,
        dryRun: params.dryRun,
        regions,
        next: regions.length > 0 ? 'collect-region' : 'finalize',
      };
      // One collect-region per region with work; none left: straight to finalize.
      const next: Handover[] =
        regions.length > 0
          ? regions.map((region) => ({ fn: 'collect-region', body: { executionId, region } }))
          : [{ fn: 'finalize', body: { executionId } }];
      await s.complete(c, result, next);
      return result;
    });
    return { body, logged: ['budget_fitted', { budget, estimated_calls: body.estimatedCalls, regions: body.regions }] };
  });
}
