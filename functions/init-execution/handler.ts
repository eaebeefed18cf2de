// init-execution: opens a daily run (409 while one is active) and invokes discover-delta.
// Deployed a second time as resume-runs with DEFAULT_MODE=resume: re-drives stalled runs.
import { defaultContext } from '../../shared/context.js';
import type { FunctionEvent, FunctionResult } from '../../shared/function-contract.js';
import { startRun } from '../../shared/init-execution.js';
import { InitExecutionInput, parseInput } from '../../shared/input.js';
import { callIdOf, triggerKindOf } from '../../shared/trigger.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const empty = event.body.toString('utf8').trim() === '';
  const body =
    empty && process.env.DEFAULT_MODE === 'resume'
      ? {
          ...event,
          body: Buffer.from('{"mode":"resume"}'),
          headers: { ...event.headers, 'content-type': 'application/json' },
        }
      : event;
  const input = parseInput(body, InitExecutionInput);
  if (!input.ok) return input.response;
  return startRun(defaultContext(), input.value, { callId: callIdOf(event), kind: triggerKindOf(event) });
}
