/**
 * Our ledger against the API's own count (/user, free): which quota day the API is on,
 * calls other users of the key made, and requests whose outcome we never learnt (their
 * process died, or nothing came back in time) settled against what the API counted.
 * discover-delta and check-quota do it at the start of a run; the resume sweep does it
 * whenever such requests are waiting, so that a killed replica's requests are settled the
 * same day (the API's count is only for its current day).
 */

import { reconcileWithApi, type UncertainSnapshot, uncertainSnapshot } from './api-ledger.js';
import { type DayLimits, dayLimits, loadPlan, type PlanFigures, recordPlan } from './api-plan.js';
import type { PipelineContext } from './context.js';
import { utcToday } from './dates.js';
import { EodhdError } from './eodhd.js';
import { log } from './log.js';
import { loadSettings, type Settings } from './settings.js';

export interface QuotaDayReconciliation {
  quotaDay: string;
  apiReported: number | null;
  apiDate: string | null;
  /** Requests of unknown outcome settled, what they had reserved, what was attributed to
   * them; and those left for a quiet moment. */
  settled: { calls: number; reserved: number; attributed: number; deferred: number };
  /** The plan as /user said (or as last read, when /user did not answer), and the day's limits from it. */
  plan: PlanFigures | null;
  limits: DayLimits;
}

/**
 * The API's quota day (apiRequestsDate) and its count of the day's calls, reconciled into
 * our ledger. Falls back to the UTC date when /user does not answer. `taken`: a snapshot
 * the caller already read (it must be read before /user is asked).
 */
export async function reconcileQuota(
  ctx: PipelineContext,
  executionId: number | null,
  settings: Settings,
  knownDay: string | null,
  taken?: UncertainSnapshot,
): Promise<QuotaDayReconciliation> {
  const probeDay = knownDay ?? utcToday();
  const none = { calls: 0, reserved: 0, attributed: 0, deferred: 0 };
  try {
    // Read before the API is asked: what it counts then covers at least all of this.
    const snapshot = taken ?? (await uncertainSnapshot(ctx.pool));
    const user = await ctx.api(executionId, probeDay, settings).user();
    const quotaDay = knownDay ?? user.apiRequestsDate;
    const plan: PlanFigures = {
      subscriptionType: user.subscriptionType,
      subscriptionMode: user.subscriptionMode,
      dailyRateLimit: user.dailyRateLimit,
      extraLimit: user.extraLimit,
      availableDataFeeds: user.availableDataFeeds,
    };
    const limits = await recordPlan(ctx.pool, quotaDay, plan, settings);
    // Only the day's own count is comparable with the day's ledger.
    if (user.apiRequestsDate !== quotaDay)
      return { quotaDay, apiReported: user.apiRequests, apiDate: user.apiRequestsDate, settled: none, plan, limits };
    const r = await reconcileWithApi(ctx.pool, quotaDay, user.apiRequests, snapshot);
    if (r.settledCalls > 0) {
      log('info', 'api_calls_settled', {
        execution_id: executionId,
        quota_day: quotaDay,
        calls: r.settledCalls,
        reserved: r.settledReserved,
        attributed: r.settledAttributed,
        api_reported: user.apiRequests,
      });
    }
    if (r.unsettledBusy > 0)
      log('info', 'api_calls_settle_deferred', {
        execution_id: executionId,
        quota_day: quotaDay,
        calls: r.unsettledBusy,
        reason: 'other requests were in flight',
      });
    return {
      quotaDay,
      apiReported: user.apiRequests,
      apiDate: user.apiRequestsDate,
      plan,
      limits,
      settled: {
        calls: r.settledCalls,
        reserved: r.settledReserved,
        attributed: r.settledAttributed,
        deferred: r.unsettledBusy,
      },
    };
  } catch (err) {
    if (err instanceof EodhdError && err.kind === 'auth') throw err;
    log('warn', 'user_endpoint_failed', {
      execution_id: executionId,
      error: err instanceof Error ? err.message : String(err),
    });
    // The plan as last read (its limit still holds the day's reservations, via call_limit).
    const plan = await loadPlan(ctx.pool).catch(() => null);
    return {
      quotaDay: probeDay,
      apiReported: null,
      apiDate: null,
      settled: none,
      plan,
      limits: dayLimits(settings, plan),
    };
  }
}

/**
 * For the resume sweep: when requests of unknown outcome are past their deadline, settles
 * them against the API's count (one free /user call); nothing is asked otherwise.
 */
export async function settleUnknownCalls(ctx: PipelineContext): Promise<QuotaDayReconciliation | null> {
  const waiting = await uncertainSnapshot(ctx.pool);
  if (waiting.size === 0) return null;
  // The API's count is of its current day, whichever that is: only that day's can be settled.
  return reconcileQuota(ctx, null, await loadSettings(ctx.pool), null, waiting);
}
