/**
 * stock_prices: every write to the table is here. collect-region puts the statements for
 * one ticker (prices, fundamentals, state, details row, work item) into one transaction,
 * so they land together or not at all.
 */

import type pg from 'pg';
import type { EodBar } from '../eodhd/schemas.js';
import { copyIn } from '../platform/copy-in.js';
import type { Queryable } from '../platform/db.js';
import { rowsWritten } from '../platform/metrics.js';

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

const PRICE_COLUMNS = ['asset_id', 'date', 'open', 'high', 'low', 'close', 'adjusted_close', 'volume'];

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
    await client.query('RELEASE SAVEPOINT new_series');
    rowsWritten.inc({ table: 'stock_prices' }, copied);
    return { inserted: copied, updated: 0 };
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;
    await client.query('ROLLBACK TO SAVEPOINT new_series');
    return upsertPrices(client, rows);
  }
}
