/**
 * process_executions: one row per run. Every write to the table is here: runs are opened,
 * touched, given their day and plan, stopped, counted down, finished, failed and given up.
 */

import type { ExchangeCode } from '../domain/exchanges.js';
import type { Queryable } from '../platform/db.js';
import { CHAINED_STEPS, sqlStepList } from '../platform/invoke.js';
import { MAX_STEP_ATTEMPTS, STALLED } from './pipeline-steps.js';

export const DAILY_PIPELINE = 'daily_pipeline';
export const CALC_INDICATORS = 'calc_indicators';

export interface Execution {
  execution_id: number;
  process_name: string;
  call_id: string | null;
  trigger_kind: string;
  parameters: Record<string, unknown>;
  status: 'running' | 'success' | 'partial' | 'failed';
  as_of: string;
  /** Each exchange's trading day (discover-delta sets it; null before). */
  as_of_by_exchange: Partial<Record<ExchangeCode, string>> | null;
  quota_day: string | null;
  parent_execution_id: number | null;
  regions_pending: number;
  current_step: string | null;
  started_at: Date;
  finished_at: Date | null;
  assets_processed: number;
  assets_failed: number;
  assets_skipped: number;
  api_calls_used: number;
  error_message: string | null;
  /** Why collection stopped early (the API's limit, a refused key); null while it has not. */
  stop_reason: string | null;
}

const INSERT_RUN = `
  INSERT INTO process_executions (process_name, call_id, trigger_kind, parameters, as_of, parent_execution_id, current_step)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (process_name) WHERE status = 'running' DO NOTHING
  RETURNING *`;

const RUNNING_RUN = `SELECT * FROM process_executions WHERE process_name = $1 AND status = 'running'`;

export type OpenRunResult = { opened: true; run: Execution } | { opened: false; running: Execution | null };

/**
 * Opens a run. The unique partial index on running runs makes this the one place where
 * "at most one active run" is decided: a second trigger loses on the index, not on a race.
 */
export async function openRun(
  q: Queryable,
  r: {
    processName: string;
    callId: string | null;
    trigger: string;
    parameters: object;
    asOf: string;
    parentExecutionId?: number | null;
    step?: string;
  },
): Promise<OpenRunResult> {
  const { rows } = await q.query<Execution>(INSERT_RUN, [
    r.processName,
    r.callId,
    r.trigger,
    JSON.stringify(r.parameters),
    r.asOf,
    r.parentExecutionId ?? null,
    r.step ?? null,
  ]);
  if (rows[0]) return { opened: true, run: rows[0] };
  const running = await q.query<Execution>(RUNNING_RUN, [r.processName]);
  return { opened: false, running: running.rows[0] ?? null };
}

const GET_RUN = `SELECT * FROM process_executions WHERE execution_id = $1`;

export async function getRun(q: Queryable, executionId: number): Promise<Execution | null> {
  return (await q.query<Execution>(GET_RUN, [executionId])).rows[0] ?? null;
}

const TOUCH_RUN = `UPDATE process_executions SET current_step = $2, last_progress_at = now() WHERE execution_id = $1`;

/** Records progress: the re-drive looks for runs whose last progress is old. */
export async function touchRun(q: Queryable, executionId: number, step: string): Promise<void> {
  await q.query(TOUCH_RUN, [executionId, step]);
}

/** A daily run's parameters, as init-execution recorded them. */
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

const SET_TRADING_DAYS = `UPDATE process_executions SET as_of = $2, as_of_by_exchange = $3 WHERE execution_id = $1`;

/** The run's trading day of each exchange, and the latest of them as its as_of. */
export async function setTradingDays(
  q: Queryable,
  executionId: number,
  days: Record<ExchangeCode, string>,
  asOf: string,
): Promise<void> {
  await q.query(SET_TRADING_DAYS, [executionId, asOf, JSON.stringify(days)]);
}

/** The day an exchange's prices are brought up to in this run. */
export function asOfFor(run: Pick<Execution, 'as_of' | 'as_of_by_exchange'>, exchange: string): string {
  return run.as_of_by_exchange?.[exchange as ExchangeCode] ?? run.as_of;
}

