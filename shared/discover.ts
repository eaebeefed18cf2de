/**
 * discover-delta: syncs the universe (one exchange-symbol-list call per exchange), then
 * writes the plan as work items and hands the run to check-quota.
 */
import type { PipelineContext } from './context.js';
import { inTransaction, isDatabaseUnavailable } from './db.js';
import { EodhdError } from './eodhd.js';
import { failRun, setQuotaDay, touchRun } from './executions.js';
import { EXCHANGES, lastWeekdayOnOrBefore, type ExchangeCode } from './exchanges.js';
import type { FunctionResult } from './function-contract.js';
import { log } from './log.js';
import { excludedForFailures, unknownSymbols, writePlan } from './plan.js';
import { reconcileQuota } from './reconcile.js';
import { quotaUsage } from './quota.js';
import { loadSettings } from './settings.js';
import { guardStep } from './step-guard.js';
import { completeStep, ensureStepPending, failStep, STEP_LEASE_SECONDS } from './steps.js';
import { addWatchlist, listsForWatchlist, syncExchange, type ExchangeSync } from './universe.js';
import { syncCorporateActions, type CorporateActionSync } from './corporate-actions.js';
import { loadEntitlements, mayFetch, notInPlan } from './api-plan.js';

export interface RunParameters {
  mode: 'auto' | 'bulk' | 'incremental';
  exchanges: ExchangeCode[] | null;
  symbols: string[] | null;
  dryRun: boolean;
  skipExisting: boolean;
  asOfExplicit: boolean;
}

export function runParameters(p: Record<string, unknown>): RunParameters {
  return {
    mode: (p.mode as RunParameters['mode']) ?? 'auto',
    exchanges: (p.exchanges as ExchangeCode[] | null) ?? null,
    symbols: (p.symbols as string[] | null) ?? null,
    dryRun: p.dryRun === true,
    skipExisting: p.skipExisting === true,
    asOfExplicit: p.asOfExplicit === true,
  };
}

const SET_AS_OF = `UPDATE process_executions SET as_of = $2 WHERE execution_id = $1`;

