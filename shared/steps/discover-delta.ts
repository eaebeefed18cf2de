/**
 * discover-delta: learns the day (by the API's clock) and the plan, reads the exchanges'
 * calendars when due, gives each exchange its trading day (its last session published by
 * now), syncs the universe (one exchange-symbol-list call per exchange, or the lists a
 * watchlist needs; monthly, an exchange's delisted list when the budget has room), reads
 * the corporate actions, then writes the plan as work items and hands the run to check-quota.
 */

import { tradingDays } from '../domain/calendar.js';
import { EXCHANGES, type ExchangeCode } from '../domain/exchanges.js';
import type { EntitlementKind } from '../eodhd/call-book.js';
import { EodhdError } from '../eodhd/client.js';
import { mapLimited } from '../platform/concurrency.js';
import { inTransaction } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import { errorText, log } from '../platform/log.js';
import { quotaUsage } from '../store/api-ledger.js';
import { loadEntitlements, mayFetch, notInPlan } from '../store/api-plan.js';
import { type CorporateActionSync, syncCorporateActions } from '../store/corporate-actions.js';
import { type CalendarRead, loadCalendars, readCalendars } from '../store/exchange-calendars.js';
import { type Execution, type RunParameters, runParameters, setQuotaDay, setTradingDays } from '../store/executions.js';
import { loadSettings, type Settings } from '../store/settings.js';
import {
  activeAssets,
  addWatchlist,
  type DelistedListRead,
  delistedListsDue,
  type ExchangeSync,
  listsForWatchlist,
  readDelistedList,
  syncExchange,
} from '../store/universe.js';
import { excludedForFailures, unknownSymbols, writePlan } from '../store/work-items.js';
import type { PipelineContext } from './context.js';
import { type QuotaDayReconciliation, reconcileQuota } from './reconcile.js';
import { runStep } from './step-runner.js';

export async function discoverDelta(ctx: PipelineContext, executionId: number): Promise<FunctionResult> {
  return runStep(ctx, executionId, 'discover-delta', '', async (s) => {
    const { run } = s;
    const params = runParameters(run.parameters);
    const started = Date.now();
    const settings = await loadSettings(ctx.pool);
    const day = await reconcileQuota(ctx, executionId, settings, run.quota_day);
    await setQuotaDay(ctx.pool, executionId, day.quotaDay);
    const scope = scopeOf(params);
    // What the plan allowed before this run asked anything (the calendars and the sync read it).
    const before = await loadEntitlements(ctx.pool);
    const may = (k: EntitlementKind) => mayFetch(before, k, day.quotaDay);
    const calendarsRead = params.dryRun
      ? null
      : await readDueCalendars(ctx, run, scope, settings, day, may('exchange_details'));
    // Each exchange's day: its last session published by now (by the API's clock), or the
    // last session on or before an explicit asOf. The run's as_of is the latest of them.
    const days = tradingDays(await loadCalendars(ctx.pool), day.now, params.asOfExplicit ? run.as_of : null);
    run.as_of_by_exchange = days;
    run.as_of = scope
      .map((ex) => days[ex])
      .sort()
      .at(-1)!;
    await setTradingDays(ctx.pool, executionId, days, run.as_of);
    const synced = params.dryRun ? null : await sync(ctx, run, params, scope, settings, day, may);
    // What this step's own answers taught (a 403 on the lists or calendars) counts already.
    const entitlements = await loadEntitlements(ctx.pool);
    const fetch = {
      prices: mayFetch(entitlements, 'eod', day.quotaDay),
      fundamentals: mayFetch(entitlements, 'fundamentals', day.quotaDay),
    };
    const body = await inTransaction(ctx.pool, async (c) => {
      const plan = await writePlan(c, {
        executionId,
        tradingDay: run.as_of,
        tradingDays: days,
        mode: params.mode,
        exchanges: params.exchanges,
        symbols: params.symbols,
        skipExisting: params.skipExisting,
        settings,
        fetch,
      });
      const totals: Record<string, number> = {};
      for (const p of plan) totals[p.operation] = (totals[p.operation] ?? 0) + p.assets;
      const result = {
        executionId,
        asOf: run.as_of,
        asOfByExchange: Object.fromEntries(scope.map((ex) => [ex, days[ex]])),
        quotaDay: day.quotaDay,
        clock: { now: day.now.toISOString(), source: day.clock, apiCounterDate: day.apiDate },
        calendars: calendarsRead,
        mode: params.mode,
        universe: synced?.universe ?? [],
        universeSkipped: synced?.universeSkipped ?? null,
        delistedLists: synced?.delistedLists ?? null,
        watchlist: synced?.watchlist ?? null,
        corporateActions: synced?.corporateActions ?? null,
        plan,
        totals,
        excludedForFailures: await excludedForFailures(
          c,
          settings.max_consecutive_failures,
          params.exchanges,
          params.symbols,
        ),
        unknownSymbols: params.symbols ? await unknownSymbols(c, params.symbols) : [],
        fetch,
        notInPlan: notInPlan(entitlements),
        durationMs: Date.now() - started,
        next: 'check-quota',
      };
      await s.complete(c, result, [{ fn: 'check-quota', body: { executionId } }]);
      return result;
    });
    return {
      body,
      logged: [
        'plan_written',
        {
          as_of: body.asOfByExchange,
          quota_day: body.quotaDay,
          totals: body.totals,
          excluded: body.excludedForFailures,
          duration_ms: body.durationMs,
        },
      ],
    };
  });
}

