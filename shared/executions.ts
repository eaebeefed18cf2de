/** process_executions: one row per run, opened and closed here. */
import type { Queryable } from './db.js';

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
export async function openRun(q: Queryable, r: {
  processName: string; callId: string | null; trigger: string; parameters: object; asOf: string; parentExecutionId?: number | null; step?: string;
}): Promise<OpenRunResult> {
  const { rows } = await q.query<Execution>(INSERT_RUN, [r.processName, r.callId, r.trigger, JSON.stringify(r.parameters), r.asOf, r.parentExecutionId ?? null, r.step ?? null]);
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

const SET_QUOTA_DAY = `UPDATE process_executions SET quota_day = $2 WHERE execution_id = $1`;

export async function setQuotaDay(q: Queryable, executionId: number, day: string): Promise<void> {
  await q.query(SET_QUOTA_DAY, [executionId, day]);
}

const SET_RUN_PLAN = `UPDATE process_executions SET api_plan = $2 WHERE execution_id = $1`;

/** The plan figures a run budgeted with, and what the plan left out. */
export async function setRunPlan(q: Queryable, executionId: number, plan: object): Promise<void> {
  await q.query(SET_RUN_PLAN, [executionId, JSON.stringify(plan)]);
}

const FINISH_RUN = `
  UPDATE process_executions
     SET status = $2, finished_at = now(), last_progress_at = now(), current_step = $3,
         assets_processed = $4, assets_failed = $5, assets_skipped = $6, api_calls_used = $7,
         error_message = $8, assets_with_warnings = $9
   WHERE execution_id = $1 AND status = 'running'
  RETURNING *`;

export async function finishRun(q: Queryable, executionId: number, f: {
  status: 'success' | 'partial' | 'failed'; step: string; processed: number; failed: number; skipped: number; apiCalls: number; error: string | null;
  warnings?: number;
}): Promise<Execution | null> {
  const { rows } = await q.query<Execution>(FINISH_RUN, [executionId, f.status, f.step, f.processed, f.failed, f.skipped, f.apiCalls, f.error, f.warnings ?? 0]);
  return rows[0] ?? null;
}

const FAIL_RUN = `
  UPDATE process_executions SET status = 'failed', finished_at = now(), error_message = $2
   WHERE execution_id = $1 AND status = 'running'`;

/** A run that cannot go on (the key was refused, the plan could not be written). */
export async function failRun(q: Queryable, executionId: number, error: string): Promise<void> {
  await q.query(FAIL_RUN, [executionId, error]);
}
