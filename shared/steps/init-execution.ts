/**
 * init-execution: opens a run (at most one active: the database decides) and hands it to
 * discover-delta. With mode resume (and as resume-runs) it re-drives stalled runs instead
 * (shared/steps/resume-runs.ts).
 */

import { lastWeekdayOnOrBefore, utcToday } from '../domain/dates.js';
import { inTransaction } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import type { InitExecutionInput } from '../platform/input.js';
import { log, withLogFunction } from '../platform/log.js';
import { DAILY_PIPELINE, openRun } from '../store/executions.js';
import { completeStep, ensureStepPending } from '../store/pipeline-steps.js';
import type { PipelineContext } from './context.js';
import { resumeStalledRuns } from './resume-runs.js';

export interface Trigger {
  callId: string | null;
  kind: 'cron' | 'manual' | 'resume';
}

export async function startRun(
  ctx: PipelineContext,
  input: InitExecutionInput,
  trigger: Trigger,
): Promise<FunctionResult> {
  if (input.mode === 'resume')
    return withLogFunction('resume-runs', () =>
      resumeStalledRuns(ctx, input.staleSeconds ?? (input.staleMinutes ?? 15) * 60),
    );
  return withLogFunction('init-execution', () => openDailyRun(ctx, input, trigger));
}

async function openDailyRun(
  ctx: PipelineContext,
  input: InitExecutionInput,
  trigger: Trigger,
): Promise<FunctionResult> {
  const asOf = lastWeekdayOnOrBefore(input.asOf ?? utcToday());
  const parameters = {
    mode: input.mode,
    exchanges: input.exchanges ?? null,
    symbols: input.symbols ?? null,
    dryRun: input.dryRun,
    skipExisting: input.skipExisting,
    // Without an explicit asOf, discover-delta gives each exchange its last session published
    // by the API's clock (its Date header), so a simulator's clock and the real one are
    // followed alike. With one, each exchange's last session on or before it.
    asOfExplicit: input.asOf !== undefined,
  };
  const outcome = await inTransaction(ctx.pool, async (c) => {
    const r = await openRun(c, {
      processName: DAILY_PIPELINE,
      callId: trigger.callId,
      trigger: trigger.kind,
      parameters,
      asOf,
      step: 'discover-delta',
    });
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
        reason: running
          ? `run ${running.execution_id} is still running (step ${running.current_step ?? '?'}, started ${running.started_at.toISOString()})`
          : 'another run is being opened',
        executionId: running?.execution_id ?? null,
      },
    };
  }
  const run = outcome.run;
  log('info', 'run_opened', {
    execution_id: run.execution_id,
    as_of: asOf,
    mode: input.mode,
    trigger: trigger.kind,
    call_id: trigger.callId,
  });
  await ctx.invoke('discover-delta', { executionId: run.execution_id });
  // Without an explicit asOf each exchange's day comes from the clock (set by discover-delta).
  return {
    status: 202,
    body: {
      executionId: run.execution_id,
      status: 'running',
      asOf: input.asOf ? asOf : null,
      asOfFrom: input.asOf ? 'request' : 'clock',
      parameters,
      next: 'discover-delta',
    },
  };
}
