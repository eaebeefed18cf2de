/**
 * resume-runs (init-execution with mode resume): re-drives steps of runs that made no
 * progress for a while, so that a lost async call never leaves a run stuck for good; gives
 * up a run whose stalled step used up its attempts (freeing the one-run slot); and settles
 * API requests whose outcome a dead process never wrote against the API's own count.
 */

import type { FunctionResult } from '../platform/function-contract.js';
import type { FunctionName } from '../platform/invoke.js';
import { log } from '../platform/log.js';
import { giveUpStalledRuns } from '../store/executions.js';
import { stalledSteps } from '../store/pipeline-steps.js';
import type { PipelineContext } from './context.js';
import { settleUnknownCalls } from './reconcile.js';

export async function resumeStalledRuns(ctx: PipelineContext, staleSeconds: number): Promise<FunctionResult> {
  const gaveUp = await giveUpStalledRuns(ctx.pool, staleSeconds);
  for (const g of gaveUp)
    log('error', 'run_given_up', { execution_id: g.execution_id, step: g.step, attempts: g.attempts });
  const rows = await stalledSteps(ctx.pool, staleSeconds);
  for (const r of rows) {
    const body =
      r.step === 'collect-region' ? { executionId: r.execution_id, region: r.shard } : { executionId: r.execution_id };
    log('warn', 'step_redriven', { execution_id: r.execution_id, step: r.step, shard: r.shard });
    await ctx.invoke(r.step as FunctionName, body);
  }
  // Requests whose process died before their answer was written are settled against the
  // API's count while it is still the API's day (its count covers only the current day).
  const settled = await settleUnknownCalls(ctx);
  return {
    status: 200,
    body: {
      mode: 'resume',
      staleMinutes: Math.round((staleSeconds / 60) * 100) / 100,
      staleSeconds,
      redriven: rows.map((r) => ({ executionId: r.execution_id, step: r.step, shard: r.shard || undefined })),
      gaveUp: gaveUp.map((g) => ({ executionId: g.execution_id, step: g.step, attempts: g.attempts })),
      apiCallsSettled: settled
        ? { quotaDay: settled.quotaDay, apiReported: settled.apiReported, ...settled.settled }
        : null,
    },
  };
}
