// calc-indicators: the 31 indicator columns for a run's changed assets, given symbols, or all; and their
// indicator history (from a given day with {symbols, from}).

import type { FunctionEvent, FunctionResult } from '../../shared/platform/function-contract.js';
import { CalcIndicatorsInput, parseInput } from '../../shared/platform/input.js';
import { callIdOf } from '../../shared/platform/trigger.js';
import { calcIndicators } from '../../shared/steps/calc-indicators.js';
import { defaultContext } from '../../shared/steps/context.js';

// The server's database check, metrics, log lines and 503 for a database away (the template's hooks).
export { hooks } from '../../shared/platform/function-hooks.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const input = parseInput(event, CalcIndicatorsInput);
  if (!input.ok) return input.response;
  return calcIndicators(defaultContext(), input.value, callIdOf(event));
}
