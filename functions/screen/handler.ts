// screen: answers a screen over the screener rows, as of any day (read-only).
// GET /function/screen?filters=[["market_capitalization",">",1e9]]&sort=market_cap.desc (or
// ?presets, ?fields); POST the same fields as JSON. Accept: text/csv (or format=csv) for CSV.

import { db } from '../../shared/platform/db.js';
import type { FunctionEvent, FunctionResult } from '../../shared/platform/function-contract.js';
import { parseInput } from '../../shared/platform/input.js';
import { answerScreen, listAnswer, screenFromBody, screenFromQuery, wantsCsv } from '../../shared/screen/answer.js';
import { ScreenJson } from '../../shared/screen/screen-request.js';

// The server's database check, metrics, log lines and 503 for a database away (the template's hooks).
export { hooks } from '../../shared/platform/function-hooks.js';

type Route = (event: FunctionEvent) => Promise<FunctionResult>;

/** The screen itself: GET with the query string, POST with a JSON body. */
const screen: Route = async (event) => {
  if (event.method === 'GET' || event.method === 'HEAD') {
    return listAnswer(event) ?? answerScreen(db(), screenFromQuery(event), wantsCsv(event));
  }
  const input = parseInput(event, ScreenJson);
  if (!input.ok) return input.response;
  return answerScreen(db(), screenFromBody(input.value), wantsCsv(event));
};

/** Paths the function answers (a page or another view goes here beside the screen). */
const ROUTES: Record<string, Route> = { '/': screen };

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const route = ROUTES[event.path.replace(/\/+$/, '') || '/'];
  if (!route) return { status: 404, body: { error: 'not_found', reason: `no ${event.path} here: use / (the screen)` } };
  if (!['GET', 'HEAD', 'POST'].includes(event.method))
    return {
      status: 405,
      headers: { allow: 'GET, HEAD, POST' },
      body: {
        error: 'method_not_allowed',
        reason: `use GET with the screen in the query string or POST it as JSON, not ${event.method}`,
      },
    };
  return route(event);
}
