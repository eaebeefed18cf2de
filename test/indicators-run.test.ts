/**
 * calc-indicators end to end: the fixture's series stored as assets' prices, calculated by
 * the function's own code, read back from technical_indicators: every column equals the
 * TA-Lib reference within its tolerance; the series under 200 bars gets no row.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { inProcessPipeline } from '../dev/in-process.js';
import { INDICATOR_COLUMNS } from '../shared/domain/indicators.js';
import { calcIndicators } from '../shared/steps/calc-indicators.js';
import { createTestDb, type TestDb } from './helpers/db.js';

interface Series {
  id: string;
  bars: { date: string[]; open: number[]; high: number[]; low: number[]; close: number[]; volume: number[] };
  expected: Record<string, number | null> | null;
}

const fixture = JSON.parse(
  readFileSync(path.resolve('test', 'fixtures', 'talib', 'indicators-reference.json'), 'utf8'),
) as { series: Series[] };

let tdb: TestDb;
test.before(async () => {
  tdb = await createTestDb();
});
test.after.always(async () => {
  await tdb?.drop();
});

test("stored indicators of the fixture series equal TA-Lib's", async (t) => {
  const symbols: string[] = [];
  for (const [i, s] of fixture.series.entries()) {
    const symbol = `FX${i}.US`;
    symbols.push(symbol);
    const { rows } = await tdb.pool.query(
      `INSERT INTO assets (symbol, code, exchange, venue, region) VALUES ($1, $2, 'US', 'NYSE', 'us') RETURNING id`,
      [symbol, `FX${i}`],
    );
    const id = rows[0].id as number;
    await tdb.pool.query(
      `INSERT INTO asset_processing_state (asset_id, prices_loaded, prices_last_updated_at) VALUES ($1, true, now())`,
      [id],
    );
    // adjusted_close = close: the fixture's prices are the series as TA-Lib saw them.
    await tdb.pool.query(
      `INSERT INTO stock_prices (asset_id, date, open, high, low, close, adjusted_close, volume)
      SELECT $1, * FROM unnest($2::date[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $6::float8[], $7::bigint[])`,
      [id, s.bars.date, s.bars.open, s.bars.high, s.bars.low, s.bars.close, s.bars.volume.map((v) => Math.round(v))],
    );
  }
  const p = await inProcessPipeline(tdb.pool, 'http://127.0.0.1:9/api');
  const r = await calcIndicators(p.ctx, { symbols }, null);
  t.is(r.status, 200);
  for (const [i, s] of fixture.series.entries()) {
    const { rows } = await tdb.pool.query(
      `SELECT t.* FROM technical_indicators t JOIN assets a ON a.id = t.asset_id WHERE a.symbol = $1`,
      [symbols[i]],
    );
    if (s.expected === null) {
      t.is(rows.length, 0, `${s.id}: fewer than 200 bars, no row`);
      continue;
    }
    const row = rows[0];
    t.is(row.bars_used, Math.min(500, s.bars.close.length));
    t.is(row.price_date, s.bars.date[s.bars.date.length - 1]);
    for (const c of INDICATOR_COLUMNS) {
      if (!(c in s.expected)) continue;
      const e = s.expected[c];
      const a = row[c] as number | null;
      if (e === null) {
        t.is(a, null, `${s.id}.${c}`);
        continue;
      }
      t.true(a !== null && Math.abs(a - e) <= 1e-6 * Math.max(1, Math.abs(e)), `${s.id}.${c}: ${a} vs ${e}`);
    }
  }
});
