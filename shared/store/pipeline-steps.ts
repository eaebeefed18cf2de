/**
 * The step ledger: one row per (run, step, shard), the idempotency key of every
 * invocation. OpenFaaS CE delivers an async call twice when it runs long, so a step
 * first claims its row: a done row answers with its stored result, a row another copy is
 * working on (live lease) answers "busy", and only a claim does the work.
 */
import type { Queryable } from '../platform/db.js';
import { CHAINED_STEPS, sqlStepList } from '../platform/invoke.js';

export type StepClaim = { state: 'claimed'; attempts: number } | { state: 'done'; result: unknown } | { state: 'busy' };

// started_at and finished_at are read from the clock when the statement runs, not when its
// transaction began (now()): a step's time is then what it took, not its first transaction's age.
const CLAIM_STEP = `
  INSERT INTO pipeline_steps AS s (execution_id, step, shard, status, attempts, lease_expires_at, started_at)
  VALUES ($1, $2, $3, 'running', 1, now() + make_interval(secs => $4::float8), clock_timestamp())
  ON CONFLICT (execution_id, step, shard) DO UPDATE
     SET status = 'running', attempts = s.attempts + 1,
         lease_expires_at = now() + make_interval(secs => $4::float8),
         started_at = coalesce(s.started_at, clock_timestamp()), updated_at = now()
   WHERE s.status IN ('pending', 'failed')
      OR (s.status = 'running' AND s.lease_expires_at < now())
  RETURNING attempts`;

// The claim's attempt number identifies the claimant: a copy whose lease ran out and was
// claimed again by another does not renew the other's lease.
const RENEW_STEP_LEASE = `
  UPDATE pipeline_steps SET lease_expires_at = now() + make_interval(secs => $5::float8)
   WHERE execution_id = $1 AND step = $2 AND shard = $3 AND status = 'running' AND attempts = $4`;

/**
 * The longest a step may hold its lease: past it the lease is no longer renewed, so a step
 * that never finishes (whatever keeps it busy) lets its lease run out, is re-driven, and is
 * given up after its attempts, freeing the run's slot, instead of holding it for good.
 */
const STEP_MAX_SECONDS = 30 * 60;

/**
 * Renews the claimed step's lease a third of the way through it, until the returned
 * function is called (the step ended) or STEP_MAX_SECONDS have passed. Renewal failures
 * are left to the next tick.
 */
export function holdStepLease(
  q: Queryable,
  executionId: number,
  step: string,
  shard: string,
  attempts: number,
  leaseSeconds: number,
): () => void {
  const lease = stepLeaseSeconds(leaseSeconds);
  const until = Date.now() + STEP_MAX_SECONDS * 1000;
  const timer = setInterval(
    () => {
      if (Date.now() > until) {
        clearInterval(timer);
        return;
      }
      q.query(RENEW_STEP_LEASE, [executionId, step, shard, attempts, lease]).catch(() => {});
    },
    Math.max(500, (lease * 1000) / 3),
  );
  timer.unref();
  return () => clearInterval(timer);
}

const STEP_ROW = `SELECT status, result FROM pipeline_steps WHERE execution_id = $1 AND step = $2 AND shard = $3`;

/**
 * A step's lease, capped by PIPELINE_STEP_LEASE_MAX_SECONDS when set. The claimant renews
 * it while it works (holdStepLease), so a lease only has to outlast a pause between two
 * renewals, and a step whose process died is claimable again that soon; the chaos suite
 * caps it at a few seconds (a copy still working past the cap only means two copies at
 * once, which every step tolerates).
 */
/** The lease of a chained step: renewed every 40 s while it works (holdStepLease). */
export const STEP_LEASE_SECONDS = 120;

export function stepLeaseSeconds(leaseSeconds: number): number {
  const cap = Number(process.env.PIPELINE_STEP_LEASE_MAX_SECONDS);
  return Number.isFinite(cap) && cap > 0 ? Math.min(leaseSeconds, cap) : leaseSeconds;
}

export async function claimStep(
  q: Queryable,
  executionId: number,
  step: string,
  shard: string,
  leaseSeconds: number,
): Promise<StepClaim> {
  const c = await q.query<{ attempts: number }>(CLAIM_STEP, [executionId, step, shard, stepLeaseSeconds(leaseSeconds)]);
  if (c.rowCount === 1) return { state: 'claimed', attempts: c.rows[0]!.attempts };
  const { rows } = await q.query<{ status: string; result: unknown }>(STEP_ROW, [executionId, step, shard]);
  if (rows[0]?.status === 'done') return { state: 'done', result: rows[0].result };
  return { state: 'busy' };
}

/** A step's row as it stands, without claiming it. */
export async function stepState(
  q: Queryable,
  executionId: number,
  step: string,
  shard: string,
): Promise<{ status: string; result: unknown } | null> {
  return (await q.query<{ status: string; result: unknown }>(STEP_ROW, [executionId, step, shard])).rows[0] ?? null;
}

// collect-region's replicas share their region's step: each invocation counts as an
// attempt and marks it running; the region's work items carry the leases.
const MARK_SHARD_RUNNING = `
  UPDATE pipeline_steps SET status = 'running', attempts = attempts + 1, started_at = coalesce(started_at, clock_timestamp()), updated_at = now()
   WHERE execution_id = $1 AND step = $2 AND shard = $3 AND status <> 'done'`;

