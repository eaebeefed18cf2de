// check-quota: fits the plan into today's API budget, defers the rest, fans out collect-region.

import type { FunctionEvent, FunctionResult } from '../../shared/platform/function-contract.js';
import { ExecutionInput, parseInput } from '../../shared/platform/input.js';
import { checkQuota } from '../../shared/steps/check-quota.js';
import { defaultContext } from '../../shared/steps/context.js';

// The server's database check, metrics, log lines and 503 for a database away (the template's hooks).
export { hooks } from '../../shared/platform/function-hooks.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const input = parseInput(event, ExecutionInput);
  if (!input.ok) return input.response;
  return checkQuota(defaultContext(), input.value.executionId);
}
