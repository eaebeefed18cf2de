/**
 * bulk_eod_rows: the day's bulk answer of an exchange, fetched once per run (a
 * pipeline_steps row 'bulk-eod'/EXCHANGE:DAY guards it) and read by every replica that
 * updates that exchange; dropped when the run is finalized. Every write to the table is here.
 */

import type { EodBar } from '../eodhd/schemas.js';
import type { Queryable } from '../platform/db.js';

/** A ticker's bar of the day in an exchange's bulk answer. */
export type BulkRow = EodBar & { code: string };

const BULK_ROWS_INSERT = `
  INSERT INTO bulk_eod_rows (execution_id, exchange, code, date, open, high, low, close, adjusted_close, volume)
  SELECT $1, $2, * FROM unnest($3::text[], $4::date[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::float8[])
  ON CONFLICT (execution_id, exchange, code, date) DO NOTHING`;

export async function storeBulkRows(
  q: Queryable,
  executionId: number,
  exchange: string,
  rows: BulkRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await q.query(BULK_ROWS_INSERT, [
    executionId,
    exchange,
    rows.map((r) => r.code),
    rows.map((r) => r.date),
    rows.map((r) => r.open),
    rows.map((r) => r.high),
    rows.map((r) => r.low),
    rows.map((r) => r.close),
    rows.map((r) => r.adjusted_close),
    rows.map((r) => r.volume),
  ]);
}

const BULK_ROWS_FOR = `
  SELECT code, date, open, high, low, close, adjusted_close, volume FROM bulk_eod_rows
   WHERE execution_id = $1 AND exchange = $2 AND code = ANY($3::text[])`;

export async function bulkRowsFor(q: Queryable, executionId: number, exchange: string, codes: string[]) {
  return (await q.query<BulkRow>(BULK_ROWS_FOR, [executionId, exchange, codes])).rows;
}

const DROP_BULK_ROWS = `DELETE FROM bulk_eod_rows WHERE execution_id = $1`;

/** A finished run's bulk answers are not needed any more. */
export async function dropBulkRows(q: Queryable, executionId: number): Promise<void> {
  await q.query(DROP_BULK_ROWS, [executionId]);
}
