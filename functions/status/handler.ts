// status: GET answers what the pipeline is doing (JSON, or the page for a browser);
// POST an operator's action ({"action":"reset","symbol":"AAPL.US"}, confirm, drop,
// start-run, run-step), each with an operator credential (Authorization header).

import { showStatus, statusAction } from '../../shared/observe/status.js';
import { registerStatusMetrics } from '../../shared/observe/status-metrics.js';
import { db } from '../../shared/platform/db.js';
import type { FunctionEvent, FunctionResult } from '../../shared/platform/function-contract.js';
import { parseInput, parseQuery, StatusAction, StatusQuery } from '../../shared/platform/input.js';
import { wantsHtml } from '../../shared/platform/page.js';
import { defaultContext } from '../../shared/steps/context.js';

// The server's database check, metrics, log lines and 503 for a database away (the template's hooks).
export { hooks } from '../../shared/platform/function-hooks.js';

// Its /metrics also carries what the database knows (quota, last run, freshness).
registerStatusMetrics(db);

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  if (event.method === 'GET' || event.method === 'HEAD') {
    const query = parseQuery(event, StatusQuery);
    if (!query.ok) return query.response;
    return showStatus(defaultContext(), query.value, wantsHtml(event.headers.accept));
  }
  const input = parseInput(event, StatusAction);
  if (!input.ok) return input.response;
  return statusAction(defaultContext(), input.value, event.headers.authorization);
}
