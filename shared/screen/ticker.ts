/**
 * The ticker page's data: one listing with its bars and their indicators over the last
 * sessions, its splits, dividends and data-quality findings, the latest indicators and
 * figures, its fundamentals (with the day they were fetched) and their versions as known,
 * the indicator history's last sessions, and its audit trail. Read in one go, nothing
 * written. Prices and price-scaled indicators are in the major unit of the quote currency
 * (a London listing's pence / 100: currency_units), as v_screener shows them.
 *
 * GET /function/screen/ticker/<SYMBOL> (the screen function routes it here): the page for a
 * browser, the same data as JSON otherwise.
 */
import { z } from 'zod';
import { EXCHANGES, exchangeLabel } from '../domain/exchanges.js';
import { FIGURE_COLUMNS } from '../domain/figures.js';
import type { Queryable } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import { newNonce, pageHeaders } from '../platform/page.js';
import { SCREENER_COLUMNS } from '../store/fundamentals.js';
import { DEFAULT_SESSIONS, HISTORY_COLUMNS, PRICE_SCALED, VERSION_COLUMNS } from './ticker-fields.js';
import { renderTickerPage } from './ticker-page.js';

/** From a month to ten years (DEFAULT_SESSIONS: two). */
export const MIN_SESSIONS = 20;
export const MAX_SESSIONS = 2520;
/** The indicator history's table: its last sessions. */
const HISTORY_ROWS = 30;
const VERSION_ROWS = 50;
const AUDIT_ROWS = 100;
const MARKER_ROWS = 500;

/** A listing's symbol as the pipeline keeps it: CODE.EXCHANGE, the benchmark indices' INDX among the exchanges. */
const TICKER_SYMBOL = new RegExp(`^[A-Za-z0-9][A-Za-z0-9_\\-&]{0,19}\\.(${[...EXCHANGES, 'INDX'].join('|')})$`, 'i');
const MAX_SYMBOL_LENGTH = 40;

/** GET .../ticker/<SYMBOL>?sessions=N: how many sessions the chart shows. */
export const TickerQuery = z.strictObject({
  sessions: z.coerce
    .number()
    .int()
    .min(MIN_SESSIONS, `sessions is ${MIN_SESSIONS} to ${MAX_SESSIONS}`)
    .max(MAX_SESSIONS, `sessions is ${MIN_SESSIONS} to ${MAX_SESSIONS}`)
    .default(DEFAULT_SESSIONS),
});
export type TickerQuery = z.infer<typeof TickerQuery>;

export interface TickerAsset {
  id: number;
  symbol: string;
  code: string;
  exchange: string;
  exchange_name: string;
  name: string | null;
  type: string | null;
  country: string | null;
  isin: string | null;
  is_active: boolean;
  source: string;
  listed_from: string | null;
  delisted_on: string | null;
  /** The currency the API quotes it in (GBX: pence). */
  quote_currency: string | null;
  /** The major unit prices are shown in (GBP for GBX). */
  currency: string | null;
  per_major: number;
  prices_first_date: string | null;
  prices_last_date: string | null;
  consecutive_failures: number | null;
  last_error_message: string | null;
  last_error_at: Date | null;
}

export interface TickerBar {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  adjusted_close: number;
  volume: number;
  sma_50: number | null;
  sma_200: number | null;
  bb_upper: number | null;
  bb_lower: number | null;
  /** An open error finding on the day: indicators and screens leave the bar out. */
  quarantined: boolean;
}

export interface TickerMarker {
  date: string;
  kind: string;
  detail: string | null;
}

export interface TickerFinding {
  date: string;
  check: string;
  severity: 'error' | 'warning';
  status: string;
  detail: string;
}

export interface Ticker {
  asset: TickerAsset;
  /** The sessions the chart covers (oldest first). */
  bars: TickerBar[];
  actions: TickerMarker[];
  findings: TickerFinding[];
  /** technical_indicators: the latest session's indicators, figures and screener row (null before the first computation). */
  latest: Record<string, unknown> | null;
  /** fundamentals: the latest document's columns, money in `money_currency`, and when it was fetched. */
  fundamentals: Record<string, unknown> | null;
  /** indicator_history: the last sessions, newest first. */
  history: Array<Record<string, unknown>>;
  /** v_fundamentals_as_known: each version with the days it was the one known, newest first. */
  versions: Array<Record<string, unknown>>;
  /** v_ticker_processing_history: what each run did to it, newest first. */
  audit: Array<Record<string, unknown>>;
}

