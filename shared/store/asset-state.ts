/**
 * asset_processing_state: the per-asset state machine (what is loaded, through when, what
 * must be fetched again, failures). Every write to the table is here; the steps call these
 * inside their own transactions.
 */
import type { Queryable } from '../platform/db.js';

// The same for many assets in one statement (bars appended from a bulk day: no first date,
// no currency). One statement instead of one per asset: a normal day appends to ~21,800.
const STATE_PRICES_MANY = `
  UPDATE asset_processing_state s SET
    prices_loaded = true,
    prices_last_date = CASE WHEN u.last_date IS NULL THEN s.prices_last_date ELSE greatest(coalesce(s.prices_last_date, u.last_date), u.last_date) END,
    prices_checked_through = greatest(coalesce(s.prices_checked_through, $3::date), $3::date),
    prices_last_updated_at = CASE WHEN u.last_date IS NULL THEN s.prices_last_updated_at ELSE now() END,
    needs_prices_reprocess = false,
    consecutive_failures = 0,
    last_execution_id = $4,
    updated_at = now()
  FROM unnest($1::bigint[], $2::date[]) AS u(asset_id, last_date)
  WHERE s.asset_id = u.asset_id`;

/**
 * Bars appended to many assets (lastDate: the newest bar written, null when none was new),
 * each checked through checkedThrough: markPrices and a successful markOutcome for each.
 */
export async function markPricesAppended(
  q: Queryable,
  rows: Array<{ assetId: number; lastDate: string | null }>,
  checkedThrough: string,
  executionId: number,
): Promise<void> {
  if (rows.length === 0) return;
  // In asset order, as every other statement that locks many of these rows.
  const sorted = [...rows].sort((a, b) => a.assetId - b.assetId);
  await q.query(STATE_PRICES_MANY, [
    sorted.map((r) => r.assetId),
    sorted.map((r) => r.lastDate),
    checkedThrough,
    executionId,
  ]);
}

// What one ticker's work item came to, in one statement (it was up to six, each a new
// version of the same row): the prices fetched, the history's limit, the fundamentals,
// what EODHD does not have, an adjustment done, and success or failure. Each part applies
// only when given. The history limit is written only when it changed, and reported so (the
// same warning on every run is one event): o holds the row as it was.
const RECORD_ITEM = `
  UPDATE asset_processing_state s SET
    prices_loaded = s.prices_loaded OR $2,
    prices_first_date = CASE WHEN $2 AND $3::date IS NOT NULL THEN least(coalesce(s.prices_first_date, $3::date), $3::date) ELSE s.prices_first_date END,
    prices_last_date = CASE WHEN $2 AND $4::date IS NOT NULL THEN greatest(coalesce(s.prices_last_date, $4::date), $4::date) ELSE s.prices_last_date END,
    prices_checked_through = CASE WHEN $2 THEN greatest(coalesce(s.prices_checked_through, $5::date), $5::date) ELSE s.prices_checked_through END,
    prices_last_updated_at = CASE WHEN $2 AND $6 THEN now() ELSE s.prices_last_updated_at END,
    prices_currency = CASE WHEN $2 THEN coalesce($7, s.prices_currency) ELSE s.prices_currency END,
    needs_prices_reprocess = s.needs_prices_reprocess AND NOT $2,
    needs_adjustment_refresh = s.needs_adjustment_refresh AND NOT $8,
    adjustment_action_date = CASE WHEN $8 THEN NULL ELSE s.adjustment_action_date END,
    history_limited = CASE WHEN lim.changed THEN $10 ELSE s.history_limited END,
    history_requested_from = CASE WHEN lim.changed THEN $11::date ELSE s.history_requested_from END,
    history_received_from = CASE WHEN lim.changed THEN $12::date ELSE s.history_received_from END,
    history_warning = CASE WHEN lim.changed THEN $13 ELSE s.history_warning END,
    fundamentals_loaded = s.fundamentals_loaded OR $14,
    fundamentals_loaded_at = CASE WHEN $14 THEN now() ELSE s.fundamentals_loaded_at END,
    needs_fundamentals_reprocess = s.needs_fundamentals_reprocess AND NOT $14,
    fundamentals_not_found_on = CASE WHEN $15 THEN $20::date ELSE s.fundamentals_not_found_on END,
    prices_not_found_on = CASE WHEN $16 THEN $20::date ELSE s.prices_not_found_on END,
    consecutive_failures = CASE WHEN NOT $17 THEN s.consecutive_failures WHEN $18 THEN 0 ELSE s.consecutive_failures + 1 END,
    last_error_message = CASE WHEN $17 AND NOT $18 THEN $19 ELSE s.last_error_message END,
    last_error_at = CASE WHEN $17 AND NOT $18 THEN now() ELSE s.last_error_at END,
    last_execution_id = CASE WHEN $17 THEN $21 ELSE s.last_execution_id END,
    updated_at = now()
  FROM (SELECT $9::boolean AND (o.history_limited, o.history_warning) IS DISTINCT FROM ($10::boolean, $13::text) AS changed
          FROM asset_processing_state o WHERE o.asset_id = $1) lim
  WHERE s.asset_id = $1
  RETURNING lim.changed AS limit_changed`;

