// discover-delta: syncs the universe, writes the plan as work items, invokes check-quota.

import type { FunctionEvent, FunctionResult } from '../../shared/platform/function-contract.js';
import { ExecutionInput, parseInput } from '../../shared/platform/input.js';
import { defaultContext } from '../../shared/steps/context.js';
import { discoverDelta } from '../../shared/steps/discover-delta.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const input = parseInput(event, ExecutionInput);
  if (!input.ok) return input.response;
  return discoverDelta(defaultContext(), input.value.executionId);
}
