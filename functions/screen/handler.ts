// screen: answers a screen over the screener rows, as of any day (read-only).
// GET /function/screen?filters=[["market_capitalization",">",1e9]]&sort=market_cap.desc (or
// ?presets, ?fields); POST the same fields as JSON. Accept: text/csv (or format=csv) for CSV,
// text/html (a browser) for the screen page. GET /function/screen/ticker/AAPL.US: a ticker's
// page (or its data as JSON).

import { db } from '../../shared/platform/db.js';
import type { FunctionEvent, FunctionResult } from '../../shared/platform/function-contract.js';
import { answerScreenRequest } from '../../shared/screen/routes.js';

// The server's database check, metrics, log lines and 503 for a database away (the template's hooks).
export { hooks } from '../../shared/platform/function-hooks.js';

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  return answerScreenRequest(db(), event);
}
