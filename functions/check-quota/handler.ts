// check-quota: fits the plan into today's API budget, defers the rest, fans out collect-region.
import { checkQuota } from '../../shared/check-quota.js';
import { defaultContext } from '../../shared/context.js';
import type { FunctionEvent, FunctionResult } from '../../shared/function-contract.js';
import { ExecutionInput, parseInput } from '../../shared/input.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const input = parseInput(event, ExecutionInput);
  if (!input.ok) return input.response;
  return checkQuota(defaultContext(), input.value.executionId);
}
