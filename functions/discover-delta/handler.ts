// discover-delta: syncs the universe, writes the plan as work items, invokes check-quota.

import type { FunctionEvent, FunctionResult } from '../../shared/platform/function-contract.js';
import { ExecutionInput, parseInput } from '../../shared/platform/input.js';
import { defaultContext } from '../../shared/steps/context.js';
import { discoverDelta } from '../../shared/steps/discover-delta.js';

// The server's database check, metrics, log lines and 503 for a database away (the template's hooks).
export { hooks } from '../../shared/platform/function-hooks.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const input = parseInput(event, ExecutionInput);
  if (!input.ok) return input.response;
  return discoverDelta(defaultContext(), input.value.executionId);
}
