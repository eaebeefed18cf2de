/**
 * init-execution: opens a run and hands it to discover-delta; and the re-drive (mode
 * resume), which finds steps of runs that made no progress for a while and invokes them
 * again, so that a lost async call never leaves a run stuck for good, and settles API
 * requests whose outcome a dead process never wrote.
 */
import { inTransaction } from './db.js';
import type { PipelineContext } from './context.js';
import { DAILY_PIPELINE, openRun } from './executions.js';
import { lastWeekdayOnOrBefore, utcToday } from './exchanges.js';
import type { FunctionResult } from './function-contract.js';
import type { InitExecutionInput } from './input.js';
import type { FunctionName } from './invoke.js';
import { log } from './log.js';
import { settleUnknownCalls } from './reconcile.js';
import { completeStep, ensureStepPending } from './steps.js';

export interface Trigger { callId: string | null; kind: 'cron' | 'manual' | 'resume' }

export async function startRun(ctx: PipelineContext, input: InitExecutionInput, trigger: Trigger): Promise<FunctionResult> {
  if (input.mode === 'resume') return resumeStalledRuns(ctx, input.staleSeconds ?? (input.staleMinutes ?? 15) * 60);
  const asOf = lastWeekdayOnOrBefore(input.asOf ?? utcToday());
  const parameters = {
    mode: input.mode,
    exchanges: input.exchanges ?? null,
    symbols: input.symbols ?? null,
    dryRun: input.dryRun,
    skipExisting: input.skipExisting,
    // Without an explicit asOf, discover-delta takes the trading day from the API's own
    // date (/user apiRequestsDate), so a simulator's clock and the real one are followed alike.
    asOfExplicit: input.asOf !== undefined,
  };
  const outcome = await inTransaction(ctx.pool, async (c) => {
    const r = await openRun(c, { processName: DAILY_PIPELINE, callId: trigger.callId, trigger: trigger.kind, parameters, asOf, step: 'discover-delta' });
    if (!r.opened) return r;
    await ensureStepPending(c, r.run.execution_id, 'init-execution');
    await completeStep(c, r.run.execution_id, 'init-execution', '', { asOf, parameters });
    await ensureStepPending(c, r.run.execution_id, 'discover-delta');
    return r;
  });
  if (!outcome.opened) {
    const running = outcome.running;
    return {
      status: 409,
      body: {
        error: 'run_active',
        reason: running ? `run ${running.execution_id} is still running (step ${running.current_step ?? '?'}, started ${running.started_at.toISOString()})` : 'another run is being opened',
        executionId: running?.execution_id ?? null,
      },
    };
  }
  const run = outcome.run;
  log('info', 'run_opened', { execution_id: run.execution_id, as_of: asOf, mode: input.mode, trigger: trigger.kind, call_id: trigger.callId });
  await ctx.invoke('discover-delta', { executionId: run.execution_id });
  // Without an explicit asOf the trading day is the API's (set by discover-delta).
  return { status: 202, body: { executionId: run.execution_id, status: 'running', asOf: input.asOf ? asOf : null, asOfFrom: input.asOf ? 'request' : 'api', parameters, next: 'discover-delta' } };
}

// Steps not done whose row has not moved for staleSeconds: pending (the invocation was
// lost), failed (the step gave up), or running with an expired lease (its process died).
// The daily run must still be running; calc-indicators runs after the run has finished.
// A step is given up after 10 attempts, except collect-region: its attempts count every
// invocation (each continuation, duplicate and re-drive that found its items still leased
// by a dead replica), not failures, so a long or often-interrupted region reached the cap
// while it was making progress, and its run then stayed 'running' for good (and every
// later trigger got 409). Its work items keep their own attempts.
const STALLED_STEPS = `
  UPDATE pipeline_steps s SET updated_at = now()
    FROM process_executions e
   WHERE e.execution_id = s.execution_id
     AND s.status <> 'done'
     AND s.step IN ('discover-delta', 'check-quota', 'collect-region', 'finalize', 'calc-indicators')
     AND (s.attempts < 10 OR s.step = 'collect-region')
     AND s.updated_at < now() - make_interval(secs => $1::float8)
     AND (s.status IN ('pending', 'failed') OR s.lease_expires_at IS NULL OR s.lease_expires_at < now())
     AND (e.status = 'running' OR s.step = 'calc-indicators')
     AND e.last_progress_at < now() - make_interval(secs => $1::float8)
  RETURNING s.execution_id, s.step, s.shard`;

// A daily run whose stalled step has used up its attempts is not re-driven again: it is
// closed as failed, with the reason, so that it does not hold the one-running-run slot for
// good (every later trigger would get 409 until someone edited the database). The next
// run plans its unfinished work again.
const GIVE_UP_RUNS = `
  UPDATE process_executions e
     SET status = 'failed', finished_at = now(),
         error_message = coalesce(e.error_message || '; ', '') || 'given up: step ' || g.step || ' made no progress after ' || g.attempts || ' attempts'
           || coalesce(' (last error: ' || g.error_message || ')', '')
    FROM (SELECT DISTINCT ON (s.execution_id) s.execution_id, s.step, s.attempts, s.error_message
            FROM pipeline_steps s
           WHERE s.status <> 'done' AND s.attempts >= 10
             AND s.step IN ('discover-delta', 'check-quota', 'finalize')
             AND s.updated_at < now() - make_interval(secs => $1::float8)
             AND (s.status IN ('pending', 'failed') OR s.lease_expires_at IS NULL OR s.lease_expires_at < now())
           ORDER BY s.execution_id, s.updated_at) g
   WHERE e.execution_id = g.execution_id AND e.status = 'running'
     AND e.last_progress_at < now() - make_interval(secs => $1::float8)
  RETURNING e.execution_id, g.step, g.attempts`;

export async function resumeStalledRuns(ctx: PipelineContext, staleSeconds: number): Promise<FunctionResult> {
  const gaveUp = await ctx.pool.query<{ execution_id: number; step: string; attempts: number }>(GIVE_UP_RUNS, [staleSeconds]);
  for (const g of gaveUp.rows) log('error', 'run_given_up', { execution_id: g.execution_id, step: g.step, attempts: g.attempts });
  const { rows } = await ctx.pool.query<{ execution_id: number; step: FunctionName; shard: string }>(STALLED_STEPS, [staleSeconds]);
  for (const r of rows) {
    const body = r.step === 'collect-region' ? { executionId: r.execution_id, region: r.shard } : { executionId: r.execution_id };
    log('warn', 'step_redriven', { execution_id: r.execution_id, step: r.step, shard: r.shard });
    await ctx.invoke(r.step, body);
  }
  // Requests whose process died before their answer was written are settled against the
  // API's count while it is still the API's day (its count covers only the current day).
  const settled = await settleUnknownCalls(ctx);
  return {
    status: 200,
    body: {
      mode: 'resume', staleMinutes: Math.round((staleSeconds / 60) * 100) / 100, staleSeconds,
      redriven: rows.map((r) => ({ executionId: r.execution_id, step: r.step, shard: r.shard || undefined })),
      gaveUp: gaveUp.rows.map((g) => ({ executionId: g.execution_id, step: g.step, attempts: g.attempts })),
      apiCallsSettled: settled ? { quotaDay: settled.quotaDay, apiReported: settled.apiReported, ...settled.settled } : null,
    },
  };
}
