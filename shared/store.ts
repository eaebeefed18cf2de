/**
 * Writes of collected data. Each function here is one statement; collect.ts puts the
 * statements for one ticker (prices, fundamentals, state, details row, work item) into
 * one transaction, so they land together or not at all.
 */
import type { Queryable } from './db.js';
import type { EodBar, Fundamentals } from './eodhd-schemas.js';
import { extractFundamentals, FUNDAMENTAL_COLUMNS, FUNDAMENTALS_MAPPING_VERSION } from './fundamentals.js';

// A re-sent bar that equals the stored one is not rewritten (no dead tuples on re-runs);
// one that differs (a late correction, a new adjusted_close) replaces it.
const UPSERT_PRICES = `
  INSERT INTO stock_prices AS p (asset_id, date, open, high, low, close, adjusted_close, volume)
  SELECT u.asset_id, u.date, u.open, u.high, u.low, u.close, u.adjusted_close, u.volume
    FROM unnest($1::bigint[], $2::date[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
      AS u(asset_id, date, open, high, low, close, adjusted_close, volume)
  ON CONFLICT (asset_id, date) DO UPDATE SET
    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
    adjusted_close = EXCLUDED.adjusted_close, volume = EXCLUDED.volume
  WHERE (p.open, p.high, p.low, p.close, p.adjusted_close, p.volume)
        IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.adjusted_close, EXCLUDED.volume)
  RETURNING (xmax = 0) AS inserted`;

export interface PriceRow extends EodBar { assetId: number }

/** Upserts bars of one or many assets; returns how many rows were new. */
export async function upsertPrices(q: Queryable, rows: PriceRow[]): Promise<{ inserted: number; updated: number }> {
  if (rows.length === 0) return { inserted: 0, updated: 0 };
  const r = await q.query<{ inserted: boolean }>(UPSERT_PRICES, [
    rows.map((b) => b.assetId), rows.map((b) => b.date), rows.map((b) => b.open), rows.map((b) => b.high),
    rows.map((b) => b.low), rows.map((b) => b.close), rows.map((b) => b.adjusted_close), rows.map((b) => b.volume),
  ]);
  let inserted = 0;
  for (const x of r.rows) if (x.inserted) inserted++;
  return { inserted, updated: r.rows.length - inserted };
}

