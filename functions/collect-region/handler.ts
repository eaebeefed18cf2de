// collect-region: fetches and stores its region's planned work; the last region invokes finalize.

import type { FunctionEvent, FunctionResult } from '../../shared/platform/function-contract.js';
import { CollectRegionInput, parseInput } from '../../shared/platform/input.js';
import { collectRegion } from '../../shared/steps/collect-region.js';
import { defaultContext } from '../../shared/steps/context.js';

// The server's database check, metrics, log lines and 503 for a database away (the template's hooks).
export { hooks } from '../../shared/platform/function-hooks.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const input = parseInput(event, CollectRegionInput);
  if (!input.ok) return input.response;
  return collectRegion(defaultContext(), input.value.executionId, input.value.region);
}