const SET_QUOTA_DAY = `UPDATE process_executions SET quota_day = $2 WHERE execution_id = $1`;

export async function setQuotaDay(q: Queryable, executionId: number, day: string): Promise<void> {
  await q.query(SET_QUOTA_DAY, [executionId, day]);
}

// Locked before a run's ledger is summed: settling requests of unknown outcome changes a
// run's ledger and its total together under this lock.
const LOCK_RUN = `SELECT stop_reason, error_message, api_plan FROM process_executions WHERE execution_id = $1 FOR UPDATE`;

export async function lockRun(
  q: Queryable,
  executionId: number,
): Promise<{ stop_reason: string | null; error_message: string | null; api_plan: Record<string, unknown> | null }> {
  return (await q.query(LOCK_RUN, [executionId])).rows[0];
}

const SET_STOP_REASON = `
  UPDATE process_executions SET stop_reason = coalesce(stop_reason, $2), error_message = coalesce(error_message, $3) WHERE execution_id = $1`;

/** Why collection stopped early (the first reason stays): quota, or auth. */
export async function setStopReason(
  q: Queryable,
  executionId: number,
  reason: 'quota' | 'auth',
  message: string,
): Promise<void> {
  await q.query(SET_STOP_REASON, [executionId, reason, message]);
}

const COUNT_REGION_DOWN = `
  UPDATE process_executions SET regions_pending = regions_pending - 1, last_progress_at = now()
   WHERE execution_id = $1 RETURNING regions_pending`;

/** One more region done: the regions still pending (0 for the last one). */
export async function countRegionDown(q: Queryable, executionId: number): Promise<number | null> {
  return (
    (await q.query<{ regions_pending: number }>(COUNT_REGION_DOWN, [executionId])).rows[0]?.regions_pending ?? null
  );
}

const SET_REGIONS_PENDING = `UPDATE process_executions SET regions_pending = $2 WHERE execution_id = $1`;

/** The fan-in counter: how many regions must finish before finalize. */
export async function setRegionsPending(q: Queryable, executionId: number, regions: number): Promise<void> {
  await q.query(SET_REGIONS_PENDING, [executionId, regions]);
}

const SET_RUN_PLAN = `UPDATE process_executions SET api_plan = $2 WHERE execution_id = $1`;

/** The plan figures a run budgeted with, and what the plan left out. */
export async function setRunPlan(q: Queryable, executionId: number, plan: object): Promise<void> {
  await q.query(SET_RUN_PLAN, [executionId, JSON.stringify(plan)]);
}

const FINISH_RUN = `
  UPDATE process_executions
     SET status = $2, finished_at = clock_timestamp(), last_progress_at = now(), current_step = $3,
         assets_processed = $4, assets_failed = $5, assets_skipped = $6, api_calls_used = $7,
         error_message = $8, assets_with_warnings = $9,
         price_corrections = $10, quality_errors = $11, quality_warnings = $12
   WHERE execution_id = $1 AND status = 'running'
  RETURNING *`;

export async function finishRun(
  q: Queryable,
  executionId: number,
  f: {
    status: 'success' | 'partial' | 'failed';
    step: string;
    processed: number;
    failed: number;
    skipped: number;
    apiCalls: number;
    error: string | null;
    warnings?: number;
    /** Bars the API answered differently when asked again. */
    corrections?: number;
    /** Findings the run's checks opened, by severity. */
    qualityErrors?: number;
    qualityWarnings?: number;
  },
): Promise<Execution | null> {
  const { rows } = await q.query<Execution>(FINISH_RUN, [
    executionId,
    f.status,
    f.step,
    f.processed,
    f.failed,
    f.skipped,
    f.apiCalls,
    f.error,
    f.warnings ?? 0,
    f.corrections ?? 0,
    f.qualityErrors ?? 0,
    f.qualityWarnings ?? 0,
  ]);
  return rows[0] ?? null;
}

