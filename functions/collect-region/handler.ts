// collect-region: fetches and stores its region's planned work; the last region invokes finalize.
import { collectRegion } from '../../shared/collect-region.js';
import { defaultContext } from '../../shared/context.js';
import type { FunctionEvent, FunctionResult } from '../../shared/function-contract.js';
import { CollectRegionInput, parseInput } from '../../shared/input.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const input = parseInput(event, CollectRegionInput);
  if (!input.ok) return input.response;
  return collectRegion(defaultContext(), input.value.executionId, input.value.region);
}
