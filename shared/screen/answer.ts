/**
 * The screen's HTTP answers: a request (GET query or POST JSON) into a screen, its answer
 * as JSON or CSV (Accept: text/csv, or format=csv), the lists (?presets, ?fields), and
 * every refusal as a 4xx of one line.
 */

import { EXCHANGE_NAMES, EXCHANGES } from '../domain/exchanges.js';
import { SCREEN_FIELDS, SIGNALS } from '../domain/screen-fields.js';
import type { Queryable } from '../platform/db.js';
import type { FunctionEvent, FunctionResult } from '../platform/function-contract.js';
import { badRequest } from '../platform/input.js';
import { PRESETS } from './presets.js';
import { fieldList, NothingToScreen, presetList, runScreen, ScreenRefusal, screenCsv } from './run-screen.js';
import { screenPageResult } from './screen-page.js';
import { type ParsedScreen, parseScreenBody, parseScreenQuery } from './screen-request.js';

/** CSV when the query says format=csv or the client accepts text/csv before JSON. */
export function wantsCsv(event: FunctionEvent): boolean {
  const format = event.query.format?.toLowerCase();
  if (format === 'csv') return true;
  if (format === 'json') return false;
  const accept = (event.headers.accept ?? '').toLowerCase();
  const csv = accept.indexOf('text/csv');
  const json = accept.indexOf('application/json');
  return csv >= 0 && (json < 0 || csv < json);
}

/** A GET's screen: its query string, less the answer's format. */
export function screenFromQuery(event: FunctionEvent): ParsedScreen {
  const { format, ...query } = event.query;
  if (format !== undefined && !['csv', 'json'].includes(format.toLowerCase()))
    return { ok: false, reason: `format is csv or json, not ${JSON.stringify(format.slice(0, 20))}` };
  return parseScreenQuery(query);
}

/** A POST's screen: its JSON body (already checked to be a JSON object). */
export function screenFromBody(body: unknown): ParsedScreen {
  return parseScreenBody(body);
}

/** GET ?presets or ?fields: the lists a page or a person starts from; null for neither. */
export function listAnswer(event: FunctionEvent): FunctionResult | null {
  const keys = Object.keys(event.query).filter((k) => k !== 'format');
  if (keys.length !== 1) return null;
  if (keys[0] === 'presets') return { status: 200, body: presetList() };
  if (keys[0] === 'fields') return { status: 200, body: fieldList() };
  return null;
}

/** Runs a parsed screen and answers it (JSON or CSV), or the refusal. */
export async function answerScreen(q: Queryable, parsed: ParsedScreen, csv: boolean): Promise<FunctionResult> {
  if (!parsed.ok) return badRequest(parsed.reason);
  try {
    const answer = await runScreen(q, parsed.value);
    if (!csv) return { status: 200, body: answer };
    return {
      status: 200,
      body: screenCsv(answer),
      headers: {
        'content-type': 'text/csv; charset=utf-8; header=present',
        'content-disposition': `attachment; filename="screen-${answer.asOf}.csv"`,
      },
    };
  } catch (err) {
    if (err instanceof ScreenRefusal) return badRequest(err.message);
    if (err instanceof NothingToScreen) return { status: 409, body: { error: 'no_data', reason: err.message } };
    throw err;
  }
}

/**
 * The screen page (a browser's GET): the form, and the answer of the query it was given;
 * a bad query is the page again with its reason above the form, answered 400.
 */
export async function answerScreenPage(
  q: Queryable,
  event: FunctionEvent,
  parsed: ParsedScreen,
): Promise<FunctionResult> {
  const page = {
    presets: PRESETS,
    fields: SCREEN_FIELDS,
    signals: SIGNALS,
    exchanges: EXCHANGES.map((code) => ({ code, name: EXCHANGE_NAMES[code] })),
    query: event.query,
    pageUrl: null,
  };
  // The bare page (no screen asked yet) shows the default screen: the last session's largest.
  if (!parsed.ok) return screenPageResult({ ...page, answer: null, request: null, error: parsed.reason }, 400);
  try {
    const answer = await runScreen(q, parsed.value);
    return screenPageResult({ ...page, answer, request: parsed.value, error: null });
  } catch (err) {
    if (err instanceof ScreenRefusal)
      return screenPageResult({ ...page, answer: null, request: parsed.value, error: err.message }, 400);
    if (err instanceof NothingToScreen)
      return screenPageResult({ ...page, answer: null, request: parsed.value, error: err.message }, 409);
    throw err;
  }
}