export async function discoverDelta(ctx: PipelineContext, executionId: number): Promise<FunctionResult> {
  const g = await guardStep(ctx, executionId, 'discover-delta', '', STEP_LEASE_SECONDS);
  if (!g.ok) return g.response;
  const run = g.run;
  const params = runParameters(run.parameters);
  const started = Date.now();
  try {
    await touchRun(ctx.pool, executionId, 'discover-delta');
    const settings = await loadSettings(ctx.pool);
    const { quotaDay, apiDate, limits } = await reconcileQuota(ctx, executionId, settings, run.quota_day);
    await setQuotaDay(ctx.pool, executionId, quotaDay);
    if (!params.asOfExplicit && apiDate) {
      run.as_of = lastWeekdayOnOrBefore(apiDate);
      await ctx.pool.query(SET_AS_OF, [executionId, run.as_of]);
    }

    const universe: ExchangeSync[] = [];
    let universeSkipped: string | null = null;
    let watchlist: { added: number; reactivated: number } | null = null;
    let corporateActions: CorporateActionSync | null = null;
    const before = await loadEntitlements(ctx.pool);
    if (!params.dryRun) {
      const api = ctx.api(executionId, quotaDay, settings);
      const scope = params.exchanges ?? (params.symbols ? [...new Set(params.symbols.map((s) => s.slice(s.lastIndexOf('.') + 1) as ExchangeCode))] : [...EXCHANGES]);
      if (mayFetch(before, 'symbol_list', quotaDay) !== 'no') {
        // A watchlist run reads only the lists it needs (new symbols, or read a week ago).
        const lists = params.symbols && !params.exchanges ? await listsForWatchlist(ctx.pool, params.symbols, run.as_of) : scope;
        for (const ex of lists) universe.push(await syncExchange(ctx.pool, api, ex, settings.us_venues, run.as_of));
      } else {
        universeSkipped = 'the exchanges\' symbol lists are not in the plan: new listings and delistings are not seen';
      }
      if (params.symbols) watchlist = await addWatchlist(ctx.pool, params.symbols, run.as_of);
      if (settings.corporate_actions_enabled) {
        try {
          const usage = await quotaUsage(ctx.pool, quotaDay);
          corporateActions = await syncCorporateActions(ctx.pool, api, executionId, apiDate ?? run.as_of, {
            calendar: mayFetch(before, 'calendar', quotaDay), bulk: mayFetch(before, 'bulk', quotaDay), exchanges: scope,
            budget: Math.max(0, (usage.callLimit ?? limits.callLimit) - usage.used),
          });
          if (corporateActions.skipped) log('warn', 'corporate_actions_skipped', { execution_id: executionId, reason: corporateActions.skipped });
        } catch (err) {
          if (err instanceof EodhdError && err.kind === 'auth') throw err;
          // Not fatal (the day's budget too): the days stay unread and the next run reads them.
          log('warn', 'corporate_actions_failed', { execution_id: executionId, error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    // What this step's own answers taught (a 403 on the lists or calendars) counts already.
    const entitlements = await loadEntitlements(ctx.pool);
    const fetch = { prices: mayFetch(entitlements, 'eod', quotaDay), fundamentals: mayFetch(entitlements, 'fundamentals', quotaDay) };
    const result = await inTransaction(ctx.pool, async (c) => {
      const plan = await writePlan(c, {
        executionId, tradingDay: run.as_of, mode: params.mode, exchanges: params.exchanges, symbols: params.symbols,
        skipExisting: params.skipExisting, settings, fetch,
      });
      const excluded = await excludedForFailures(c, settings.max_consecutive_failures, params.exchanges, params.symbols);
      const unknown = params.symbols ? await unknownSymbols(c, params.symbols) : [];
      const totals: Record<string, number> = {};
      for (const p of plan) totals[p.operation] = (totals[p.operation] ?? 0) + p.assets;
      const body = {
        executionId, asOf: run.as_of, quotaDay, mode: params.mode,
        universe, universeSkipped, watchlist, corporateActions, plan, totals, excludedForFailures: excluded, unknownSymbols: unknown,
        fetch, notInPlan: notInPlan(entitlements),
        durationMs: Date.now() - started, next: 'check-quota',
      };
      await completeStep(c, executionId, 'discover-delta', '', body);
      await ensureStepPending(c, executionId, 'check-quota');
      await touchRun(c, executionId, 'check-quota');
      return body;
    });
    log('info', 'plan_written', { execution_id: executionId, totals: result.totals, excluded: result.excludedForFailures, duration_ms: result.durationMs });
    await ctx.invoke('check-quota', { executionId });
    return { status: 200, body: result };
  } catch (err) {
    return stepFailed(ctx, executionId, 'discover-delta', '', err);
  } finally {
    g.release();
  }
}

/** A step that cannot finish: the run fails when the API refused the key, else the step waits for the re-drive. */
export async function stepFailed(ctx: PipelineContext, executionId: number, step: string, shard: string, err: unknown): Promise<FunctionResult> {
  const message = err instanceof Error ? err.message : String(err);
  await failStep(ctx.pool, executionId, step, shard, message).catch(() => {});
  if (err instanceof EodhdError && err.kind === 'auth') {
    // A refused key fails the run: nothing can be fetched until someone changes the key.
    await failRun(ctx.pool, executionId, message).catch(() => {});
    log('error', 'run_failed', { execution_id: executionId, step, error: message });
    return { status: 502, body: { error: 'api_key_refused', reason: message, executionId } };
  }
  if (isDatabaseUnavailable(err)) {
    log('error', 'step_failed', { execution_id: executionId, step, shard, error: message, database: 'unavailable' });
    return { status: 503, body: { error: 'database_unavailable', reason: `the database does not answer (${message}); the resume schedule re-drives this step once it is back`, executionId, step } };
  }
  log('error', 'step_failed', { execution_id: executionId, step, shard, error: message });
  return { status: 500, body: { error: 'step_failed', reason: message, executionId, step, retry: 'the resume schedule re-drives this step' } };
}
