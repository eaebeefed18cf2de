/**
 * The skeleton every chained step shares, written once, so that a step module holds only
 * what its step decides:
 *
 *   guard      the run must exist and be running; a finished step answers its stored
 *              result (a duplicate delivery), one another copy works on answers 202;
 *   claim      one copy claims (run, step, shard) and renews its lease while it works;
 *              collect-region's replicas share their region instead (their work items
 *              carry the leases);
 *   work       the step's own decisions; it marks itself done inside the transaction that
 *              writes its work (complete), naming the steps it hands over to;
 *   hand-over  after that transaction, the next steps are invoked (they are recorded as
 *              due first, so a lost invocation is re-driven by resume-runs);
 *   failure    a refused key fails the run; a database away answers 503; anything else
 *              marks the step failed (500) for the re-drive;
 *   logging    every line the step writes names it (withLogFunction), and its end is one
 *              line with its figures.
 */

import { EodhdError } from '../eodhd/client.js';
import { isDatabaseUnavailable, type Queryable } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import type { ChainedStep, FunctionName } from '../platform/invoke.js';
import { errorText, log, withLogFunction } from '../platform/log.js';
import { type Execution, failRun, getRun, touchRun } from '../store/executions.js';
import {
  claimStep,
  completeStep,
  ensureStepPending,
  failStep,
  holdStepLease,
  markShardRunning,
  STEP_LEASE_SECONDS,
  stepState,
} from '../store/pipeline-steps.js';
import type { PipelineContext } from './context.js';

export type StepName = ChainedStep;

/** An invocation the step hands over to: the step (and shard, for collect-region's regions) is recorded as due. */
export interface Handover {
  fn: FunctionName;
  body: { executionId: number; region?: string };
}

export interface StepScope {
  ctx: PipelineContext;
  run: Execution;
  executionId: number;
  step: StepName;
  shard: string;
  /**
   * Marks the step done with its result and records the hand-overs as due, in the caller's
   * transaction (with the work it wrote); the runner invokes them once that is committed.
   */
  complete(q: Queryable, result: object, next: Handover[]): Promise<void>;
  /** Hand-overs to invoke after the step without completing it (collect-region's continuation, finalize after the fan-in). */
  handOver(next: Handover[]): void;
}

export interface StepOutcome {
  body: unknown;
  status?: number;
  /** The line logged when the step ends: its event and figures. */
  logged: [event: string, fields: Record<string, unknown>];
}

export interface StepOptions {
  /** collect-region: its replicas share the region's step (no claim, no step lease). */
  shared?: boolean;
  /** calc-indicators: runs after its run has finished. */
  allowFinished?: boolean;
}

export async function runStep(
  ctx: PipelineContext,
  executionId: number,
  step: StepName,
  shard: string,
  work: (s: StepScope) => Promise<StepOutcome>,
  opts: StepOptions = {},
): Promise<FunctionResult> {
  return withLogFunction(step, async () => {
    const run = await getRun(ctx.pool, executionId);
    if (!run) return { status: 404, body: { error: 'not_found', reason: `no execution ${executionId}` } };
    const refused = await refuse(ctx, run, step, shard, opts);
    if (refused) return refused;
    let release = () => {};
    if (!opts.shared) {
      const claim = await claimStep(ctx.pool, executionId, step, shard, STEP_LEASE_SECONDS);
      if (claim.state === 'done') return { status: 200, body: { ...(claim.result as object), duplicate: true } };
      if (claim.state === 'busy')
        return {
          status: 202,
          body: {
            executionId,
            step,
            shard: shard || undefined,
            status: 'in_progress',
            reason: 'another invocation of this step is working on it',
          },
        };
      release = holdStepLease(ctx.pool, executionId, step, shard, claim.attempts, STEP_LEASE_SECONDS);
    }
    const next: Handover[] = [];
    const scope: StepScope = {
      ctx,
      run,
      executionId,
      step,
      shard,
      complete: async (q, result, handovers) => {
        await completeStep(q, executionId, step, shard, result);
        for (const h of handovers) await ensureStepPending(q, executionId, h.fn, h.body.region ?? '');
        await touchRun(q, executionId, handovers[0]?.fn ?? step);
        next.push(...handovers);
      },
      handOver: (handovers) => {
        next.push(...handovers);
      },
    };
    try {
      await touchRun(ctx.pool, executionId, step);
      const out = await work(scope);
      log('info', out.logged[0], { execution_id: executionId, ...(shard ? { shard } : {}), ...out.logged[1] });
      for (const h of next) await ctx.invoke(h.fn, h.body);
      return { status: out.status ?? 200, body: out.body };
    } catch (err) {
      return stepFailed(ctx, executionId, step, shard, err);
    } finally {
      release();
    }
  });
}

/** Why a call for this step does nothing: a finished run (its stored result, or 409), a shard not planned. */
async function refuse(
  ctx: PipelineContext,
  run: Execution,
  step: StepName,
  shard: string,
  opts: StepOptions,
): Promise<FunctionResult | null> {
  if (opts.shared) {
    const row = await stepState(ctx.pool, run.execution_id, step, shard);
    if (!row)
      return {
        status: 409,
        body: {
          error: 'not_planned',
          reason: `execution ${run.execution_id} has no work planned for ${step} ${shard}`,
          executionId: run.execution_id,
          region: shard,
        },
      };
    if (row.status === 'done') return { status: 200, body: { ...(row.result as object), duplicate: true } };
    if (run.status !== 'running')
      return {
        status: 409,
        body: {
          error: 'run_finished',
          reason: `execution ${run.execution_id} is ${run.status}`,
          executionId: run.execution_id,
        },
      };
    await markShardRunning(ctx.pool, run.execution_id, step, shard);
    return null;
  }
  if (run.status !== 'running' && !opts.allowFinished) {
    // Checked before claiming, so that a call for a finished run writes nothing.
    const row = await stepState(ctx.pool, run.execution_id, step, shard);
    if (row?.status === 'done') return { status: 200, body: { ...(row.result as object), duplicate: true } };
    return {
      status: 409,
      body: {
        error: 'run_finished',
        reason: `execution ${run.execution_id} is ${run.status}; start a new run with init-execution`,
        executionId: run.execution_id,
      },
    };
  }
  return null;
}

/** A step that cannot finish: the run fails when the API refused the key, else the step waits for the re-drive. */
async function stepFailed(
  ctx: PipelineContext,
  executionId: number,
  step: string,
  shard: string,
  err: unknown,
): Promise<FunctionResult> {
  const message = errorText(err);
  await failStep(ctx.pool, executionId, step, shard, message).catch(() => {});
  if (err instanceof EodhdError && err.kind === 'auth') {
    // A refused key fails the run: nothing can be fetched until someone changes the key.
    await failRun(ctx.pool, executionId, message).catch(() => {});
    log('error', 'run_failed', { execution_id: executionId, step, error: message });
    return { status: 502, body: { error: 'api_key_refused', reason: message, executionId } };
  }
  if (isDatabaseUnavailable(err)) {
    log('error', 'step_failed', { execution_id: executionId, step, shard, error: message, database: 'unavailable' });
    return {
      status: 503,
      body: {
        error: 'database_unavailable',
        reason: `the database does not answer (${message}); the resume schedule re-drives this step once it is back`,
        executionId,
        step,
      },
    };
  }
  log('error', 'step_failed', { execution_id: executionId, step, shard, error: message });
  return {
    status: 500,
    body: {
      error: 'step_failed',
      reason: message,
      executionId,
      step,
      retry: 'the resume schedule re-drives this step',
    },
  };
}
