/**
 * price_corrections: the bars the API answered differently when asked again (every write
 * to the table is here), with the old values (NULL: the bar was not stored, a late bar)
 * and the new ones, when seen, and by what (a re-read of a session, a re-ask of a
 * quarantined bar). Writing one replaces the stored bar in the same transaction.
 */
import type { EodBar } from '../eodhd/schemas.js';
import type { Queryable } from '../platform/db.js';
import { priceCorrections, rowsWritten } from '../platform/metrics.js';
import { upsertPrices } from './prices.js';

export interface Correction {
  assetId: number;
  date: string;
  /** What was stored (null: nothing). */
  old: EodBar | null;
  /** What the API answers now. */
  now: EodBar;
}

const RECORD = `
  INSERT INTO price_corrections (asset_id, date, execution_id, source,
                                 old_open, old_high, old_low, old_close, old_volume,
                                 new_open, new_high, new_low, new_close, new_volume)
  SELECT u.asset_id, u.date, $1, $2, u.oo, u.oh, u.ol, u.oc, u.ov, u.no, u.nh, u.nl, u.nc, u.nv
    FROM unnest($3::bigint[], $4::date[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[],
                $10::float8[], $11::float8[], $12::float8[], $13::float8[], $14::float8[])
      AS u(asset_id, date, oo, oh, ol, oc, ov, no, nh, nl, nc, nv)`;

/** Records the corrections and writes the new bars (which queues their checks). */
export async function applyCorrections(
  q: Queryable,
  executionId: number | null,
  source: 'recheck' | 'reask',
  corrections: Correction[],
): Promise<void> {
  if (corrections.length === 0) return;
  await q.query(RECORD, [
    executionId,
    source,
    corrections.map((c) => c.assetId),
    corrections.map((c) => c.date),
    corrections.map((c) => c.old?.open ?? null),
    corrections.map((c) => c.old?.high ?? null),
    corrections.map((c) => c.old?.low ?? null),
    corrections.map((c) => c.old?.close ?? null),
    corrections.map((c) => c.old?.volume ?? null),
    corrections.map((c) => c.now.open),
    corrections.map((c) => c.now.high),
    corrections.map((c) => c.now.low),
    corrections.map((c) => c.now.close),
    corrections.map((c) => c.now.volume),
  ]);
  rowsWritten.inc({ table: 'price_corrections' }, corrections.length);
  priceCorrections.inc({ source }, corrections.length);
  await upsertPrices(
    q,
    corrections.map((c) => ({ assetId: c.assetId, ...c.now })),
  );
}

/**
 * Whether the API's bar is a correction of the stored one: a raw value differs (open,
 * high, low, close, volume). adjusted_close alone is not: it moves for the whole history at
 * each split or dividend, which the adjustment refresh rewrites at once.
 */
export function differs(stored: EodBar, answered: EodBar): boolean {
  const ne = (a: number, b: number) => Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  return (
    ne(stored.open, answered.open) ||
    ne(stored.high, answered.high) ||
    ne(stored.low, answered.low) ||
    ne(stored.close, answered.close) ||
    ne(stored.volume, answered.volume)
  );
}

const OF_RUN = `SELECT count(*)::int AS n FROM price_corrections WHERE execution_id = $1`;

export async function correctionsOfRun(q: Queryable, executionId: number): Promise<number> {
  return (await q.query<{ n: number }>(OF_RUN, [executionId])).rows[0]!.n;
}