const UPSERT_FUNDAMENTALS = `
  INSERT INTO fundamentals (asset_id, data, fetched_at, columns_version, ${FUNDAMENTAL_COLUMNS.join(', ')})
  VALUES ($1, $2::jsonb, now(), ${FUNDAMENTALS_MAPPING_VERSION}, ${FUNDAMENTAL_COLUMNS.map((_, i) => `$${i + 3}`).join(', ')})
  ON CONFLICT (asset_id) DO UPDATE SET data = EXCLUDED.data, fetched_at = now(), columns_version = EXCLUDED.columns_version,
    ${FUNDAMENTAL_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;

// The asset's quote currency is the list's (prices), not the document's: they differ on
// London (prices in pence, fundamentals in pounds) and are kept apart.
const REFRESH_ASSET = `
  UPDATE assets SET name = coalesce($2, name), isin = coalesce($3, isin), country = coalesce($4, country),
         sector = $5, industry = $6, type = coalesce(type, $7), updated_at = now()
   WHERE id = $1`;

export async function upsertFundamentals(q: Queryable, assetId: number, doc: Fundamentals): Promise<void> {
  const f = extractFundamentals(doc);
  // jsonb cannot hold \u0000; EODHD text fields occasionally do.
  const json = JSON.stringify(doc).replace(/\\u0000/g, '');
  await q.query(UPSERT_FUNDAMENTALS, [assetId, json, ...FUNDAMENTAL_COLUMNS.map((c) => f[c])]);
  await q.query(REFRESH_ASSET, [assetId, f.name, f.isin, f.country, f.sector, f.industry, f.instrument_type]);
}

const STALE_COLUMNS = `SELECT asset_id, data FROM fundamentals WHERE columns_version < ${FUNDAMENTALS_MAPPING_VERSION} ORDER BY asset_id LIMIT $1`;
const REFILL_COLUMNS = `
  UPDATE fundamentals SET columns_version = ${FUNDAMENTALS_MAPPING_VERSION}, ${FUNDAMENTAL_COLUMNS.map((c, i) => `${c} = $${i + 2}`).join(', ')}
   WHERE asset_id = $1`;

/**
 * Fills the columns of rows an older mapping filled, from their stored documents (no API
 * call); `batch` rows at a time. Returns how many rows it filled.
 */
export async function refillFundamentalColumns(q: Queryable, batch = 200): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = (await q.query<{ asset_id: number; data: Fundamentals }>(STALE_COLUMNS, [batch])).rows;
    for (const r of rows) {
      const f = extractFundamentals(r.data);
      await q.query(REFILL_COLUMNS, [r.asset_id, ...FUNDAMENTAL_COLUMNS.map((c) => f[c])]);
    }
    total += rows.length;
    if (rows.length < batch) return total;
  }
}

const STATE_PRICES = `
  UPDATE asset_processing_state SET
    prices_loaded = true,
    prices_first_date = CASE WHEN $2::date IS NULL THEN prices_first_date ELSE least(coalesce(prices_first_date, $2::date), $2::date) END,
    prices_last_date = CASE WHEN $3::date IS NULL THEN prices_last_date ELSE greatest(coalesce(prices_last_date, $3::date), $3::date) END,
    prices_checked_through = greatest(coalesce(prices_checked_through, $4::date), $4::date),
    prices_last_updated_at = CASE WHEN $5 THEN now() ELSE prices_last_updated_at END,
    prices_currency = coalesce($6, prices_currency),
    needs_prices_reprocess = false,
    updated_at = now()
  WHERE asset_id = $1`;

/**
 * Records that an asset's prices were fetched through checkedThrough; changed = rows were
 * written; currency: the currency of a whole history just fetched (null: bars appended).
 */
export async function markPrices(q: Queryable, assetId: number, firstDate: string | null, lastDate: string | null, checkedThrough: string, changed: boolean, currency: string | null = null): Promise<void> {
  await q.query(STATE_PRICES, [assetId, firstDate, lastDate, checkedThrough, changed, currency]);
}

// Only a change is written (and reported): the same warning on every run is one event.
const STATE_HISTORY_LIMIT = `
  UPDATE asset_processing_state SET history_limited = $2, history_requested_from = $3, history_received_from = $4,
         history_warning = $5, updated_at = now()
   WHERE asset_id = $1 AND (history_limited, history_warning) IS DISTINCT FROM ($2, $5)
  RETURNING 1`;

/**
 * Records whether a whole history came cut short (the API's warning, what was asked, what
 * came) or complete; true when that changed.
 */
export async function markHistoryLimit(q: Queryable, assetId: number, limit: { requestedFrom: string; receivedFrom: string | null; warning: string } | null): Promise<boolean> {
  const r = await q.query(STATE_HISTORY_LIMIT, [assetId, limit !== null, limit?.requestedFrom ?? null, limit?.receivedFrom ?? null, limit?.warning ?? null]);
  return (r.rowCount ?? 0) > 0;
}

const STATE_NOT_FOUND = {
  prices: `UPDATE asset_processing_state SET prices_not_found_on = $2, updated_at = now() WHERE asset_id = $1`,
  fundamentals: `UPDATE asset_processing_state SET fundamentals_not_found_on = $2, updated_at = now() WHERE asset_id = $1`,
} as const;

/** EODHD does not know the symbol's prices or fundamentals: not asked again until the symbol reappears in its list. */
export async function markNotFound(q: Queryable, assetId: number, what: keyof typeof STATE_NOT_FOUND, day: string): Promise<void> {
  await q.query(STATE_NOT_FOUND[what], [assetId, day]);
}

const STATE_FUNDAMENTALS = `
  UPDATE asset_processing_state SET fundamentals_loaded = true, fundamentals_loaded_at = now(),
         needs_fundamentals_reprocess = false, updated_at = now()
   WHERE asset_id = $1`;

export async function markFundamentals(q: Queryable, assetId: number): Promise<void> {
  await q.query(STATE_FUNDAMENTALS, [assetId]);
}

const STATE_OUTCOME = `
  UPDATE asset_processing_state SET
    consecutive_failures = CASE WHEN $2 THEN 0 ELSE consecutive_failures + 1 END,
    last_error_message = CASE WHEN $2 THEN last_error_message ELSE $3 END,
    last_error_at = CASE WHEN $2 THEN last_error_at ELSE now() END,
    last_execution_id = $4, updated_at = now()
  WHERE asset_id = $1`;

/** A success resets the failure count; a failure increments it and keeps the message. */
export async function markOutcome(q: Queryable, assetId: number, ok: boolean, error: string | null, executionId: number): Promise<void> {
  await q.query(STATE_OUTCOME, [assetId, ok, error, executionId]);
}

export interface DetailRow {
  executionId: number;
  assetId: number;
  operation: string;
  status: 'success' | 'failed' | 'skipped';
  recordsInserted: number;
  apiCalls: number;
  durationMs: number;
  error: string | null;
  /** What the API said beside the data (a history cut short by the plan). */
  warning?: string | null;
}

const INSERT_DETAILS = `
  INSERT INTO asset_processing_details (execution_id, asset_id, operation, status, records_inserted, api_calls_used, duration_ms, error_message, warning)
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[], $8::text[], $9::text[])`;

export async function recordDetails(q: Queryable, rows: DetailRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(INSERT_DETAILS, [
    rows.map((r) => r.executionId), rows.map((r) => r.assetId), rows.map((r) => r.operation), rows.map((r) => r.status),
    rows.map((r) => r.recordsInserted), rows.map((r) => r.apiCalls), rows.map((r) => Math.round(r.durationMs)), rows.map((r) => r.error),
    rows.map((r) => r.warning ?? null),
  ]);
}
