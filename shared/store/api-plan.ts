/**
 * The key's EODHD plan: its daily limit (the budget is the smaller of it and
 * eodhd_daily_quota, less the buffer scaled to it) and what it lets the pipeline fetch.
 * Owns api_plan and api_entitlements, and the day's limits on api_quota_days.
 *
 * (The day's limits go on api_quota_days through api-ledger.ts.)
 *
 * Entitlements are learnt from answers: a 403 on a kind of endpoint means "not in the
 * plan" (a 401 is a refused key, which is something else), a 2xx that it is. /user's
 * availableDataFeeds names are not documented, so they are only a hint, used until an
 * answer comes. A kind not in the plan is tried again once a quota day (a 403 costs
 * nothing), so that an upgraded plan is noticed the next day.
 */

import type { EntitlementKind } from '../eodhd/call-book.js';
import type { Queryable } from '../platform/db.js';
import { log } from '../platform/log.js';
import { setDayLimits } from './api-ledger.js';
import { refetchLimitedHistories } from './asset-state.js';
import type { Settings } from './settings.js';

export interface PlanFigures {
  subscriptionType: string | null;
  subscriptionMode: string | null;
  dailyRateLimit: number;
  extraLimit: number;
  availableDataFeeds: string[];
}

export interface DayLimits {
  /** The API's own limit for the day: dailyRateLimit + extraLimit (null: /user not read). */
  apiLimit: number | null;
  /** The smaller of the API's limit and eodhd_daily_quota. */
  quota: number;
  /** The buffer, scaled down when the plan is smaller than eodhd_daily_quota. */
  buffer: number;
  /** What the day's reservations may reach: quota - buffer. */
  callLimit: number;
}

/**
 * The day's limits. A buffer meant for a 100,000-call quota would swallow a 20-call plan
 * whole: it keeps its share of eodhd_daily_quota instead (10% of 20 is 2).
 */
export function dayLimits(
  settings: Settings,
  plan: Pick<PlanFigures, 'dailyRateLimit' | 'extraLimit'> | null,
): DayLimits {
  const configured = settings.eodhd_daily_quota;
  const apiLimit = plan ? plan.dailyRateLimit + plan.extraLimit : null;
  const quota = apiLimit === null ? configured : Math.min(configured, apiLimit);
  const share = configured > 0 ? settings.eodhd_quota_buffer / configured : 0;
  const buffer = Math.min(settings.eodhd_quota_buffer, Math.floor(quota * Math.min(1, share)));
  return { apiLimit, quota, buffer, callLimit: Math.max(0, quota - buffer) };
}

const SAVE_PLAN = `
  INSERT INTO api_plan (id, subscription_type, subscription_mode, daily_rate_limit, extra_limit, available_data_feeds, quota_day, read_at)
  VALUES (true, $1, $2, $3, $4, $5::text[], $6, now())
  ON CONFLICT (id) DO UPDATE SET subscription_type = EXCLUDED.subscription_type, subscription_mode = EXCLUDED.subscription_mode,
    daily_rate_limit = EXCLUDED.daily_rate_limit, extra_limit = EXCLUDED.extra_limit,
    available_data_feeds = EXCLUDED.available_data_feeds, quota_day = EXCLUDED.quota_day, read_at = now()`;

// A hint never overrides what an answer said; it only fills in (or updates) its own rows.
const APPLY_HINT = `
  INSERT INTO api_entitlements AS e (kind, status, source, since, detail)
  VALUES ($1, $2, 'feeds', $3, $4)
  ON CONFLICT (kind) DO UPDATE SET status = EXCLUDED.status, detail = EXCLUDED.detail, updated_at = now(),
    since = CASE WHEN e.status = EXCLUDED.status THEN e.since ELSE EXCLUDED.since END
  WHERE e.source = 'feeds'`;

/** Feed names (undocumented) that suggest a kind is in the plan; kinds without a pattern get no hint. */
const FEED_HINTS: Partial<Record<EntitlementKind, RegExp>> = {
  fundamentals: /fundamental/i,
  calendar: /calendar|fundamental/i,
};

const PLAN_CHANGED = `SELECT (subscription_type, daily_rate_limit) IS DISTINCT FROM ($1::text, $2::int) AS changed FROM api_plan`;

