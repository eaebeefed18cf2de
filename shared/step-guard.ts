/**
 * The common opening of every chained step: the run must exist and still be running, and
 * this (run, step, shard) must be claimable. A duplicate delivery of a finished step gets
 * its stored result (200); one that arrives while another copy works gets 202. The
 * claimant renews its lease while it works.
 */
import type { PipelineContext } from './context.js';
import { getRun, type Execution } from './executions.js';
import type { FunctionResult } from './function-contract.js';
import { claimStep, holdStepLease, stepState } from './steps.js';

/** release: stops renewing the step's lease; call it when the step has ended, however. */
export type Guarded = { ok: true; run: Execution; release: () => void } | { ok: false; response: FunctionResult };

export async function guardStep(ctx: PipelineContext, executionId: number, step: string, shard: string, leaseSeconds: number, opts: { allowFinished?: boolean } = {}): Promise<Guarded> {
  const run = await getRun(ctx.pool, executionId);
  if (!run) return { ok: false, response: { status: 404, body: { error: 'not_found', reason: `no execution ${executionId}` } } };
  if (run.status !== 'running' && !opts.allowFinished) {
    // Checked before claiming, so that a call for a finished run writes nothing.
    const row = await stepState(ctx.pool, executionId, step, shard);
    if (row?.status === 'done') return { ok: false, response: { status: 200, body: { ...(row.result as object), duplicate: true } } };
    return { ok: false, response: { status: 409, body: { error: 'run_finished', reason: `execution ${executionId} is ${run.status}; start a new run with init-execution`, executionId } } };
  }
  const claim = await claimStep(ctx.pool, executionId, step, shard, leaseSeconds);
  if (claim.state === 'done') return { ok: false, response: { status: 200, body: { ...(claim.result as object), duplicate: true } } };
  if (claim.state === 'busy') return { ok: false, response: { status: 202, body: { executionId, step, shard: shard || undefined, status: 'in_progress', reason: 'another invocation of this step is working on it' } } };
  return { ok: true, run, release: holdStepLease(ctx.pool, executionId, step, shard, claim.attempts, leaseSeconds) };
}
