/**
 * stock_prices, prices_to_check and indicator_history_queue: every write to them is here. collect-region
 * puts the statements for one ticker (prices, fundamentals, state, details row, work item)
 * into one transaction, so they land together or not at all. Every bar written or changed
 * queues its asset for the quality checks (prices_to_check, from its earliest such date)
 * and for its indicator history (indicator_history_queue, likewise), in the same
 * statement: no write can skip the checks or leave a stale history.
 */

import type pg from 'pg';
import type { EodBar } from '../eodhd/schemas.js';
import { copyIn } from '../platform/copy-in.js';
import type { Queryable } from '../platform/db.js';
import { rowsWritten } from '../platform/metrics.js';

// A re-sent bar that equals the stored one is not rewritten (no dead tuples on re-runs);
// one that differs (a late correction, a new adjusted_close) replaces it.
const QUEUE_CHECKS = `
  INSERT INTO prices_to_check AS q (asset_id, from_date)
  SELECT asset_id, min(date) FROM written GROUP BY asset_id
  ON CONFLICT (asset_id) DO UPDATE SET from_date = least(q.from_date, EXCLUDED.from_date), queued_at = now()`;

// calc-indicators computes the history again from that date (a split's history reload
// rewrites every adjusted close: from the first bar, so the whole retained history). Reads
// `written(asset_id, date)`: a statement that changes what a history row reads includes it
// as a CTE, so that no write can leave a stale history (exported for the fundamentals'
// write: the rows read what was known of the fundamentals on their day).
export const QUEUE_HISTORY = `
  INSERT INTO indicator_history_queue AS h (asset_id, from_date)
  SELECT asset_id, min(date) FROM written GROUP BY asset_id
  ON CONFLICT (asset_id) DO UPDATE SET from_date = least(h.from_date, EXCLUDED.from_date), queued_at = clock_timestamp()`;

const UPSERT_PRICES = `
  WITH written AS (
    INSERT INTO stock_prices AS p (asset_id, date, open, high, low, close, adjusted_close, volume)
    SELECT u.asset_id, u.date, u.open, u.high, u.low, u.close, u.adjusted_close, u.volume
      FROM unnest($1::bigint[], $2::date[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
        AS u(asset_id, date, open, high, low, close, adjusted_close, volume)
    ON CONFLICT (asset_id, date) DO UPDATE SET
      open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
      adjusted_close = EXCLUDED.adjusted_close, volume = EXCLUDED.volume
    WHERE (p.open, p.high, p.low, p.close, p.adjusted_close, p.volume)
          IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.adjusted_close, EXCLUDED.volume)
    RETURNING p.asset_id, p.date, (xmax = 0) AS inserted
  ), queued AS (${QUEUE_CHECKS}), history AS (${QUEUE_HISTORY})
  SELECT inserted FROM written`;

export interface PriceRow extends EodBar {
  assetId: number;
}

/** Upserts bars of one or many assets; returns how many rows were new. */
export async function upsertPrices(q: Queryable, rows: PriceRow[]): Promise<{ inserted: number; updated: number }> {
  if (rows.length === 0) return { inserted: 0, updated: 0 };
  const r = await q.query<{ inserted: boolean }>(UPSERT_PRICES, [
    rows.map((b) => b.assetId),
    rows.map((b) => b.date),
    rows.map((b) => b.open),
    rows.map((b) => b.high),
    rows.map((b) => b.low),
    rows.map((b) => b.close),
    rows.map((b) => b.adjusted_close),
    rows.map((b) => b.volume),
  ]);
  let inserted = 0;
  for (const x of r.rows) if (x.inserted) inserted++;
  rowsWritten.inc({ table: 'stock_prices' }, r.rows.length);
  return { inserted, updated: r.rows.length - inserted };
}

// A benchmark index's bars: the same upsert, without the queue of the quality checks (they
// judge listings: an index has no splits, dividends or quote units to get wrong, and no
// region verifies the INDX exchange, so its queue entries would wait for ever).
const UPSERT_INDEX_BARS = `
  INSERT INTO stock_prices AS p (asset_id, date, open, high, low, close, adjusted_close, volume)
  SELECT $1, u.date, u.open, u.high, u.low, u.close, u.adjusted_close, u.volume
    FROM unnest($2::date[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
      AS u(date, open, high, low, close, adjusted_close, volume)
  ON CONFLICT (asset_id, date) DO UPDATE SET
    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
    adjusted_close = EXCLUDED.adjusted_close, volume = EXCLUDED.volume
  WHERE (p.open, p.high, p.low, p.close, p.adjusted_close, p.volume)
        IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.adjusted_close, EXCLUDED.volume)`;

