/**
 * The screen function's paths: the screen at / (JSON, CSV, or the screen page for a browser;
 * ?presets and ?fields), a ticker's page at /ticker/<SYMBOL> (or its data as JSON). Every
 * answer only reads (the function logs in as a member of screener_readers).
 */
import type { Queryable } from '../platform/db.js';
import type { FunctionEvent, FunctionResult } from '../platform/function-contract.js';
import { parseInput, parseQuery } from '../platform/input.js';
import { wantsHtml } from '../platform/page.js';
import { answerScreen, answerScreenPage, listAnswer, screenFromBody, screenFromQuery, wantsCsv } from './answer.js';
import { ScreenJson } from './screen-request.js';
import { showTicker, TickerQuery } from './ticker.js';

type Route = (q: Queryable, event: FunctionEvent) => Promise<FunctionResult>;

/** The screen itself: GET with the query string, POST with a JSON body. */
const screen: Route = async (q, event) => {
  if (event.method === 'GET' || event.method === 'HEAD') {
    const list = listAnswer(event);
    if (list) return list;
    const csv = wantsCsv(event);
    if (!csv && wantsHtml(event.headers.accept)) return answerScreenPage(q, event, screenFromQuery(event));
    return answerScreen(q, screenFromQuery(event), csv);
  }
  const input = parseInput(event, ScreenJson);
  if (!input.ok) return input.response;
  return answerScreen(q, screenFromBody(input.value), wantsCsv(event));
};

/** A ticker's page (or its data): GET /ticker/<SYMBOL>?sessions=N. */
const ticker =
  (symbol: string): Route =>
  async (q, event) => {
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
    return showTicker(q, symbol, { html: wantsHtml(event.headers.accept), sessions: query.value.sessions });
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

/** The screen function's answer to any request: the route of its path, or a 404 / 405. */
export async function answerScreenRequest(q: Queryable, event: FunctionEvent): Promise<FunctionResult> {
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
  return route(q, event);
}
