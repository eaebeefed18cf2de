/**
 * A first series goes in by COPY; bars that turn out to be stored already are upserted
 * instead (nothing lost, nothing doubled); a row COPY refuses fails the statement, it does
 * not hang the connection.
 */

import test from 'ava';
import { inTransaction } from '../shared/platform/db.js';
import { insertNewSeries, type PriceRow } from '../shared/store/prices.js';
import { createTestDb, type TestDb } from './helpers/db.js';

let tdb: TestDb;
test.before(async () => {
  tdb = await createTestDb();
});
test.after.always(async () => {
  await tdb?.drop();
});

const asset = async (symbol: string) =>
  Number(
    (
      await tdb.pool.query<{ id: string }>(
        `INSERT INTO assets (symbol, code, exchange, region) VALUES ($1, split_part($1, '.', 1), 'US', 'us') RETURNING id`,
        [symbol],
      )
    ).rows[0]!.id,
  );

const series = (assetId: number, n: number, offset = 0): PriceRow[] =>
  Array.from({ length: n }, (_, i) => {
    const d = new Date(Date.UTC(2024, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
    const c = 100 + i / 7 + offset;
    return {
      assetId,
      date: d,
      open: c - 0.5,
      high: c + 1.25,
      low: c - 1.125,
      close: c,
      adjusted_close: c * 0.98,
      volume: 1182479.74 + i,
    };
  });

const stored = async (assetId: number) =>
  (
    await tdb.pool.query(
      `SELECT date, open, high, low, close, adjusted_close, volume FROM stock_prices WHERE asset_id = $1 ORDER BY date`,
      [assetId],
    )
  ).rows;

test('a first series is copied in whole, values exact', async (t) => {
  const id = await asset('COPY1.US');
  const rows = series(id, 500);
  const r = await inTransaction(tdb.pool, (c) => insertNewSeries(c, rows));
  t.deepEqual(r, { inserted: 500, updated: 0 });
  const back = await stored(id);
  t.is(back.length, 500);
  t.deepEqual(
    back[123],
    (({ assetId: _, ...b }) => b)(rows[123]!),
    'float8 values survive the text format exactly (fractional volume too)',
  );
});

test('bars already stored: the copy is undone and the upsert writes them, in the same transaction', async (t) => {
  const id = await asset('COPY2.US');
  await inTransaction(tdb.pool, (c) => insertNewSeries(c, series(id, 10)));
  // The state said "no series" but 10 bars are there: 10 of 20 differ (a correction), 10 are new.
  const r = await inTransaction(tdb.pool, async (c) => {
    const w = await insertNewSeries(c, series(id, 20, 1));
    await c.query('SELECT 1'); // the transaction is still usable
    return w;
  });
  t.deepEqual(r, { inserted: 10, updated: 10 });
  const back = await stored(id);
  t.is(back.length, 20);
  t.is(back[0].close, 101);
});

test('a row COPY refuses fails the call and the transaction; the connection goes on', async (t) => {
  const id = await asset('COPY3.US');
  const bad = series(id, 5);
  bad[3] = { ...bad[3]!, date: '2024-13-45' };
  const err = await t.throwsAsync(inTransaction(tdb.pool, (c) => insertNewSeries(c, bad)));
  t.regex(err!.message, /date|out of range/i);
  t.is((await stored(id)).length, 0, 'nothing written');
  // Every connection of the pool still answers.
  const answers = await Promise.all(Array.from({ length: 10 }, () => tdb.pool.query('SELECT 1 AS one')));
  t.true(answers.every((a) => a.rows[0].one === 1));
});