export interface ItemOutcome {
  /** Bars were fetched (perhaps none new): the series' dates, through when it is complete, whether rows were written, the currency of a whole history. */
  prices?: {
    firstDate: string | null;
    lastDate: string | null;
    checkedThrough: string;
    changed: boolean;
    currency: string | null;
  };
  /** An adjustment refresh is done: the stored series is the API's current one. */
  adjustmentDone?: boolean;
  /** A whole history was fetched: cut short by the plan (the API's warning, what was asked, what came), or complete (null). */
  historyLimit?: { requestedFrom: string; receivedFrom: string | null; warning: string } | null;
  fundamentalsLoaded?: boolean;
  /** EODHD does not have these (on `day`): not asked again until the symbol reappears in its list. */
  notFound?: Array<'prices' | 'fundamentals'>;
  day?: string;
  /** Success resets the failure count; a failure increments it and keeps the message. Absent: the count does not move. */
  outcome?: { ok: boolean; error: string | null; executionId: number };
}

/** Records what a work item came to for its asset; true when the history limit changed. */
export async function recordItemOutcome(q: Queryable, assetId: number, o: ItemOutcome): Promise<boolean> {
  const p = o.prices;
  const lim = o.historyLimit;
  const r = await q.query<{ limit_changed: boolean }>(RECORD_ITEM, [
    assetId,
    p !== undefined,
    p?.firstDate ?? null,
    p?.lastDate ?? null,
    p?.checkedThrough ?? null,
    p?.changed ?? false,
    p?.currency ?? null,
    o.adjustmentDone ?? false,
    lim !== undefined,
    lim != null,
    lim?.requestedFrom ?? null,
    lim?.receivedFrom ?? null,
    lim?.warning ?? null,
    o.fundamentalsLoaded ?? false,
    o.notFound?.includes('fundamentals') ?? false,
    o.notFound?.includes('prices') ?? false,
    o.outcome !== undefined,
    o.outcome?.ok ?? false,
    o.outcome?.error ?? null,
    o.day ?? null,
    o.outcome?.executionId ?? null,
  ]);
  return r.rows[0]?.limit_changed === true;
}

// Only bars before the ex-date change; an asset whose stored history starts on or after
// it (or that has none yet, and will load the adjusted history) needs nothing.
const FLAG_AFFECTED = `
  UPDATE asset_processing_state s
     SET needs_adjustment_refresh = true,
         adjustment_action_date = least(coalesce(s.adjustment_action_date, x.first_action), x.first_action),
         updated_at = now()
    FROM (SELECT a.id, min(c.date) AS first_action
            FROM corporate_actions c JOIN assets a ON a.symbol = c.symbol
           WHERE c.date = ANY($1::date[])
           GROUP BY a.id) x
   WHERE s.asset_id = x.id AND s.prices_loaded AND s.prices_first_date < x.first_action
  RETURNING s.asset_id`;