const ASSET = `
  SELECT a.id, a.symbol, a.code, a.exchange, a.name, a.type, a.country, a.isin, a.is_active, a.source,
         a.listed_from, a.delisted_on,
         COALESCE(s.prices_currency, a.currency) AS quote_currency,
         COALESCE(u.major, s.prices_currency, a.currency) AS currency,
         COALESCE(u.per_major, 1)::float8 AS per_major,
         s.prices_first_date, s.prices_last_date, s.consecutive_failures, s.last_error_message, s.last_error_at
    FROM assets a
    LEFT JOIN asset_processing_state s ON s.asset_id = a.id
    LEFT JOIN currency_units u ON u.code = COALESCE(s.prices_currency, a.currency)
   WHERE a.symbol = $1`;

// The last $2 bars by the primary key, each with its indicators of the same session (a
// missing history row is a gap in the lines) and whether an open error quarantines it.
const BARS = `
  SELECT p.date, p.open, p.high, p.low, p.close, p.adjusted_close, p.volume,
         h.sma_50, h.sma_200, h.bb_upper, h.bb_lower,
         EXISTS (SELECT 1 FROM price_quality_findings f
                  WHERE f.asset_id = p.asset_id AND f.date = p.date AND f.status = 'open' AND f.severity = 'error') AS quarantined
    FROM (SELECT * FROM stock_prices WHERE asset_id = $1 ORDER BY date DESC LIMIT $2) p
    LEFT JOIN indicator_history h ON h.asset_id = p.asset_id AND h.date = p.date
   ORDER BY p.date`;

const ACTIONS = `
  SELECT date, kind, detail FROM corporate_actions
   WHERE symbol = $1 AND date >= $2 ORDER BY date, kind LIMIT ${MARKER_ROWS}`;

const FINDINGS = `
  SELECT date, check_name AS "check", severity, status, detail FROM price_quality_findings
   WHERE asset_id = $1 AND date >= $2 ORDER BY date, check_name LIMIT ${MARKER_ROWS}`;

const LATEST = `SELECT * FROM technical_indicators WHERE asset_id = $1`;

// The derived figures of the latest session as the indicator history keeps them, for a
// latest row computed before technical_indicators carried them (v_screener reads them so too).
const LATEST_FIGURES = `
  SELECT ${FIGURE_COLUMNS.join(', ')} FROM indicator_history WHERE asset_id = $1 AND date = $2`;

// The columns of the module that fills them (constants, never input), without the document itself.
const FUNDAMENTALS = `
  SELECT f.fetched_at, COALESCE(u.major, f.currency) AS money_currency,
         ${SCREENER_COLUMNS.map((c) => `f.${c.column}`).join(', ')}, f.next_earnings_date
    FROM fundamentals f LEFT JOIN currency_units u ON u.code = f.currency
   WHERE f.asset_id = $1`;

const HISTORY = `
  SELECT date, ${HISTORY_COLUMNS.join(', ')}, signals FROM indicator_history
   WHERE asset_id = $1 ORDER BY date DESC LIMIT $2`;

// By asset_id, the view's window partition: the filter reaches the table under the window.
const VERSIONS = `
  SELECT v.known_from, v.known_until, v.fetched_at, COALESCE(u.major, v.currency) AS currency,
         ${VERSION_COLUMNS.map((c) => `v.${c}`).join(', ')}
    FROM v_fundamentals_as_known v LEFT JOIN currency_units u ON u.code = v.currency
   WHERE v.asset_id = $1 ORDER BY v.known_from DESC LIMIT $2`;

const AUDIT = `
  SELECT execution_id, process_name, operation, status, records_inserted, api_calls_used, duration_ms,
         error_message, created_at
    FROM v_ticker_processing_history WHERE symbol = $1 ORDER BY created_at DESC LIMIT $2`;

/** The row with its price-scaled columns in the major unit. */
function scaled<T extends object>(row: T, perMajor: number): T {
  if (perMajor === 1) return row;
  const out: Record<string, unknown> = { ...(row as Record<string, unknown>) };
  for (const [k, v] of Object.entries(row)) if (PRICE_SCALED.has(k) && typeof v === 'number') out[k] = v / perMajor;
  return out as unknown as T;
}

