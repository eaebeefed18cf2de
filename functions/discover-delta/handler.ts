// discover-delta: syncs the universe, writes the plan as work items, invokes check-quota.
import { defaultContext } from '../../shared/context.js';
import { discoverDelta } from '../../shared/discover-delta.js';
import type { FunctionEvent, FunctionResult } from '../../shared/function-contract.js';
import { ExecutionInput, parseInput } from '../../shared/input.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const input = parseInput(event, ExecutionInput);
  if (!input.ok) return input.response;
  return discoverDelta(defaultContext(), input.value.executionId);
}