/** Flags the assets with stored bars before an ex-date among these days for an adjustment refresh; how many. */
export async function flagForAdjustment(q: Queryable, days: string[]): Promise<number> {
  return (await q.query(FLAG_AFFECTED, [days])).rowCount ?? 0;
}

// A ticker fetched through the run's day that has no bar on it, on an exchange where other
// tickers do (their newest bar, kept here beside the bars it describes, is on the day or
// later): that day is out and the ticker simply did not trade. Its series is complete
// through the day, and it is not fetched again for it.
// Each exchange's newest stored bar, read once (a correlated EXISTS per updated row took
// minutes at full scale); materialized so that the planner cannot fold it back in.
const EXTEND_CHECKED_THROUGH = `
  WITH run AS (SELECT as_of, as_of_by_exchange FROM process_executions WHERE execution_id = $1),
  newest AS MATERIALIZED (
    SELECT a.exchange, max(p.prices_last_date) AS newest
      FROM asset_processing_state p JOIN assets a ON a.id = p.asset_id GROUP BY a.exchange
  ),
  published AS MATERIALIZED (
    SELECT n.exchange, d.as_of
      FROM newest n, run, LATERAL (SELECT coalesce((run.as_of_by_exchange ->> n.exchange)::date, run.as_of) AS as_of) d
     WHERE n.newest >= d.as_of
  )
  UPDATE asset_processing_state s SET prices_checked_through = d.as_of, updated_at = now()
    FROM work_items w JOIN assets a ON a.id = w.asset_id JOIN published d ON d.exchange = a.exchange
   WHERE w.execution_id = $1 AND w.status = 'done' AND w.operation IN ('price_update', 'history_load', 'adjustment_refresh')
     AND s.asset_id = w.asset_id AND s.prices_loaded
     AND (s.prices_checked_through IS NULL OR s.prices_checked_through < d.as_of)`;

/** After a run: its fetched tickers without a bar on its day are complete through the day, where the exchange published it. */
export async function extendCheckedThrough(q: Queryable, executionId: number): Promise<void> {
  await q.query(EXTEND_CHECKED_THROUGH, [executionId]);
}

// A day taken for a holiday had bars after all: the exchange's tickers checked through it
// without its bar load their history again (1 call each; a wrong holiday is rare).
const REOPEN_DAY = `
  UPDATE asset_processing_state s SET needs_prices_reprocess = true, updated_at = now()
    FROM assets a
   WHERE a.id = s.asset_id AND a.exchange = $1 AND a.is_active AND s.prices_loaded AND NOT s.needs_prices_reprocess
     AND coalesce(s.prices_checked_through, s.prices_last_date) >= $2::date
     AND NOT EXISTS (SELECT 1 FROM stock_prices p WHERE p.asset_id = s.asset_id AND p.date = $2::date)`;

/** After a learnt holiday proved wrong: the tickers that skipped its bar fetch their history again; how many. */
export async function reopenSkippedDay(q: Queryable, exchange: string, day: string): Promise<number> {
  return (await q.query(REOPEN_DAY, [exchange, day])).rowCount ?? 0;
}

const MARK_CALCULATED = `
  UPDATE asset_processing_state SET indicators_calculated = true, indicators_calculated_at = now(),
         needs_indicators_reprocess = false, updated_at = now()
   WHERE asset_id = ANY($1::bigint[])`;

/** The indicators of these assets are current. */
export async function markIndicatorsCalculated(q: Queryable, assetIds: number[]): Promise<void> {
  await q.query(MARK_CALCULATED, [assetIds]);
}

// Stale: prices changed since the last calculation, never calculated, or flagged; or its
// history is queued (a backfill a run's budget left for the next).
const INDICATORS_STALE = `
  UPDATE asset_processing_state SET needs_indicators_reprocess = true, updated_at = now()
   WHERE asset_id = ANY($1::bigint[]) AND NOT needs_indicators_reprocess`;