/** The ticker's data, or null for a symbol the pipeline does not know. */
export async function readTicker(q: Queryable, symbol: string, sessions: number): Promise<Ticker | null> {
  const asset = (await q.query<Omit<TickerAsset, 'exchange_name'>>(ASSET, [symbol])).rows[0];
  if (!asset) return null;
  const per = asset.per_major;
  // open, high and low are prices too.
  const bars = (await q.query<TickerBar>(BARS, [asset.id, sessions])).rows.map((b) =>
    per === 1
      ? b
      : {
          ...scaled(b, per),
          open: b.open / per,
          high: b.high / per,
          low: b.low / per,
          close: b.close / per,
          adjusted_close: b.adjusted_close / per,
        },
  );
  const from = bars[0]?.date ?? '9999-12-31';
  const latest = await readLatest(q, asset.id);
  return {
    asset: { ...asset, exchange_name: exchangeLabel(asset.exchange) },
    bars,
    actions: (await q.query<TickerMarker>(ACTIONS, [symbol, from])).rows,
    findings: (await q.query<TickerFinding>(FINDINGS, [asset.id, from])).rows,
    latest: latest ? scaled(withoutId(latest), per) : null,
    fundamentals: (await q.query<Record<string, unknown>>(FUNDAMENTALS, [asset.id])).rows[0] ?? null,
    history: (await q.query<Record<string, unknown>>(HISTORY, [asset.id, HISTORY_ROWS])).rows.map((r) =>
      scaled(r, per),
    ),
    versions: (await q.query<Record<string, unknown>>(VERSIONS, [asset.id, VERSION_ROWS])).rows,
    audit: (await q.query<Record<string, unknown>>(AUDIT, [symbol, AUDIT_ROWS])).rows,
  };
}

/** The latest row, each figure it lacks taken from the history row of its session. */
async function readLatest(q: Queryable, assetId: number): Promise<Record<string, unknown> | undefined> {
  const latest = (await q.query<Record<string, unknown>>(LATEST, [assetId])).rows[0];
  if (!latest || FIGURE_COLUMNS.every((c) => latest[c] !== null && latest[c] !== undefined)) return latest;
  const figures = (await q.query<Record<string, unknown>>(LATEST_FIGURES, [assetId, latest.price_date])).rows[0];
  if (!figures) return latest;
  const out = { ...latest };
  for (const c of FIGURE_COLUMNS) if (out[c] === null || out[c] === undefined) out[c] = figures[c];
  return out;
}

function withoutId(row: Record<string, unknown>): Record<string, unknown> {
  const { asset_id: _, ...rest } = row;
  return rest;
}

/**
 * GET .../ticker/<SYMBOL>: 400 for a malformed symbol, 404 for one the pipeline does not
 * know, else the page (html) or the data as JSON.
 */
export async function showTicker(
  q: Queryable,
  symbol: string,
  opts: { html: boolean; sessions?: number },
): Promise<FunctionResult> {
  if (symbol.length > MAX_SYMBOL_LENGTH || !TICKER_SYMBOL.test(symbol))
    return {
      status: 400,
      body: {
        error: 'bad_request',
        reason: `a symbol is CODE.EXCHANGE with EXCHANGE one of ${[...EXCHANGES, 'INDX'].join(', ')} (e.g. AAPL.US, BP.LSE, GSPC.INDX): not ${JSON.stringify(symbol.slice(0, MAX_SYMBOL_LENGTH))}`,
      },
    };
  const sessions = TickerQuery.shape.sessions.safeParse(opts.sessions);
  if (!sessions.success)
    return { status: 400, body: { error: 'bad_request', reason: sessions.error.issues[0]?.message ?? 'bad sessions' } };
  const normal = symbol.toUpperCase();
  const ticker = await readTicker(q, normal, sessions.data);
  if (!ticker)
    return {
      status: 404,
      body: {
        error: 'not_found',
        reason: `no listing ${normal} in the pipeline's universe: check the symbol (CODE.EXCHANGE), or screen for it on the screen page`,
      },
    };
  if (!opts.html) return { status: 200, body: ticker, headers: { 'cache-control': 'no-store' } };
  const nonce = newNonce();
  return { status: 200, body: renderTickerPage(ticker, nonce), headers: pageHeaders(nonce) };
}
