// finalize: totals and status of the run, then invokes calc-indicators.
import { defaultContext } from '../../shared/context.js';
import { finalizeRun } from '../../shared/finalize.js';
import type { FunctionEvent, FunctionResult } from '../../shared/function-contract.js';
import { ExecutionInput, parseInput } from '../../shared/input.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const input = parseInput(event, ExecutionInput);
  if (!input.ok) return input.response;
  return finalizeRun(defaultContext(), input.value.executionId);
}
