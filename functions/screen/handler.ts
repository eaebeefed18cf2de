// screen: answers a screen over the screener rows, as of any day (read-only).
// GET /function/screen?filters=[["market_capitalization",">",1e9]]&sort=market_cap.desc (or
// ?presets, ?fields); POST the same fields as JSON. Accept: text/csv (or format=csv) for CSV,
// text/html (a browser) for the screen page. GET /function/screen/ticker/AAPL.US: a ticker's
// page (or its data as JSON).

import { db } from '../../shared/platform/db.js';
import type { FunctionEvent, FunctionResult } from '../../shared/platform/function-contract.js';
import { parseInput, parseQuery } from '../../shared/platform/input.js';
import { wantsHtml } from '../../shared/platform/page.js';
import {
  answerScreen,
  answerScreenPage,
  listAnswer,
  screenFromBody,
  screenFromQuery,
  wantsCsv,
} from '../../shared/screen/answer.js';
import { ScreenJson } from '../../shared/screen/screen-request.js';
import { showTicker, TickerQuery } from '../../shared/screen/ticker.js';

// The server's database check, metrics, log lines and 503 for a database away (the template's hooks).
export { hooks } from '../../shared/platform/function-hooks.js';

type Route = (event: FunctionEvent) => Promise<FunctionResult>;

/** The screen itself: GET with the query string, POST with a JSON body. */
const screen: Route = async (event) => {
  if (event.method === 'GET' || event.method === 'HEAD') {
    const list = listAnswer(event);
    if (list) return list;
    const csv = wantsCsv(event);
    if (!csv && wantsHtml(event.headers.accept)) return answerScreenPage(db(), event, screenFromQuery(event));
    return answerScreen(db(), screenFromQuery(event), csv);
  }
  const input = parseInput(event, ScreenJson);
  if (!input.ok) return input.response;
  return answerScreen(db(), screenFromBody(input.value), wantsCsv(event));
};

/** A ticker's page (or its data): GET /ticker/<SYMBOL>?sessions=N. */
const ticker =
  (symbol: string): Route =>
  async (event) => {
    if (event.method === 'POST')
      return {
        status: 405,
        headers: { allow: 'GET, HEAD' },
        body: {
          error: 'method_not_allowed',
          reason: 'a ticker page is read with GET; its reset posts to the status function',
        },
      };
    const query = parseQuery(event, TickerQuery);
    if (!query.ok) return query.response;
    return showTicker(db(), symbol, { html: wantsHtml(event.headers.accept), sessions: query.value.sessions });
  };

/** The route of a path: the screen at /, a ticker's page at /ticker/<SYMBOL>. */
function routeOf(path: string): Route | null {
  const p = path.replace(/\/+$/, '') || '/';
  if (p === '/') return screen;
  const m = /^\/ticker\/([^/]{1,120})$/.exec(p);
  if (!m) return null;
  let symbol: string;
  try {
    symbol = decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
  return ticker(symbol);
}

export default async function handle(event: FunctionEvent): Promise<FunctionResult> {
  const route = routeOf(event.path);
  if (!route)
    return {
      status: 404,
      body: {
        error: 'not_found',
        reason: `no ${event.path.slice(0, 100)} here: use / (the screen) or /ticker/<SYMBOL>`,
      },
    };
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
