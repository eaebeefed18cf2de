/**
 * api_calls and api_quota_days: the API-call ledger and the per-day budget; every write to
 * the two tables is here. A request's cost is reserved, and its ledger
 * row written, by one conditional statement before the request is made, so replicas running
 * at once can never together pass quota - buffer, and no request goes out unrecorded. The
 * answer settles the row (errors cost nothing, so their reservation comes back); a request
 * whose answer never got written (its process died, the database was away) is settled
 * later against the API's own count. The same statement spaces requests for the per-minute
 * limit (GCRA), across all replicas.
 */

import type { CallOutcome, Reservation } from '../eodhd/call-book.js';
import { type Db, inTransaction, type Queryable } from '../platform/db.js';
import { lockRunsOfCalls, resumFinishedRuns } from './executions.js';

export interface QuotaUsage {
  quotaDay: string;
  reservedCalls: number;
  externalCalls: number;
  apiReported: number | null;
  used: number;
  /** The API's own limit for the day (dailyRateLimit + extraLimit), when /user was read. */
  apiDailyLimit: number | null;
  /** What reservations may reach on the day (set from the plan), when known. */
  callLimit: number | null;
}

const ENSURE_DAY = `INSERT INTO api_quota_days (quota_day) VALUES ($1) ON CONFLICT (quota_day) DO NOTHING`;

async function ensureQuotaDay(q: Queryable, day: string): Promise<void> {
  await q.query(ENSURE_DAY, [day]);
}

// One statement reserves the cost (and a rate slot) and writes the request's ledger row:
// either both happen or neither, and the row exists before the request leaves.
const RESERVE = `
  WITH slot AS (
    UPDATE api_quota_days
       SET reserved_calls = reserved_calls + $2,
           rate_tat = greatest(rate_tat, clock_timestamp()) + make_interval(secs => $4::float8)
     WHERE quota_day = $1
       AND reserved_calls + external_calls + $2 <= least($3, coalesce(call_limit, $3))
       AND rate_tat <= clock_timestamp() + make_interval(secs => $5::float8)
    RETURNING quota_day)
  INSERT INTO api_calls (quota_day, endpoint, target, cost, reserved, outcome, duration_ms, execution_id, deadline_at)
  SELECT quota_day, $6, $7, $2, $2, 'sent', 0, $8, clock_timestamp() + make_interval(secs => $9::float8) FROM slot
  RETURNING id`;

const WHY_NOT = `
  SELECT reserved_calls + external_calls + $2 > least($3, coalesce(call_limit, $3)) AS over_quota,
         least($3, coalesce(call_limit, $3)) AS call_limit, reserved_calls + external_calls AS used,
         greatest(0, extract(epoch FROM rate_tat - clock_timestamp()) - $4::float8) AS wait_seconds
    FROM api_quota_days WHERE quota_day = $1`;

export interface CallRequest {
  day: string;
  cost: number;
  /** eodhd_daily_quota - buffer; the day's call_limit (from the plan) wins when smaller. */
  limit: number;
  /** 60 / requests per minute. */
  intervalSeconds: number;
  /** The GCRA's tolerance. */
  burstSeconds: number;
  endpoint: string;
  target: string | null;
  executionId: number | null;
  /** When the request is certainly over (the client aborts it before), in seconds from now. */
  deadlineSeconds: number;
}

/**
 * Reserves the request's cost against the day's limit and one slot of the per-minute rate,
 * and writes its ledger row ('sent', counted at its cost until the answer settles it).
 */