/** Records what /user said: the plan, the day's limits, and the feed list as a hint. */
export async function recordPlan(
  q: Queryable,
  quotaDay: string,
  plan: PlanFigures,
  settings: Settings,
): Promise<DayLimits> {
  const limits = dayLimits(settings, plan);
  const changed =
    (await q.query<{ changed: boolean }>(PLAN_CHANGED, [plan.subscriptionType, plan.dailyRateLimit])).rows[0]
      ?.changed ?? false;
  if (changed) {
    const refetch = await refetchLimitedHistories(q);
    log('info', 'plan_changed', {
      subscription_type: plan.subscriptionType,
      daily_rate_limit: plan.dailyRateLimit,
      histories_to_refetch: refetch,
    });
  }
  await q.query(SAVE_PLAN, [
    plan.subscriptionType,
    plan.subscriptionMode,
    plan.dailyRateLimit,
    plan.extraLimit,
    plan.availableDataFeeds,
    quotaDay,
  ]);
  await setDayLimits(q, quotaDay, limits.apiLimit, limits.callLimit);
  // An empty feed list says nothing.
  if (plan.availableDataFeeds.length > 0) {
    for (const [kind, pattern] of Object.entries(FEED_HINTS) as Array<[EntitlementKind, RegExp]>) {
      const listed = plan.availableDataFeeds.some((f) => pattern.test(f));
      await q.query(APPLY_HINT, [
        kind,
        listed ? 'available' : 'not_in_plan',
        quotaDay,
        listed ? "named in the plan's feed list" : "the plan's feed list names no such feed",
      ]);
    }
  }
  return limits;
}

const LOAD_PLAN = `SELECT subscription_type, subscription_mode, daily_rate_limit, extra_limit, available_data_feeds FROM api_plan`;

export async function loadPlan(q: Queryable): Promise<PlanFigures | null> {
  const r = (
    await q.query<{
      subscription_type: string | null;
      subscription_mode: string | null;
      daily_rate_limit: number;
      extra_limit: number;
      available_data_feeds: string[];
    }>(LOAD_PLAN)
  ).rows[0];
  return r
    ? {
        subscriptionType: r.subscription_type,
        subscriptionMode: r.subscription_mode,
        dailyRateLimit: r.daily_rate_limit,
        extraLimit: r.extra_limit,
        availableDataFeeds: r.available_data_feeds,
      }
    : null;
}

// The kind's status follows the answer; `since` only moves when the status changes.
const RECORD_ANSWER = `
  INSERT INTO api_entitlements AS e (kind, status, source, since, checked_on, detail)
  VALUES ($1, $2, 'answer', $3, $3, $4)
  ON CONFLICT (kind) DO UPDATE SET
    status = EXCLUDED.status, source = 'answer', checked_on = greatest(e.checked_on, EXCLUDED.checked_on),
    since = CASE WHEN e.status = EXCLUDED.status AND e.source = 'answer' THEN e.since ELSE EXCLUDED.since END,
    detail = EXCLUDED.detail, updated_at = now()
  WHERE e.status <> EXCLUDED.status OR e.source <> 'answer' OR e.checked_on IS NULL OR e.checked_on < EXCLUDED.checked_on`;

/**
 * Kinds this process has seen answered (or refused) by an API (its base URL) on a quota
 * day: written once each. (One process talks to one API; tests run several side by side.)
 */
const seen = new Map<string, 'available' | 'not_in_plan'>();

/** Records an answer of a kind of endpoint: refused by the plan (403) or served. */
export async function recordAnswer(
  q: Queryable,
  api: string,
  kind: EntitlementKind,
  quotaDay: string,
  status: 'available' | 'not_in_plan',
  detail: string | null,
): Promise<void> {
  const key = `${api}|${quotaDay}|${kind}`;
  if (seen.get(key) === status) return;
  seen.set(key, status);
  await q.query(RECORD_ANSWER, [kind, status, quotaDay, detail]);
}

/** Whether this process has already had a 403 for the kind on this quota day (no need to ask again). */
export function refusedToday(api: string, kind: EntitlementKind, quotaDay: string): boolean {
  return seen.get(`${api}|${quotaDay}|${kind}`) === 'not_in_plan';
}

export interface Entitlement {
  kind: EntitlementKind;
  status: 'available' | 'not_in_plan';
  source: 'answer' | 'feeds';
  since: string;
  checked_on: string | null;
  detail: string | null;
}

const LOAD_ENTITLEMENTS = `SELECT kind, status, source, since::text, checked_on::text, detail FROM api_entitlements`;

export async function loadEntitlements(q: Queryable): Promise<Map<EntitlementKind, Entitlement>> {
  const rows = (await q.query<Entitlement>(LOAD_ENTITLEMENTS)).rows;
  return new Map(rows.map((r) => [r.kind, r]));
}

/**
 * What a run may plan of a kind: 'yes' (in the plan, or nothing says otherwise), 'probe'
 * (not in the plan, and not tried yet this quota day: try once), 'no'.
 */
export function mayFetch(
  e: Map<EntitlementKind, Entitlement>,
  kind: EntitlementKind,
  quotaDay: string,
): 'yes' | 'probe' | 'no' {
  const x = e.get(kind);
  if (!x || x.status === 'available') return 'yes';
  return x.checked_on === null || x.checked_on < quotaDay ? 'probe' : 'no';
}

/** The kinds not in the plan, with since when and why: for run results and reports. */
export function notInPlan(
  e: Map<EntitlementKind, Entitlement>,
): Array<{ kind: EntitlementKind; since: string; source: string; detail: string | null }> {
  return [...e.values()]
    .filter((x) => x.status === 'not_in_plan')
    .sort((a, b) => a.kind.localeCompare(b.kind))
    .map((x) => ({ kind: x.kind, since: x.since, source: x.source, detail: x.detail }));
}