const FAIL_RUN = `
  UPDATE process_executions SET status = 'failed', finished_at = now(), error_message = $2
   WHERE execution_id = $1 AND status = 'running'`;

/** A run that cannot go on (the key was refused, the plan could not be written). */
export async function failRun(q: Queryable, executionId: number, error: string): Promise<void> {
  await q.query(FAIL_RUN, [executionId, error]);
}

// An indicator run whose invocation died (killed, OOM) stays 'running', and the one-running
// index then refuses every later indicator run, chained or manual, for good. Such a run is
// closed before a new one opens: the one of our own parent (we hold its step's claim, so
// the invocation that opened it lost the claim), or any that made no progress (each batch
// touches it) for longer than the step's lease.
const CLOSE_ABANDONED = `
  UPDATE process_executions SET status = 'failed', finished_at = now(),
         error_message = 'abandoned: its invocation stopped before finishing (no progress since ' || last_progress_at || ')'
   WHERE process_name = '${CALC_INDICATORS}' AND status = 'running'
     AND (parent_execution_id = $1 OR last_progress_at < now() - make_interval(secs => $2::float8))
  RETURNING execution_id`;

/** Closes abandoned indicator runs (see above); their ids. */
export async function closeAbandonedIndicatorRuns(
  q: Queryable,
  parent: number | null,
  afterSeconds: number,
): Promise<number[]> {
  return (await q.query<{ execution_id: number }>(CLOSE_ABANDONED, [parent, afterSeconds])).rows.map(
    (r) => r.execution_id,
  );
}

const TOUCH_PROGRESS = `UPDATE process_executions SET last_progress_at = now() WHERE execution_id = $1`;

/** Progress of a run without a change of step (an indicator run's batches). */
export async function touchProgress(q: Queryable, executionId: number): Promise<void> {
  await q.query(TOUCH_PROGRESS, [executionId]);
}

// A daily run whose stalled step has used up its attempts is not re-driven again: it is
// closed as failed, with the reason, so that it does not hold the one-running-run slot for
// good (every later trigger would get 409 until someone edited the database). The next
// run plans its unfinished work again.
// Whose exhausted attempts fail the run: not collect-region (its attempts count invocations,
// see MAX_STEP_ATTEMPTS) nor calc-indicators (it runs after the run has finished).
const GIVES_UP_ITS_RUN = CHAINED_STEPS.filter((s) => s !== 'collect-region' && s !== 'calc-indicators');

const GIVE_UP_RUNS = `
  UPDATE process_executions e
     SET status = 'failed', finished_at = now(),
         error_message = coalesce(e.error_message || '; ', '') || 'given up: step ' || g.step || ' made no progress after ' || g.attempts || ' attempts'
           || coalesce(' (last error: ' || g.error_message || ')', '')
    FROM (SELECT DISTINCT ON (s.execution_id) s.execution_id, s.step, s.attempts, s.error_message
            FROM pipeline_steps s JOIN process_executions e ON e.execution_id = s.execution_id
           WHERE ${STALLED} AND s.attempts >= ${MAX_STEP_ATTEMPTS}
             AND s.step IN (${sqlStepList(GIVES_UP_ITS_RUN)})
           ORDER BY s.execution_id, s.updated_at) g
   WHERE e.execution_id = g.execution_id AND e.status = 'running'
  RETURNING e.execution_id, g.step, g.attempts`;

/** Closes as failed the runs whose stalled step used up its attempts (see above). */
export async function giveUpStalledRuns(
  q: Queryable,
  staleSeconds: number,
): Promise<Array<{ execution_id: number; step: string; attempts: number }>> {
  return (await q.query<{ execution_id: number; step: string; attempts: number }>(GIVE_UP_RUNS, [staleSeconds])).rows;
}

// Runs are locked first, in id order (finalize locks its run before it sums the ledger),
// so that a run's total and its ledger rows change together.
const LOCK_RUNS_OF_CALLS = `
  SELECT execution_id FROM process_executions
   WHERE execution_id IN (SELECT execution_id FROM api_calls WHERE id = ANY($1::bigint[]))
   ORDER BY execution_id FOR UPDATE`;