export async function reserveCall(q: Queryable, r: CallRequest): Promise<Reservation> {
  for (let attempt = 0; ; attempt++) {
    const res = await q.query<{ id: string }>(RESERVE, [
      r.day,
      r.cost,
      r.limit,
      r.intervalSeconds,
      r.burstSeconds,
      r.endpoint,
      r.target,
      r.executionId,
      r.deadlineSeconds,
    ]);
    if (res.rowCount === 1) return { ok: true, callId: Number(res.rows[0]!.id) };
    const why = await q.query<{ over_quota: boolean; call_limit: number; used: number; wait_seconds: number }>(
      WHY_NOT,
      [r.day, r.cost, r.limit, r.burstSeconds],
    );
    const row = why.rows[0];
    if (!row) {
      await ensureQuotaDay(q, r.day);
      continue;
    }
    if (row.over_quota) return { ok: false, reason: 'quota', callLimit: row.call_limit, used: row.used };
    const wait = Number(row.wait_seconds);
    // No wait left: the row moved between the two statements (it was just created, or a
    // slot came free); try again rather than report a wait of nothing.
    if (wait > 0 || attempt >= 20) return { ok: false, reason: 'rate', waitMs: Math.max(1, Math.ceil(wait * 1000)) };
  }
}

const HOLD_RATE = `
  UPDATE api_quota_days SET rate_tat = greatest(rate_tat, clock_timestamp() + make_interval(secs => $2::float8))
   WHERE quota_day = $1`;

/** Holds every replica's next request back for `seconds` (the API said its minute is nearly used up). */
export async function holdRate(q: Queryable, day: string, seconds: number): Promise<void> {
  await q.query(HOLD_RATE, [day, seconds]);
}

// The row and the day's counter change together, by the difference between what the row
// counted and what it counts now. Only a row still 'sent' is settled: one the API's count
// has already settled (reconciled) keeps that figure.
const SETTLE = `
  WITH prev AS (
    SELECT id, cost FROM api_calls WHERE id = $1 AND outcome = 'sent' FOR UPDATE),
  row AS (
    UPDATE api_calls c
       SET cost = coalesce($2, c.cost), outcome = $3, http_status = $4, duration_ms = $5, error = $6, settled_at = clock_timestamp()
      FROM prev WHERE c.id = prev.id
    RETURNING c.quota_day, c.cost - prev.cost AS delta),
  -- The day's row (every replica's reservations go through it) is only locked when the
  -- request cost something else than reserved: an error, an unknown ticker.
  day AS (
    UPDATE api_quota_days d SET reserved_calls = d.reserved_calls + row.delta
      FROM row WHERE d.quota_day = row.quota_day AND row.delta <> 0)
  SELECT count(*)::int AS settled FROM row`;

/** Records what became of a request; false when the row was no longer waiting for it. */
export async function settleCall(
  q: Queryable,
  callId: number,
  o: CallOutcome,
  durationMs: number,
  error: string | null,
): Promise<boolean> {
  const cost = o.outcome === 'answered' ? o.charged : o.outcome === 'not_sent' ? 0 : null;
  const status = o.outcome === 'answered' ? o.httpStatus : null;
  const r = await q.query<{ settled: number }>(SETTLE, [
    callId,
    cost,
    o.outcome,
    status,
    Math.round(durationMs),
    error,
  ]);
  return r.rows[0]?.settled === 1;
}

const USAGE = `
  SELECT quota_day, reserved_calls, external_calls, api_reported, api_daily_limit, call_limit,
         reserved_calls + external_calls AS used
    FROM api_quota_days WHERE quota_day = $1`;

export async function quotaUsage(q: Queryable, day: string): Promise<QuotaUsage> {
  await ensureQuotaDay(q, day);
  return readUsage(q, day);
}

/** The day's usage; its row must exist. */
async function readUsage(q: Queryable, day: string): Promise<QuotaUsage> {
  const { rows } = await q.query(USAGE, [day]);
  const r = rows[0];
  return {
    quotaDay: day,
    reservedCalls: r.reserved_calls,
    externalCalls: r.external_calls,
    apiReported: r.api_reported,
    used: r.used,
    apiDailyLimit: r.api_daily_limit,
    callLimit: r.call_limit,
  };
}

