// init-execution: opens a daily run (409 while one is active) and invokes discover-delta.
// Deployed a second time as resume-runs with DEFAULT_MODE=resume: re-drives stalled runs.

import type { FunctionEvent, FunctionResult } from '../../shared/platform/function-contract.js';
import { InitExecutionInput, parseInput } from '../../shared/platform/input.js';
import { callIdOf, triggerKindOf } from '../../shared/platform/trigger.js';
import { defaultContext } from '../../shared/steps/context.js';
import { startRun } from '../../shared/steps/init-execution.js';

// The server's database check, metrics, log lines and 503 for a database away (the template's hooks).
export { hooks } from '../../shared/platform/function-hooks.js';

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