/** Locks the runs of these ledger rows, in id order (before their ledger changes). */
export async function lockRunsOfCalls(q: Queryable, callIds: number[]): Promise<void> {
  await q.query(LOCK_RUNS_OF_CALLS, [callIds]);
}

// A run finalize has already summed gets its total again from the ledger.
const RESUM_FINISHED_RUNS = `
  UPDATE process_executions e
     SET api_calls_used = (SELECT coalesce(sum(cost), 0) FROM api_calls WHERE execution_id = e.execution_id)
   WHERE e.execution_id IN (SELECT execution_id FROM api_calls WHERE id = ANY($1::bigint[]))
     AND EXISTS (SELECT 1 FROM pipeline_steps s WHERE s.execution_id = e.execution_id AND s.step = 'finalize' AND s.status = 'done')`;

/** Finished runs of these ledger rows get their API total again from the ledger. */
export async function resumFinishedRuns(q: Queryable, callIds: number[]): Promise<void> {
  await q.query(RESUM_FINISHED_RUNS, [callIds]);
}

/**
 * The rows of `alias` (a table with an execution_id) that belong to a run that finished
 * more than $1 days ago (sql/014_retention.sql): what each owner's retention deletes. A
 * running run is never past retention, however old.
 */
export function ofRunsFinishedBefore(alias: string): string {
  return `EXISTS (SELECT 1 FROM process_executions e
                  WHERE e.execution_id = ${alias}.execution_id AND e.status <> 'running'
                    AND e.finished_at < now() - make_interval(days => $1::int))`;
}

const SET_REASK_ALLOWED = `UPDATE process_executions SET reask_allowed = $2 WHERE execution_id = $1`;

/** The calls the run may spend asking quarantined bars once more (what check-quota left of the re-read budget). */
export async function setReaskAllowed(q: Queryable, executionId: number, calls: number): Promise<void> {
  await q.query(SET_REASK_ALLOWED, [executionId, calls]);
}

const TAKE_REASK_CALLS = `
  WITH cur AS (SELECT reask_allowed - reask_used AS left_over FROM process_executions WHERE execution_id = $1 FOR UPDATE)
  UPDATE process_executions p SET reask_used = p.reask_used + least($2::int, cur.left_over)
    FROM cur WHERE p.execution_id = $1 AND cur.left_over > 0
  RETURNING least($2::int, cur.left_over) AS taken`;

/** Takes up to `n` of the run's re-ask calls, atomically; returns how many it got (0: none left). */
export async function takeReaskCalls(q: Queryable, executionId: number, n: number): Promise<number> {
  const r = await q.query<{ taken: number }>(TAKE_REASK_CALLS, [executionId, n]);
  return r.rows[0]?.taken ?? 0;
}

const REASK_LEFT = `SELECT greatest(0, reask_allowed - reask_used)::int AS n FROM process_executions WHERE execution_id = $1`;

export async function reaskCallsLeft(q: Queryable, executionId: number): Promise<number> {
  return (await q.query<{ n: number }>(REASK_LEFT, [executionId])).rows[0]?.n ?? 0;
}

const PREVIOUS_DAYS = `
  SELECT coalesce(as_of_by_exchange, '{}'::jsonb) AS days, as_of::text AS as_of FROM process_executions
   WHERE process_name = $2 AND execution_id < $1 AND status IN ('success', 'partial') AND finished_at IS NOT NULL
   ORDER BY execution_id DESC LIMIT 1`;

/**
 * The trading day of each exchange in the last finished run before this one (null: none):
 * the sessions whose first prints were stored on an earlier day, which a re-read can correct.
 */
export async function previousRunDays(
  q: Queryable,
  run: Pick<Execution, 'execution_id' | 'process_name'>,
): Promise<((exchange: string) => string) | null> {
  const r = (
    await q.query<{ days: Record<string, string>; as_of: string }>(PREVIOUS_DAYS, [run.execution_id, run.process_name])
  ).rows[0];
  return r ? (exchange: string) => r.days[exchange] ?? r.as_of : null;
}