interface Synced {
  universe: ExchangeSync[];
  universeSkipped: string | null;
  watchlist: { added: number; reactivated: number } | null;
  delistedLists: DelistedLists | null;
  corporateActions: CorporateActionSync | null;
}

interface DelistedLists {
  /** The scope's exchanges whose delisted list was due (never read, or refresh days ago). */
  due: ExchangeCode[];
  read: DelistedListRead[];
  /** Why due lists were not read (the plan, the budget), or null. */
  skipped: string | null;
  failed: Array<{ exchange: ExchangeCode; error: string }>;
}

/** The exchanges a run covers: those asked, those of the symbols asked, or all. */
function scopeOf(params: RunParameters): ExchangeCode[] {
  return (
    params.exchanges ??
    (params.symbols
      ? [...new Set(params.symbols.map((s) => s.slice(s.lastIndexOf('.') + 1) as ExchangeCode))]
      : [...EXCHANGES])
  );
}

/** The calendars of the scope's exchanges that are due, from /exchange-details when the plan has it. */
async function readDueCalendars(
  ctx: PipelineContext,
  run: Execution,
  scope: ExchangeCode[],
  settings: Settings,
  day: QuotaDayReconciliation,
  may: 'yes' | 'probe' | 'no',
): Promise<CalendarRead | null> {
  if (may === 'no') return null;
  const api = ctx.api(run.execution_id, day.quotaDay, settings);
  try {
    return await readCalendars(ctx.pool, api, scope, day.quotaDay, {
      refreshDays: settings.exchange_calendar_refresh_days,
      probe: may === 'probe',
    });
  } catch (err) {
    if (err instanceof EodhdError && err.kind === 'auth') throw err;
    // Not fatal: the calendars known (or weekdays) serve, and the next run asks again.
    log('warn', 'exchange_calendars_failed', { execution_id: run.execution_id, error: errorText(err) });
    return null;
  }
}