// --- reconciliation with the API's own count (/user apiRequests) ----------------------------
//
// Two things are learnt from the API's count A of a day:
// 1. Requests whose outcome we do not know (their process died before the answer was
//    written, or nothing came back in time) and that are certainly over (past their
//    deadline) are settled: what A shows beyond every call whose cost we know (K, read
//    BEFORE A was asked for) is theirs, up to what they had reserved. That is exact only if
//    nothing of ours happened meanwhile: no request in flight when K was read, and no
//    request reserved or answered between reading K and reading A (the day's fingerprint
//    is the same after). Otherwise nothing is settled this time: they stay counted at their
//    reserved cost (the safe side) until a quiet moment, at the latest after the run.
//    Another user of the key calling meanwhile can only make A larger: the settled rows
//    then count more than the API charged them, never less.
// 2. Calls the API counted that we did not reserve came from another user of the key:
//    they count against our budget too (external_calls). Calls we reserved that the API
//    has not counted yet (in flight) are not subtracted: the budget errs on the side of
//    spending less.

/** Per day: the known ledger total, the unsettled requests past their deadline, and what tells a quiet day. */
export type UncertainSnapshot = Map<
  string,
  { known: number; callIds: number[]; inFlight: number; fingerprint: string }
>;

// The /user calls of the reconciliation itself (free) are left out of the fingerprint.
const FINGERPRINT = `count(*) FILTER (WHERE endpoint <> 'user') || ':' || coalesce(max(id) FILTER (WHERE endpoint <> 'user'), 0)
  || ':' || coalesce(sum(cost) FILTER (WHERE endpoint <> 'user'), 0) || ':' || count(*) FILTER (WHERE outcome = 'sent' AND endpoint <> 'user')`;

const UNCERTAIN_SNAPSHOT = `
  SELECT quota_day AS day,
         coalesce(sum(cost) FILTER (WHERE outcome IN ('answered', 'not_sent', 'reconciled')), 0)::int AS known,
         coalesce(array_agg(id ORDER BY id) FILTER (WHERE outcome IN ('sent', 'no_answer') AND deadline_at < clock_timestamp()), '{}') AS call_ids,
         count(*) FILTER (WHERE outcome = 'sent' AND deadline_at >= clock_timestamp() AND endpoint <> 'user')::int AS in_flight,
         ${FINGERPRINT} AS fingerprint
    FROM api_calls
   WHERE quota_day IN (SELECT DISTINCT quota_day FROM api_calls
                        WHERE outcome IN ('sent', 'no_answer') AND deadline_at < clock_timestamp())
     -- A day before the last one the API reported is over: its count can no longer be had,
     -- and its unknown requests stay counted at their reserved cost.
     AND quota_day >= (SELECT coalesce(max(quota_day), '-infinity') FROM api_quota_days WHERE api_reported IS NOT NULL)
   GROUP BY quota_day`;

const DAY_FINGERPRINT = `SELECT ${FINGERPRINT} AS fingerprint FROM api_calls WHERE quota_day = $1`;

/** Taken before the API is asked for its count (see above). */
export async function uncertainSnapshot(q: Queryable): Promise<UncertainSnapshot> {
  const { rows } = await q.query<{
    day: string;
    known: number;
    call_ids: Array<string | number>;
    in_flight: number;
    fingerprint: string;
  }>(UNCERTAIN_SNAPSHOT);
  return new Map(
    rows.map((r) => [
      r.day,
      { known: r.known, callIds: r.call_ids.map(Number), inFlight: r.in_flight, fingerprint: r.fingerprint },
    ]),
  );
}

// 'sent' first (a process died waiting: the API most likely received the request), then
// 'no_answer', oldest first. Only the day's total is exact; the shares are an estimate.
const UNCERTAIN_CALLS = `
  SELECT id, cost FROM api_calls
   WHERE id = ANY($1::bigint[]) AND outcome IN ('sent', 'no_answer')
   ORDER BY (outcome = 'sent') DESC, id FOR UPDATE`;

const ATTRIBUTE = `
  UPDATE api_calls c
     SET cost = u.share, outcome = 'reconciled', settled_at = clock_timestamp(),
         error = coalesce(c.error || '; ', '') || 'outcome unknown (' || c.outcome || '): '
                 || u.share || ' of ' || c.cost || ' calls attributed by the API''s count'
    FROM unnest($1::bigint[], $2::int[]) AS u(id, share)
   WHERE c.id = u.id`;

