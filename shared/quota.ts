/**
 * The API-call ledger and the per-day budget. A call's cost is reserved before the call is
 * made, in one conditional UPDATE, so replicas running at once can never together pass
 * quota - buffer; a call that cost nothing (an error) gives its reservation back. The same
 * UPDATE spaces requests for the per-minute limit (GCRA), across all replicas.
 */
import type { Queryable } from './db.js';

export interface QuotaUsage {
  quotaDay: string;
  reservedCalls: number;
  externalCalls: number;
  apiReported: number | null;
  used: number;
}

const ENSURE_DAY = `INSERT INTO api_quota_days (quota_day) VALUES ($1) ON CONFLICT (quota_day) DO NOTHING`;

export async function ensureQuotaDay(q: Queryable, day: string): Promise<void> {
  await q.query(ENSURE_DAY, [day]);
}

const RESERVE = `
  UPDATE api_quota_days
     SET reserved_calls = reserved_calls + $2,
         rate_tat = greatest(rate_tat, clock_timestamp()) + make_interval(secs => $4::float8)
   WHERE quota_day = $1
     AND reserved_calls + external_calls + $2 <= $3
     AND rate_tat <= clock_timestamp() + make_interval(secs => $5::float8)
  RETURNING reserved_calls`;

const WHY_NOT = `
  SELECT reserved_calls + external_calls + $2 > $3 AS over_quota,
         greatest(0, extract(epoch FROM rate_tat - clock_timestamp()) - $4::float8) AS wait_seconds
    FROM api_quota_days WHERE quota_day = $1`;

export type Reservation = { ok: true } | { ok: false; reason: 'quota' } | { ok: false; reason: 'rate'; waitMs: number };

/**
 * Reserves `cost` calls of `day` against `limit` and one request slot of the per-minute
 * rate. intervalSeconds = 60 / requests per minute; burstSeconds is the GCRA's tolerance.
 */
export async function reserveCalls(q: Queryable, day: string, cost: number, limit: number, intervalSeconds: number, burstSeconds: number): Promise<Reservation> {
  for (let attempt = 0; ; attempt++) {
    const r = await q.query(RESERVE, [day, cost, limit, intervalSeconds, burstSeconds]);
    if (r.rowCount === 1) return { ok: true };
    const why = await q.query<{ over_quota: boolean; wait_seconds: number }>(WHY_NOT, [day, cost, limit, burstSeconds]);
    const row = why.rows[0];
    if (!row) {
      await ensureQuotaDay(q, day);
      continue;
    }
    if (row.over_quota) return { ok: false, reason: 'quota' };
    const wait = Number(row.wait_seconds);
    // No wait left: the row moved between the two statements (it was just created, or a
    // slot came free); try again rather than report a wait of nothing.
    if (wait > 0 || attempt >= 20) return { ok: false, reason: 'rate', waitMs: Math.max(1, Math.ceil(wait * 1000)) };
  }
}

const REFUND = `UPDATE api_quota_days SET reserved_calls = greatest(0, reserved_calls - $2) WHERE quota_day = $1`;

/** Gives back calls reserved for a request that cost less than reserved (errors cost nothing). */
export async function refundCalls(q: Queryable, day: string, calls: number): Promise<void> {
  if (calls > 0) await q.query(REFUND, [day, calls]);
}

export interface ApiCallRow {
  quotaDay: string;
  endpoint: string;
  target: string | null;
  cost: number;
  httpStatus: number | null;
  durationMs: number;
  executionId: number | null;
  error: string | null;
}

const INSERT_CALL = `
  INSERT INTO api_calls (quota_day, endpoint, target, cost, http_status, duration_ms, execution_id, error)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;

export async function recordApiCall(q: Queryable, c: ApiCallRow): Promise<void> {
  await q.query(INSERT_CALL, [c.quotaDay, c.endpoint, c.target, c.cost, c.httpStatus, Math.round(c.durationMs), c.executionId, c.error]);
}

const USAGE = `
  SELECT quota_day, reserved_calls, external_calls, api_reported,
         reserved_calls + external_calls AS used
    FROM api_quota_days WHERE quota_day = $1`;

export async function quotaUsage(q: Queryable, day: string): Promise<QuotaUsage> {
  await ensureQuotaDay(q, day);
  const { rows } = await q.query(USAGE, [day]);
  const r = rows[0];
  return { quotaDay: day, reservedCalls: r.reserved_calls, externalCalls: r.external_calls, apiReported: r.api_reported, used: r.used };
}

// Calls the API counted that we did not reserve came from another user of the key: they
// count against our budget too. Calls we reserved that the API has not counted yet (in
// flight) are not subtracted: the budget errs on the side of spending less.
const RECONCILE = `
  UPDATE api_quota_days
     SET api_reported = $2,
         external_calls = greatest(external_calls, $2 - reserved_calls),
         reconciled_at = now()
   WHERE quota_day = $1`;

export async function reconcileWithApi(q: Queryable, day: string, apiRequests: number): Promise<QuotaUsage> {
  await ensureQuotaDay(q, day);
  await q.query(RECONCILE, [day, apiRequests]);
  return quotaUsage(q, day);
}

const CALLS_OF_EXECUTION = `
  SELECT endpoint, count(*)::int AS requests, coalesce(sum(cost), 0)::int AS calls
    FROM api_calls WHERE execution_id = $1 GROUP BY endpoint ORDER BY endpoint`;

export async function callsOfExecution(q: Queryable, executionId: number): Promise<Array<{ endpoint: string; requests: number; calls: number }>> {
  return (await q.query(CALLS_OF_EXECUTION, [executionId])).rows;
}