export async function markShardRunning(q: Queryable, executionId: number, step: string, shard: string): Promise<void> {
  await q.query(MARK_SHARD_RUNNING, [executionId, step, shard]);
}

// A step done without a claim (init-execution's, in the transaction that opens the run)
// started when that transaction did.
const COMPLETE_STEP = `
  UPDATE pipeline_steps SET status = 'done', result = $4, started_at = coalesce(started_at, now()),
         finished_at = clock_timestamp(), updated_at = now(), lease_expires_at = NULL
   WHERE execution_id = $1 AND step = $2 AND shard = $3 AND status <> 'done'
  RETURNING 1`;

/** Marks a step done with its result; false when it already was (a duplicate finished first). */
export async function completeStep(
  q: Queryable,
  executionId: number,
  step: string,
  shard: string,
  result: unknown,
): Promise<boolean> {
  const r = await q.query(COMPLETE_STEP, [executionId, step, shard, JSON.stringify(result)]);
  return r.rowCount === 1;
}

const FAIL_STEP = `
  UPDATE pipeline_steps SET status = 'failed', error_message = $4, updated_at = now(), lease_expires_at = NULL
   WHERE execution_id = $1 AND step = $2 AND shard = $3 AND status <> 'done'`;

export async function failStep(
  q: Queryable,
  executionId: number,
  step: string,
  shard: string,
  error: string,
): Promise<void> {
  await q.query(FAIL_STEP, [executionId, step, shard, error]);
}

const ENSURE_PENDING = `
  INSERT INTO pipeline_steps (execution_id, step, shard) VALUES ($1, $2, $3)
  ON CONFLICT (execution_id, step, shard) DO NOTHING`;

/** Records that a step is due, before it is invoked: a lost invocation can then be re-driven. */
export async function ensureStepPending(q: Queryable, executionId: number, step: string, shard = ''): Promise<void> {
  await q.query(ENSURE_PENDING, [executionId, step, shard]);
}

const SHARDS_OPEN = `
  SELECT count(*) FILTER (WHERE status = 'pending' OR (status = 'running' AND lease_expires_at < now()))::int AS open,
         count(*) FILTER (WHERE status = 'running' AND lease_expires_at >= now())::int AS held
    FROM pipeline_steps
   WHERE execution_id = $1 AND step = $2 AND split_part(shard, ':', 1) = ANY($3::text[])`;

/**
 * A sharded step's shards of these exchanges (shard 'EXCHANGE:...') that are still to be
 * made (open: pending, or held by a lease that ran out) or being made (held). Failed ones
 * count as made: they are not tried again in the run.
 */
export async function shardsLeft(
  q: Queryable,
  executionId: number,
  step: string,
  exchanges: readonly string[],
): Promise<{ open: number; held: number }> {
  return (await q.query<{ open: number; held: number }>(SHARDS_OPEN, [executionId, step, exchanges])).rows[0]!;
}

/**
 * A step is given up after this many attempts (executions.ts fails its run), except
 * collect-region: its attempts count every invocation (each continuation, duplicate and
 * re-drive that found its items still leased by a dead replica), not failures, so a long or
 * often-interrupted region reached the cap while it was making progress, and its run then
 * stayed 'running' for good (and every later trigger got 409). Its work items keep their
 * own attempts.
 */
export const MAX_STEP_ATTEMPTS = 10;

/**
 * SQL condition (step alias s, run alias e, $1 = seconds): a step that no live process
 * holds and that neither it nor its run has moved for that long. resume-runs re-drives
 * such steps; executions.ts gives up the runs whose stalled step used up its attempts.
 */
export const STALLED = `s.status <> 'done'
     AND s.updated_at < now() - make_interval(secs => $1::float8)
     AND (s.status IN ('pending', 'failed') OR s.lease_expires_at IS NULL OR s.lease_expires_at < now())
     AND e.last_progress_at < now() - make_interval(secs => $1::float8)`;

// Steps not done whose row has not moved for staleSeconds: pending (the invocation was
// lost), failed (the step gave up), or running with an expired lease (its process died).
// The daily run must still be running; calc-indicators runs after the run has finished.
const STALLED_STEPS = `
  UPDATE pipeline_steps s SET updated_at = now()
    FROM process_executions e
   WHERE e.execution_id = s.execution_id AND ${STALLED}
     AND s.step IN (${sqlStepList(CHAINED_STEPS)})
     AND (s.attempts < ${MAX_STEP_ATTEMPTS} OR s.step = 'collect-region')
     AND (e.status = 'running' OR s.step = 'calc-indicators')
  RETURNING s.execution_id, s.step, s.shard`;

/** Steps to re-drive (their rows touched, so that two sweeps do not re-drive them twice at once). */
export async function stalledSteps(
  q: Queryable,
  staleSeconds: number,
): Promise<Array<{ execution_id: number; step: string; shard: string }>> {
  return (await q.query<{ execution_id: number; step: string; shard: string }>(STALLED_STEPS, [staleSeconds])).rows;
}