const LOWER_COUNTER = `UPDATE api_quota_days SET reserved_calls = reserved_calls - $2 WHERE quota_day = $1`;

const RECONCILE_EXTERNAL = `
  UPDATE api_quota_days
     SET api_reported = $2,
         external_calls = greatest(external_calls, $2 - reserved_calls),
         reconciled_at = now()
   WHERE quota_day = $1`;

export interface Reconciliation extends QuotaUsage {
  /** Requests of unknown outcome settled against the API's count. */
  settledCalls: number;
  /** Requests of unknown outcome left for a quiet moment (others were in flight). */
  unsettledBusy: number;
  /** What they had reserved, and what of it was attributed to them. */
  settledReserved: number;
  settledAttributed: number;
}

/**
 * Brings the day's counter in line with the API's count `apiRequests`. `snapshot` must
 * have been taken before the API was asked (without one, nothing is settled).
 */
export async function reconcileWithApi(
  pool: Db,
  day: string,
  apiRequests: number,
  snapshot?: UncertainSnapshot,
): Promise<Reconciliation> {
  await ensureQuotaDay(pool, day);
  const before = snapshot?.get(day);
  const settled = await inTransaction(pool, async (c) => {
    let calls = 0,
      reserved = 0,
      attributed = 0,
      busy = 0;
    const quiet =
      before !== undefined &&
      before.inFlight === 0 &&
      (await c.query<{ fingerprint: string }>(DAY_FINGERPRINT, [day])).rows[0]?.fingerprint === before.fingerprint;
    if (before && before.callIds.length > 0 && !quiet) busy = before.callIds.length;
    if (before && before.callIds.length > 0 && quiet) {
      await lockRunsOfCalls(c, before.callIds);
      const rows = (await c.query<{ id: number; cost: number }>(UNCERTAIN_CALLS, [before.callIds])).rows;
      let left = Math.max(0, apiRequests - before.known);
      const shares = rows.map((r) => {
        const share = Math.min(r.cost, left);
        left -= share;
        return share;
      });
      if (rows.length > 0) {
        await c.query(ATTRIBUTE, [rows.map((r) => r.id), shares]);
        calls = rows.length;
        reserved = rows.reduce((a, r) => a + r.cost, 0);
        attributed = shares.reduce((a, b) => a + b, 0);
        await c.query(LOWER_COUNTER, [day, reserved - attributed]);
        await resumFinishedRuns(
          c,
          rows.map((r) => r.id),
        );
      }
    }
    await c.query(RECONCILE_EXTERNAL, [day, apiRequests]);
    return { settledCalls: calls, unsettledBusy: busy, settledReserved: reserved, settledAttributed: attributed };
  });
  return { ...(await readUsage(pool, day)), ...settled };
}

const CALLS_OF_EXECUTION = `
  SELECT endpoint, count(*)::int AS requests, coalesce(sum(cost), 0)::int AS calls
    FROM api_calls WHERE execution_id = $1 GROUP BY endpoint ORDER BY endpoint`;

export async function callsOfExecution(
  q: Queryable,
  executionId: number,
): Promise<Array<{ endpoint: string; requests: number; calls: number }>> {
  return (await q.query(CALLS_OF_EXECUTION, [executionId])).rows;
}

const SET_DAY_LIMITS = `
  INSERT INTO api_quota_days (quota_day, api_daily_limit, call_limit) VALUES ($1, $2, $3)
  ON CONFLICT (quota_day) DO UPDATE SET api_daily_limit = EXCLUDED.api_daily_limit, call_limit = EXCLUDED.call_limit`;

/** The day's limits from the plan: the API's own, and what reservations may reach. */
export async function setDayLimits(
  q: Queryable,
  day: string,
  apiLimit: number | null,
  callLimit: number,
): Promise<void> {
  await q.query(SET_DAY_LIMITS, [day, apiLimit, callLimit]);
}
