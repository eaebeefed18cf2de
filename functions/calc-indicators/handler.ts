// calc-indicators: the 31 indicator columns for a run's changed assets, given symbols, or all.

import { calcIndicators } from '../../shared/calc-indicators.js';
import { defaultContext } from '../../shared/context.js';
import type { FunctionEvent, FunctionResult } from '../../shared/function-contract.js';
import { CalcIndicatorsInput, parseInput } from '../../shared/input.js';
import { callIdOf } from '../../shared/trigger.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const input = parseInput(event, CalcIndicatorsInput);
  if (!input.ok) return input.response;
  return calcIndicators(defaultContext(), input.value, callIdOf(event));
}