/** Bars of these assets were corrected, quarantined or let back in: their indicators are computed again. */
export async function markIndicatorsStale(q: Queryable, assetIds: number[]): Promise<void> {
  if (assetIds.length > 0) await q.query(INDICATORS_STALE, [assetIds]);
}

const STALE_INDICATORS = `
  SELECT a.id FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE a.is_active AND s.prices_loaded
     AND ($1::text[] IS NULL OR a.exchange = ANY($1::text[]))
     AND ($2::text[] IS NULL OR a.symbol = ANY($2::text[]))
     AND (s.needs_indicators_reprocess OR s.indicators_calculated_at IS NULL
          OR s.indicators_calculated_at < s.prices_last_updated_at
          OR EXISTS (SELECT 1 FROM indicator_history_queue h WHERE h.asset_id = s.asset_id))
   ORDER BY a.id`;

/** Active assets of these exchanges or symbols (null: all) whose indicators are stale. */
export async function assetsWithStaleIndicators(
  q: Queryable,
  exchanges: string[] | null,
  symbols: string[] | null,
): Promise<number[]> {
  return (await q.query<{ id: string }>(STALE_INDICATORS, [exchanges, symbols])).rows.map((r) => Number(r.id));
}

// A history the old plan cut short (the free plan's year) may be whole under the new one.
const REFETCH_LIMITED_HISTORIES = `
  UPDATE asset_processing_state SET needs_prices_reprocess = true, updated_at = now()
   WHERE history_limited AND NOT needs_prices_reprocess`;

/** After a plan change: histories the old plan cut short are fetched whole again; how many. */
export async function refetchLimitedHistories(q: Queryable): Promise<number> {
  return (await q.query(REFETCH_LIMITED_HISTORIES)).rowCount ?? 0;
}

const ENSURE_STATES = `INSERT INTO asset_processing_state (asset_id) SELECT unnest($1::bigint[]) ON CONFLICT (asset_id) DO NOTHING`;

/** New assets get their state row (nothing loaded yet). */
export async function ensureStates(q: Queryable, assetIds: number[]): Promise<void> {
  if (assetIds.length > 0) await q.query(ENSURE_STATES, [assetIds]);
}

const FORGET_NOT_FOUND = `
  UPDATE asset_processing_state SET fundamentals_not_found_on = NULL, prices_not_found_on = NULL, updated_at = now()
   WHERE asset_id = ANY($1::bigint[]) AND (fundamentals_not_found_on IS NOT NULL OR prices_not_found_on IS NOT NULL)`;

/** Assets back in their exchange's list: EODHD is asked again for what it did not have. */
export async function forgetNotFound(q: Queryable, assetIds: number[]): Promise<void> {
  if (assetIds.length > 0) await q.query(FORGET_NOT_FOUND, [assetIds]);
}

const FLAG_CURRENCY_REFRESH = `
  UPDATE asset_processing_state s
     SET needs_adjustment_refresh = true, adjustment_action_date = coalesce(s.adjustment_action_date, s.prices_first_date), updated_at = now()
   WHERE s.asset_id = ANY($1::bigint[]) AND s.prices_loaded`;

/** Listings whose quote currency changed: their whole history again, in the new currency. */
export async function flagCurrencyRefresh(q: Queryable, assetIds: number[]): Promise<void> {
  if (assetIds.length > 0) await q.query(FLAG_CURRENCY_REFRESH, [assetIds]);
}

const RESET_TICKER = `SELECT * FROM reset_ticker_for_reprocessing($1, $2)`;

/**
 * Brings a ticker back after failures (or a "not found"): its failure count cleared and the
 * scope's data marked for the next run. Null when no asset has that symbol.
 */
export async function resetTicker(
  q: Queryable,
  symbol: string,
  scope: 'all' | 'fundamentals' | 'prices' | 'indicators',
): Promise<Record<string, unknown> | null> {
  try {
    return (await q.query(RESET_TICKER, [symbol, scope])).rows[0] ?? null;
  } catch (err) {
    if ((err as { code?: string }).code === 'P0002') return null;
    throw err;
  }
}
