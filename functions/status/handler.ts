// status: GET answers what the pipeline is doing (JSON, or the page for a browser);
// POST {"action":"reset","symbol":"AAPL.US"} brings a failing ticker back.
import { defaultContext } from '../../shared/context.js';
import { db } from '../../shared/db.js';
import type { FunctionEvent, FunctionResult } from '../../shared/function-contract.js';
import { parseInput, parseQuery, StatusAction, StatusQuery } from '../../shared/input.js';
import { showStatus, statusAction, wantsHtml } from '../../shared/status.js';
import { registerStatusMetrics } from '../../shared/status-metrics.js';

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
  return statusAction(defaultContext(), input.value);
}