/** Upserts a benchmark index's bars; how many rows were written (new or changed). */
export async function upsertIndexBars(q: Queryable, assetId: number, bars: EodBar[]): Promise<number> {
  if (bars.length === 0) return 0;
  const r = await q.query(UPSERT_INDEX_BARS, [
    assetId,
    bars.map((b) => b.date),
    bars.map((b) => b.open),
    bars.map((b) => b.high),
    bars.map((b) => b.low),
    bars.map((b) => b.close),
    bars.map((b) => b.adjusted_close),
    bars.map((b) => b.volume),
  ]);
  rowsWritten.inc({ table: 'stock_prices' }, r.rowCount ?? 0);
  return r.rowCount ?? 0;
}

const PRICE_COLUMNS = ['asset_id', 'date', 'open', 'high', 'low', 'close', 'adjusted_close', 'volume'];

const QUEUE_SERIES = `
  WITH written AS (SELECT * FROM unnest($1::bigint[], $2::date[]) AS w(asset_id, date)),
  history AS (${QUEUE_HISTORY})
  ${QUEUE_CHECKS}`;

/**
 * The bars of an asset with no stored series (a first history: day 1, a new listing): COPY,
 * about half the CPU of the upsert on both sides. Inside the caller's transaction, under a
 * savepoint: if any bar is stored after all (the state said none; an operator's insert),
 * the copy is undone and the upsert writes them.
 */
export async function insertNewSeries(
  client: pg.PoolClient,
  rows: PriceRow[],
): Promise<{ inserted: number; updated: number }> {
  if (rows.length === 0) return { inserted: 0, updated: 0 };
  let lines = '';
  // Dates are checked 'YYYY-MM-DD' and numbers finite: nothing to escape in COPY's text format.
  for (const b of rows)
    lines += `${b.assetId}\t${b.date}\t${b.open}\t${b.high}\t${b.low}\t${b.close}\t${b.adjusted_close}\t${b.volume}\n`;
  await client.query('SAVEPOINT new_series');
  try {
    const copied = await copyIn(client, 'stock_prices', PRICE_COLUMNS, lines);
    await client.query(QUEUE_SERIES, [rows.map((b) => b.assetId), rows.map((b) => b.date)]);
    await client.query('RELEASE SAVEPOINT new_series');
    rowsWritten.inc({ table: 'stock_prices' }, copied);
    return { inserted: copied, updated: 0 };
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;
    await client.query('ROLLBACK TO SAVEPOINT new_series');
    return upsertPrices(client, rows);
  }
}

// ---------------------------------------------------------------------------------------
// The quality checks' side: the queue, the bars they read, and the bars a re-read replaces.

/**
 * Takes up to `limit` queued assets of these exchanges (null: any), locked for the caller's
 * transaction (SKIP LOCKED: replicas take different ones) and deleted with it: a checker
 * that dies leaves them queued.
 */
const TAKE_QUEUED = `
  DELETE FROM prices_to_check q
   WHERE q.asset_id IN (
     SELECT q2.asset_id FROM prices_to_check q2 JOIN assets a ON a.id = q2.asset_id
      WHERE $1::text[] IS NULL OR a.exchange = ANY($1::text[])
      ORDER BY q2.asset_id LIMIT $2 FOR UPDATE OF q2 SKIP LOCKED)
  RETURNING q.asset_id, q.from_date::text AS from_date`;

export async function takeQueuedChecks(
  client: pg.PoolClient,
  exchanges: string[] | null,
  limit: number,
): Promise<Array<{ asset_id: number; from_date: string }>> {
  return (await client.query<{ asset_id: string; from_date: string }>(TAKE_QUEUED, [exchanges, limit])).rows.map(
    (r) => ({ asset_id: Number(r.asset_id), from_date: r.from_date }),
  );
}

