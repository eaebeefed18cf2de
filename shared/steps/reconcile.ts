/**
 * Our ledger against the API's own count (/user, free): the quota day by the API's clock,
 * calls other users of the key made, and requests whose outcome we never learnt (their
 * process died, or nothing came back in time) settled against what the API counted.
 * discover-delta and check-quota do it at the start of a run; the resume sweep does it
 * whenever such requests are waiting, so that a killed replica's requests are settled the
 * same day (the API's count is only for its current day).
 */

import { utcToday } from '../domain/dates.js';
import { EodhdError } from '../eodhd/client.js';
import { errorText, log } from '../platform/log.js';
import { reconcileWithApi, type UncertainSnapshot, uncertainSnapshot } from '../store/api-ledger.js';
import { type DayLimits, dayLimits, loadPlan, type PlanFigures, recordPlan } from '../store/api-plan.js';
import { loadSettings, type Settings } from '../store/settings.js';
import type { PipelineContext } from './context.js';

export interface QuotaDayReconciliation {
  quotaDay: string;
  /** The run's instant: the API's clock (the Date header of /user's answer), else this machine's. */
  now: Date;
  clock: 'api' | 'local';
  /** What the API counted on the quota day (0 when its counter still shows an earlier day); null: unknown. */
  apiReported: number | null;
  /** The day /user's counter was dated (the last day anything was asked), null when /user did not answer. */
  apiDate: string | null;
  /** Requests of unknown outcome settled, what they had reserved, what was attributed to
   * them; and those left for a quiet moment. */
  settled: { calls: number; reserved: number; attributed: number; deferred: number };
  /** The plan as /user said (or as last read, when /user did not answer), and the day's limits from it. */
  plan: PlanFigures | null;
  limits: DayLimits;
}

const NONE = { calls: 0, reserved: 0, attributed: 0, deferred: 0 };

/**
 * The quota day and the API's count of it, reconciled into our ledger. The quota day is
 * today's UTC date (EODHD's counter resets at midnight GMT) by the API's clock (its Date
 * header), else this machine's; `knownDay` (a run's own) wins. /user's counter shows the
 * last day anything was asked until the first request after midnight: dated before the
 * quota day it means nothing was charged today, and its count settles its own day. Dated
 * after it, the clocks disagree: a warning, never a switch. `taken`: a snapshot the
 * caller already read (it must be read before /user is asked).
 */
export async function reconcileQuota(
  ctx: PipelineContext,
  executionId: number | null,
  settings: Settings,
  knownDay: string | null,
  taken?: UncertainSnapshot,
): Promise<QuotaDayReconciliation> {
  try {
    // Read before the API is asked: what it counts then covers at least all of this.
    const snapshot = taken ?? (await uncertainSnapshot(ctx.pool));
    const api = ctx.api(executionId, knownDay ?? utcToday(), settings);
    const user = await api.user();
    const now = api.serverTime ?? new Date();
    const today = now.toISOString().slice(0, 10);
    const quotaDay = knownDay ?? today;
    const base = { quotaDay, now, clock: api.serverTime ? ('api' as const) : ('local' as const) };
    const plan: PlanFigures = {
      subscriptionType: user.subscriptionType,
      subscriptionMode: user.subscriptionMode,
      dailyRateLimit: user.dailyRateLimit,
      extraLimit: user.extraLimit,
      availableDataFeeds: user.availableDataFeeds,
    };
    const limits = await recordPlan(ctx.pool, quotaDay, plan, settings);
    const apiDate = user.apiRequestsDate;
    if (apiDate > today)
      log('warn', 'api_counter_ahead', {
        execution_id: executionId,
        quota_day: quotaDay,
        api_date: apiDate,
        clock: base.clock,
        now: now.toISOString(),
        reason: "the API's counter is dated after today by the clock: the day stays the clock's",
      });
    // The counter of an earlier day settles that day; today's count is then 0.
    if (apiDate < quotaDay) await settle(ctx, executionId, apiDate, user.apiRequests, snapshot);
    const todays = apiDate === quotaDay ? user.apiRequests : apiDate < quotaDay ? 0 : null;
    if (todays === null) return { ...base, apiReported: null, apiDate, settled: NONE, plan, limits };
    const settled = await settle(ctx, executionId, quotaDay, todays, snapshot);
    return { ...base, apiReported: todays, apiDate, plan, limits, settled };
  } catch (err) {
    if (err instanceof EodhdError && err.kind === 'auth') throw err;
    log('warn', 'user_endpoint_failed', {
      execution_id: executionId,
      error: errorText(err),
    });
    // The plan as last read (its limit still holds the day's reservations, via call_limit).
    const plan = await loadPlan(ctx.pool).catch(() => null);
    return {
      quotaDay: knownDay ?? utcToday(),
      now: new Date(),
      clock: 'local',
      apiReported: null,
      apiDate: null,
      settled: NONE,
      plan,
      limits: dayLimits(settings, plan),
    };
  }
}

/** One day's ledger against the API's count of it. */
async function settle(
  ctx: PipelineContext,
  executionId: number | null,
  day: string,
  apiRequests: number,
  snapshot: UncertainSnapshot,
): Promise<QuotaDayReconciliation['settled']> {
  const r = await reconcileWithApi(ctx.pool, day, apiRequests, snapshot);
  if (r.settledCalls > 0) {
    log('info', 'api_calls_settled', {
      execution_id: executionId,
      quota_day: day,
      calls: r.settledCalls,
      reserved: r.settledReserved,
      attributed: r.settledAttributed,
      api_reported: apiRequests,
    });
  }
  if (r.unsettledBusy > 0)
    log('info', 'api_calls_settle_deferred', {
      execution_id: executionId,
      quota_day: day,
      calls: r.unsettledBusy,
      reason: 'other requests were in flight',
    });
  return {
    calls: r.settledCalls,
    reserved: r.settledReserved,
    attributed: r.settledAttributed,
    deferred: r.unsettledBusy,
  };
}

/**
 * For the resume sweep: when requests of unknown outcome are past their deadline, settles
 * them against the API's count (one free /user call); nothing is asked otherwise.
 */
export async function settleUnknownCalls(ctx: PipelineContext): Promise<QuotaDayReconciliation | null> {
  const waiting = await uncertainSnapshot(ctx.pool);
  if (waiting.size === 0) return null;
  // The API's count is of the day its counter shows: that day's requests are settled.
  return reconcileQuota(ctx, null, await loadSettings(ctx.pool), null, waiting);
}