/** The universe (the lists the plan serves, a watchlist's symbols) and the corporate actions since the last run. */
async function sync(
  ctx: PipelineContext,
  run: Execution,
  params: RunParameters,
  scope: ExchangeCode[],
  settings: Settings,
  day: QuotaDayReconciliation,
  may: (k: EntitlementKind) => 'yes' | 'probe' | 'no',
): Promise<Synced> {
  const api = ctx.api(run.execution_id, day.quotaDay, settings);
  const out: Synced = {
    universe: [],
    universeSkipped: null,
    watchlist: null,
    delistedLists: null,
    corporateActions: null,
  };
  if (may('symbol_list') !== 'no') {
    // A watchlist run reads only the lists it needs (new symbols, or read a week ago).
    const lists =
      params.symbols && !params.exchanges ? await listsForWatchlist(ctx.pool, params.symbols, run.as_of) : scope;
    // Three lists at a time: one is parsed while others are in flight or being written.
    out.universe = await mapLimited(lists, 3, (ex) => syncExchange(ctx.pool, api, ex, settings.us_venues, run.as_of));
  } else {
    out.universeSkipped = "the exchanges' symbol lists are not in the plan: new listings and delistings are not seen";
  }
  if (params.symbols) out.watchlist = await addWatchlist(ctx.pool, params.symbols, run.as_of);
  // A watchlist run covers its symbols, not their exchanges' past.
  if (!params.symbols || params.exchanges)
    out.delistedLists = await readDelistedLists(ctx, run, scope, settings, day, api);
  if (!settings.corporate_actions_enabled) return out;
  try {
    const usage = await quotaUsage(ctx.pool, day.quotaDay);
    out.corporateActions = await syncCorporateActions(ctx.pool, api, run.execution_id, day.quotaDay, {
      calendar: may('calendar'),
      bulk: may('bulk'),
      exchanges: scope,
      budget: Math.max(0, (usage.callLimit ?? day.limits.callLimit) - usage.used),
    });
    if (out.corporateActions.skipped)
      log('warn', 'corporate_actions_skipped', {
        execution_id: run.execution_id,
        reason: out.corporateActions.skipped,
      });
  } catch (err) {
    if (err instanceof EodhdError && err.kind === 'auth') throw err;
    // Not fatal (the day's budget too): the days stay unread and the next run reads them.
    log('warn', 'corporate_actions_failed', { execution_id: run.execution_id, error: errorText(err) });
  }
  return out;
}

/**
 * EODHD's delisted lists of the scope's exchanges that are due (monthly by default), after
 * the daily lists (a name they list today is listed, whatever the delisted list says). Only
 * when the plan serves the lists, and only out of what the day's budget has beyond one call
 * per active asset of the scope: the most their price updates and history loads can cost,
 * so prices come first; the lists go before fundamentals (planned later, 10 calls each).
 */
async function readDelistedLists(
  ctx: PipelineContext,
  run: Execution,
  scope: ExchangeCode[],
  settings: Settings,
  day: QuotaDayReconciliation,
  api: ReturnType<PipelineContext['api']>,
): Promise<DelistedLists | null> {
  const due = await delistedListsDue(ctx.pool, scope, run.as_of, settings.delisted_lists_refresh_days);
  if (due.length === 0) return null;
  const out: DelistedLists = { due, read: [], skipped: null, failed: [] };
  // What the daily lists' answers taught counts: a 403 there is a 403 here.
  if (mayFetch(await loadEntitlements(ctx.pool), 'symbol_list', day.quotaDay) !== 'yes') {
    out.skipped = "the exchanges' symbol lists are not in the plan";
    return out;
  }
  const usage = await quotaUsage(ctx.pool, day.quotaDay);
  const left = Math.max(0, (usage.callLimit ?? day.limits.callLimit) - usage.used);
  const spare = Math.max(0, left - (await activeAssets(ctx.pool, scope)));
  const lists = due.slice(0, spare);
  if (lists.length < due.length)
    out.skipped = `the day's budget (${left} calls left, prices first) leaves room for ${lists.length} of ${due.length} delisted lists`;
  const results = await mapLimited(lists, 3, async (ex) => {
    try {
      return await readDelistedList(ctx.pool, api, ex, settings.us_venues, run.as_of);
    } catch (err) {
      if (err instanceof EodhdError && err.kind === 'auth') throw err;
      // Not fatal: the list is not recorded as read, and the next run asks again.
      out.failed.push({ exchange: ex, error: errorText(err) });
      log('warn', 'delisted_list_failed', { execution_id: run.execution_id, exchange: ex, error: errorText(err) });
      return null;
    }
  });
  out.read = results.filter((r): r is DelistedListRead => r !== null);
  if (out.skipped) log('warn', 'delisted_lists_skipped', { execution_id: run.execution_id, reason: out.skipped });
  return out;
}