const QUEUED_COUNT = `
  SELECT count(*)::int AS n FROM prices_to_check q JOIN assets a ON a.id = q.asset_id
   WHERE $1::text[] IS NULL OR a.exchange = ANY($1::text[])`;

/** Assets of these exchanges (null: any) waiting for their checks, taken or not. */
export async function queuedCheckCount(q: Queryable, exchanges: string[] | null): Promise<number> {
  return (await q.query<{ n: number }>(QUEUED_COUNT, [exchanges])).rows[0]!.n;
}

/** The bars an asset's checks judge (from from_date) with their baseline: about 80 sessions before. */
const BARS_FOR_CHECKS = `
  SELECT t.asset_id, p.date::text AS date, p.open, p.high, p.low, p.close, p.adjusted_close, p.volume
    FROM unnest($1::bigint[], $2::date[]) AS t(asset_id, from_date)
    JOIN stock_prices p ON p.asset_id = t.asset_id AND p.date >= t.from_date - 120
   ORDER BY t.asset_id, p.date`;

export interface StoredBar extends EodBar {
  asset_id: number;
}

export async function barsForChecks(
  q: Queryable,
  assets: Array<{ asset_id: number; from_date: string }>,
): Promise<StoredBar[]> {
  const rows = (
    await q.query<StoredBar>(BARS_FOR_CHECKS, [assets.map((a) => a.asset_id), assets.map((a) => a.from_date)])
  ).rows;
  return bigintIds(rows);
}

/** pg gives bigint as text: the ids made numbers in place (a copy of every row would double a batch's memory). */
function bigintIds(rows: StoredBar[]): StoredBar[] {
  for (const r of rows) r.asset_id = Number(r.asset_id);
  return rows;
}

const BARS_OF_DAY = `
  SELECT p.asset_id, p.date::text AS date, p.open, p.high, p.low, p.close, p.adjusted_close, p.volume
    FROM stock_prices p WHERE p.asset_id = ANY($1::bigint[]) AND p.date >= $2::date AND p.date <= $3::date`;

/** The stored bars of these assets from `from` through `to`, to compare with what the API answers again. */
export async function storedBars(q: Queryable, assetIds: number[], from: string, to: string): Promise<StoredBar[]> {
  return bigintIds((await q.query<StoredBar>(BARS_OF_DAY, [assetIds, from, to])).rows);
}

const DROP_BAR = `
  WITH written AS (DELETE FROM stock_prices WHERE asset_id = $1 AND date = $2 RETURNING asset_id, date),
  history AS (${QUEUE_HISTORY})
  SELECT 1 FROM written`;

/** An operator's decision: the bar is wrong and goes (its finding says so). True when there was one. */
export async function dropBar(q: Queryable, assetId: number, date: string): Promise<boolean> {
  return ((await q.query(DROP_BAR, [assetId, date])).rowCount ?? 0) > 0;
}

// ---------------------------------------------------------------------------------------
// The indicator history's side (calc-indicators reads the queue with the bars).

const QUEUE_HISTORY_FROM = `
  WITH written AS (SELECT * FROM unnest($1::bigint[], $2::date[]) AS w(asset_id, date)) ${QUEUE_HISTORY}`;

/** The bars these assets use changed from these dates (a quarantine opened or cleared): their history is computed again from there. */
export async function queueHistory(q: Queryable, rows: Array<{ assetId: number; fromDate: string }>): Promise<void> {
  if (rows.length === 0) return;
  await q.query(QUEUE_HISTORY_FROM, [rows.map((r) => r.assetId), rows.map((r) => r.fromDate)]);
}

// Only the entry that was read: one a price write queued since (a newer queued_at) stays.
const HISTORY_DONE = `
  DELETE FROM indicator_history_queue h USING unnest($1::bigint[], $2::timestamptz[]) AS d(asset_id, queued_at)
   WHERE h.asset_id = d.asset_id AND h.queued_at = d.queued_at`;

/** These assets' histories are computed through their queued entries (as read: queued_at). */
export async function historyDone(q: Queryable, rows: Array<{ assetId: number; queuedAt: string }>): Promise<void> {
  if (rows.length === 0) return;
  await q.query(HISTORY_DONE, [rows.map((r) => r.assetId), rows.map((r) => r.queuedAt)]);
}
