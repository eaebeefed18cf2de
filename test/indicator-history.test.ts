/**
 * The indicator history (sql/023, calc-indicators): each stored session equals a full
 * recomputation on the stored bars up to that day; a corrected bar recomputes from its day
 * only; a split's rewrite of the adjusted series rewrites the history; retention prunes rows
 * and drops empty years; the functions' role creates a year's partition; bad input is a 400.
 */

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type pg from 'pg';
import { inProcessPipeline } from '../dev/in-process.js';
import { computeFigures, FIGURE_COLUMNS, FIGURES, type FigureBars } from '../shared/domain/figures.js';
import { computeIndicators, INDICATOR_COLUMNS, type IndicatorRow, MIN_BARS } from '../shared/domain/indicators.js';
import { createPool } from '../shared/platform/db.js';
import { CalcIndicatorsInput, parseInput } from '../shared/platform/input.js';
import { calcIndicators } from '../shared/steps/calc-indicators.js';
import { type PriceRow, upsertPrices } from '../shared/store/prices.js';
import { setSetting } from '../shared/store/settings.js';
import { createTestDb, type TestDb } from './helpers/db.js';

interface Bars {
  date: string[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  adjusted: number[];
  volume: number[];
}

const fixture = JSON.parse(
  readFileSync(path.resolve('test', 'fixtures', 'talib', 'indicators-reference.json'), 'utf8'),
) as { series: Array<{ id: string; bars: Omit<Bars, 'adjusted'> }> };

let tdb: TestDb;
test.before(async () => {
  tdb = await createTestDb();
});
test.after.always(async () => {
  await tdb?.drop();
});

/** A deterministic random walk of `n` weekday bars from `start`. */
function walk(n: number, start: string, seed: number): Bars {
  let x = seed;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  const b: Bars = { date: [], open: [], high: [], low: [], close: [], adjusted: [], volume: [] };
  let day = Date.parse(`${start}T00:00:00Z`);
  let c = 50;
  while (b.date.length < n) {
    const wd = new Date(day).getUTCDay();
    if (wd !== 0 && wd !== 6) {
      const o = c * (1 + (rnd() - 0.5) * 0.02);
      c = o * (1 + (rnd() - 0.5) * 0.04);
      b.date.push(new Date(day).toISOString().slice(0, 10));
      b.open.push(o);
      b.high.push(Math.max(o, c) * (1 + rnd() * 0.01));
      b.low.push(Math.min(o, c) * (1 - rnd() * 0.01));
      b.close.push(c);
      b.adjusted.push(c);
      b.volume.push(Math.round(1e5 + rnd() * 1e6));
    }
    day += 86_400_000;
  }
  return b;
}

async function addAsset(symbol: string, b: Bars): Promise<number> {
  const { rows } = await tdb.pool.query(
    `INSERT INTO assets (symbol, code, exchange, venue, region) VALUES ($1, $2, 'US', 'NYSE', 'us') RETURNING id`,
    [symbol, symbol.split('.')[0]],
  );
  const id = Number(rows[0].id);
  await tdb.pool.query(
    `INSERT INTO asset_processing_state (asset_id, prices_loaded, prices_last_updated_at) VALUES ($1, true, now())`,
    [id],
  );
  await upsertPrices(tdb.pool, priceRows(id, b));
  return id;
}

function priceRows(assetId: number, b: Bars, from = 0): PriceRow[] {
  const rows: PriceRow[] = [];
  for (let i = from; i < b.date.length; i++)
    rows.push({
      assetId,
      date: b.date[i]!,
      open: b.open[i]!,
      high: b.high[i]!,
      low: b.low[i]!,
      close: b.close[i]!,
      adjusted_close: b.adjusted[i]!,
      volume: b.volume[i]!,
    });
  return rows;
}

/** What a calculation on bar t's day gives: the bars up to t, adjusted as calc-indicators adjusts them. */
function expectedAt(b: Bars, t: number): { values: IndicatorRow; figures: Record<string, number | null> } | null {
  const f = b.close.slice(0, t + 1).map((c, i) => (c > 0 ? b.adjusted[i]! / c : 1));
  const series = {
    high: b.high.slice(0, t + 1).map((h, i) => h * f[i]!),
    low: b.low.slice(0, t + 1).map((l, i) => l * f[i]!),
    close: b.adjusted.slice(0, t + 1),
    volume: b.volume.slice(0, t + 1),
  };
  const values = computeIndicators(series);
  if (!values) return null;
  const fb: FigureBars = {
    date: b.date,
    open: b.open.map((o, i) => o * (b.close[i]! > 0 ? b.adjusted[i]! / b.close[i]! : 1)),
    close: b.adjusted,
    rawClose: b.close,
    volume: b.volume,
  };
  return { values, figures: computeFigures(fb, t, values) };
}

async function historyOf(assetId: number): Promise<Map<string, Record<string, unknown>>> {
  const { rows } = await tdb.pool.query(
    `SELECT h.*, h.date::text AS day, h.xmin::text AS version FROM indicator_history h WHERE asset_id = $1 ORDER BY date`,
    [assetId],
  );
  return new Map(rows.map((r) => [r.day as string, r]));
}

function close(a: unknown, e: number | null): boolean {
  if (e === null) return a === null;
  return typeof a === 'number' && Math.abs(a - e) <= 1e-9 * Math.max(1, Math.abs(e));
}

/** Every column of the stored row at bar t equals the recomputation. */
function assertSession(
  t: import('ava').ExecutionContext,
  b: Bars,
  i: number,
  row: Record<string, unknown> | undefined,
  label: string,
) {
  const e = expectedAt(b, i);
  if (!e) {
    t.is(row, undefined, `${label} ${b.date[i]}: no row under ${MIN_BARS} bars`);
    return;
  }
  t.truthy(row, `${label} ${b.date[i]}: a row`);
  t.is(row!.bars_used, Math.min(i + 1, 500), `${label} ${b.date[i]} bars_used`);
  for (const c of INDICATOR_COLUMNS)
    t.true(close(row![c], e.values[c]), `${label} ${b.date[i]} ${c}: ${row![c]} vs ${e.values[c]}`);
  for (const c of FIGURE_COLUMNS)
    t.true(close(row![c], e.figures[c]!), `${label} ${b.date[i]} ${c}: ${row![c]} vs ${e.figures[c]}`);
}

async function calc(input: CalcIndicatorsInput) {
  const p = await inProcessPipeline(tdb.pool, 'http://127.0.0.1:9/api');
  return calcIndicators(p.ctx, input, null);
}

test.serial('each stored session of the fixture equals a full recomputation on the bars up to that day', async (t) => {
  const s = fixture.series.find((x) => x.bars.date.length === 500)!;
  const b: Bars = { ...s.bars, adjusted: s.bars.close };
  const id = await addAsset('HIST0.US', b);
  const r = await calc({ symbols: ['HIST0.US'] });
  t.is(r.status, 200);
  t.like(r.body, { historySessions: 500, historyRows: 500 - MIN_BARS + 1, historyDeferred: 0 });
  const h = await historyOf(id);
  t.is(h.size, 500 - MIN_BARS + 1);
  for (let i = MIN_BARS - 5; i < 500; i += 17) assertSession(t, b, i, h.get(b.date[i]!), s.id);
  assertSession(t, b, 499, h.get(b.date[499]!), s.id);
  // The latest row is technical_indicators' row.
  const latest = (await tdb.pool.query('SELECT * FROM technical_indicators WHERE asset_id = $1', [id])).rows[0];
  for (const c of INDICATOR_COLUMNS) t.is(latest[c], h.get(b.date[499]!)![c], c);
  t.is((await tdb.pool.query('SELECT count(*)::int AS n FROM indicator_history_queue')).rows[0].n, 0);
  // The view: symbol, date, every column.
  const v = (
    await tdb.pool.query(`SELECT * FROM v_indicator_history WHERE symbol = 'HIST0.US' AND date = $1`, [b.date[499]])
  ).rows[0];
  for (const c of [...INDICATOR_COLUMNS, ...FIGURE_COLUMNS]) t.true(c in v, c);
});

test.serial('a corrected bar recomputes from its day only; a split rewrites the whole history', async (t) => {
  const b = walk(800, '2023-01-02', 7);
  const id = await addAsset('HIST1.US', b);
  t.is((await calc({ symbols: ['HIST1.US'] })).status, 200);
  const before = await historyOf(id);
  t.is(before.size, 504, 'two years of sessions: 504 rows (800 bars)');
  t.is([...before.keys()][0], b.date[800 - 504]);
  for (const i of [296, 300, 503, 504, 650, 799]) assertSession(t, b, i, before.get(b.date[i]!), 'walk');

  // A late correction of one bar's close: that day and the later ones are computed again.
  const d = 600;
  b.close[d] = b.close[d]! * 1.03;
  b.adjusted[d] = b.close[d]!;
  await upsertPrices(tdb.pool, priceRows(id, b, d).slice(0, 1));
  const r = await calc({ symbols: ['HIST1.US'] });
  t.like(r.body, { historySessions: 200 });
  const after = await historyOf(id);
  t.is(after.size, 504);
  for (const [day, row] of after) {
    if (day < b.date[d]!) t.is(row.version, before.get(day)!.version, `${day} untouched`);
    else t.not(row.version, before.get(day)!.version, `${day} rewritten`);
  }
  for (const i of [599, 600, 601, 650, 799]) assertSession(t, b, i, after.get(b.date[i]!), 'corrected');

  // A 2:1 split on bar 650: the history reload rewrites every adjusted close before it.
  for (let i = 0; i < 650; i++) b.adjusted[i] = b.close[i]! / 2;
  await upsertPrices(tdb.pool, priceRows(id, b));
  t.is((await calc({ symbols: ['HIST1.US'] })).status, 200);
  const split = await historyOf(id);
  t.is(split.size, 504);
  for (const [day, row] of split) t.not(row.version, after.get(day)!.version, `${day} rewritten by the split`);
  for (const i of [296, 400, 649, 650, 799]) assertSession(t, b, i, split.get(b.date[i]!), 'split');
});

test.serial('a quarantined bar has no row and is left out of the sessions after it', async (t) => {
  const b = walk(400, '2024-01-01', 11);
  const id = await addAsset('HIST2.US', b);
  t.is((await calc({ symbols: ['HIST2.US'] })).status, 200);
  const q = 350;
  await tdb.pool.query(
    `INSERT INTO price_quality_findings (asset_id, date, check_name, severity, detail) VALUES ($1, $2, 'unit_slip', 'error', 'test')`,
    [id, b.date[q]],
  );
  // What check-quality does when it opens one (store/prices.ts queueHistory).
  const { queueHistory } = await import('../shared/store/prices.js');
  await queueHistory(tdb.pool, [{ assetId: id, fromDate: b.date[q]! }]);
  t.is((await calc({ symbols: ['HIST2.US'] })).status, 200);
  const h = await historyOf(id);
  t.false(h.has(b.date[q]!), 'no row on the quarantined day');
  const kept = (xs: number[] | string[]) => xs.filter((_, i) => i !== q);
  const without: Bars = {
    date: kept(b.date) as string[],
    open: kept(b.open) as number[],
    high: kept(b.high) as number[],
    low: kept(b.low) as number[],
    close: kept(b.close) as number[],
    adjusted: kept(b.adjusted) as number[],
    volume: kept(b.volume) as number[],
  };
  for (const i of [349, 350, 398]) assertSession(t, without, i, h.get(without.date[i]!), 'quarantine');
  // An operator drops a bar: the delete queues the history from its day, in the same statement.
  const { dropBar } = await import('../shared/store/prices.js');
  t.true(await dropBar(tdb.pool, id, b.date[380]!));
  t.deepEqual(
    (await tdb.pool.query('SELECT from_date::text AS d FROM indicator_history_queue WHERE asset_id = $1', [id])).rows,
    [{ d: b.date[380] }],
  );
  t.is((await calc({ symbols: ['HIST2.US'] })).status, 200);
  t.false((await historyOf(id)).has(b.date[380]!), 'no row on the dropped day');
});

test.serial("retention keeps the setting's sessions, drops empty years; a manual from goes further back", async (t) => {
  const b = walk(700, '2022-01-03', 3);
  const id = await addAsset('HIST3.US', b);
  await setSetting(tdb.pool, 'indicator_history_sessions', 300);
  t.is((await calc({ symbols: ['HIST3.US'] })).status, 200);
  let h = await historyOf(id);
  t.is(h.size, 300);
  t.is([...h.keys()][0], b.date[400]);
  // A manual recomputation from an older day than the retention: rows from that day on.
  const from = b.date[250]!;
  const r = await calc({ symbols: ['HIST3.US'], from });
  t.is(r.status, 200);
  h = await historyOf(id);
  t.is([...h.keys()][0], from);
  t.is(h.size, 700 - 250);
  assertSession(t, b, 250, h.get(from), 'manual');
  const years = async () =>
    (
      await tdb.pool.query(
        `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = 'indicator_history'::regclass ORDER BY 1`,
      )
    ).rows.map((x) => x.relname as string);
  t.true((await years()).includes('indicator_history_2022'));
  // Fewer sessions kept, and a new bar: the next daily calculation prunes to the setting,
  // and the years left empty go whole.
  await setSetting(tdb.pool, 'indicator_history_sessions', 100);
  const next = walk(701, '2022-01-03', 3);
  await upsertPrices(tdb.pool, priceRows(id, next, 700));
  t.is((await calc({ symbols: ['HIST3.US'] })).status, 200);
  h = await historyOf(id);
  t.is(h.size, 100);
  t.is([...h.keys()][0], next.date[701 - 100]);
  const left = await years();
  t.false(
    left.includes('indicator_history_2022') || left.includes('indicator_history_2023'),
    `dropped: ${left.join(', ')}`,
  );
  t.true(left.includes('indicator_history_2024'));
  await setSetting(tdb.pool, 'indicator_history_sessions', 504);
});

test.serial('the backfill is bounded per invocation and continues at the next', async (t) => {
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push(await addAsset(`HISTB${i}.US`, walk(450, '2024-01-01', 20 + i)));
  const symbols = ['HISTB0.US', 'HISTB1.US', 'HISTB2.US'];
  // 0 pauses the history: the latest rows only, everything stays queued.
  await setSetting(tdb.pool, 'indicator_history_sessions_per_run', 0);
  t.like((await calc({ symbols })).body, { calculated: 3, historySessions: 0, historyDeferred: 3 });
  await setSetting(tdb.pool, 'indicator_history_sessions_per_run', 500);
  const r1 = await calc({ symbols });
  t.like(r1.body, { calculated: 3, historySessions: 450, historyDeferred: 2 });
  const r2 = await calc({ symbols });
  t.like(r2.body, { historySessions: 450, historyDeferred: 1 });
  const r3 = await calc({ symbols });
  t.like(r3.body, { historySessions: 450, historyDeferred: 0 });
  const r4 = await calc({ symbols });
  t.like(r4.body, { historySessions: 0, historyDeferred: 0 });
  for (const id of ids) t.is((await historyOf(id)).size, 450 - MIN_BARS + 1);
  await setSetting(tdb.pool, 'indicator_history_sessions_per_run', 500_000);
});

test.serial('the functions role creates and drops a year of history, and no other table', async (t) => {
  const role = `screener_fn_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await tdb.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' IN ROLE screener_functions`);
  const u = new URL(tdb.url);
  u.username = role;
  u.password = password;
  const fn: pg.Pool = createPool(u.toString(), 2);
  t.teardown(async () => {
    await fn.end();
    await tdb.pool.query(`DROP ROLE IF EXISTS ${role}`);
  });
  t.is((await fn.query('SELECT ensure_indicator_history_year(1990) AS c')).rows[0].c, true);
  t.is((await fn.query('SELECT ensure_indicator_history_year(1990) AS c')).rows[0].c, false);
  await fn.query(`INSERT INTO indicator_history (asset_id, date, bars_used) VALUES (1, '1990-05-01', 200)`);
  t.deepEqual((await fn.query('SELECT drop_empty_indicator_history_years(1991) AS d')).rows, [], 'not empty: kept');
  await fn.query(`DELETE FROM indicator_history WHERE date < '1991-01-01'`);
  t.deepEqual(
    (await fn.query('SELECT drop_empty_indicator_history_years(1991) AS d')).rows.map((r) => r.d),
    ['indicator_history_1990'],
  );
  const err = await t.throwsAsync(
    fn.query(
      `CREATE TABLE indicator_history_1980 PARTITION OF indicator_history FOR VALUES FROM ('1980-01-01') TO ('1981-01-01')`,
    ),
  );
  t.is((err as { code?: string }).code, '42501');
  await t.throwsAsync(fn.query('SELECT ensure_indicator_history_year(99999)'), { message: /out of range/ });
});

test('bad input to calc-indicators is a 400 with a reason, and runs nothing', async (t) => {
  const post = (body: unknown) =>
    parseInput(
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(body)),
        query: {},
      } as never,
      CalcIndicatorsInput,
    );
  for (const body of [
    { symbols: ['AAPL.US'], from: '2024-02-30' },
    { symbols: ['AAPL.US'], from: 'yesterday' },
    { symbols: ['AAPL.US'], from: '2999-01-01' },
    { from: '2024-01-02' },
    { symbols: Array.from({ length: 101 }, (_, i) => `A${i}.US`), from: '2024-01-02' },
    { all: true, from: '2024-01-02' },
  ]) {
    const r = post(body);
    t.false(r.ok, JSON.stringify(body).slice(0, 80));
    if (!r.ok) {
      t.is(r.response.status, 400);
      t.regex(String((r.response.body as { reason: string }).reason), /\w/);
    }
  }
  const ok = post({ symbols: ['AAPL.US'], from: '2024-01-02' });
  t.true(ok.ok);
});

test('derived figures against hand computations', (t) => {
  // 300 sessions at 100, the last at 110 with three times the volume and an open of 105;
  // the year changes 10 sessions before the end.
  const n = 300;
  const date = Array.from({ length: n }, (_, i) =>
    i < n - 10 ? `2024-${String(1 + Math.floor(i / 25)).padStart(2, '0')}-01` : '2025-01-02',
  );
  const close = Array.from({ length: n }, (_, i) => (i === n - 1 ? 110 : 100));
  const volume = Array.from({ length: n }, (_, i) => (i === n - 1 ? 3000 : 1000));
  const open = Array.from({ length: n }, (_, i) => (i === n - 1 ? 105 : 100));
  const ind = Object.fromEntries(INDICATOR_COLUMNS.map((c) => [c, null])) as IndicatorRow;
  ind.sma_50 = 100.2;
  ind.sma_200 = 100.05;
  ind.week_52_high = 120;
  ind.week_52_low = 80;
  const f = computeFigures({ date, open, close, rawClose: close.map((c) => c * 100), volume }, n - 1, ind);
  const near = (a: number | null, e: number) => t.true(a !== null && Math.abs(a - e) < 1e-9, `${a} vs ${e}`);
  near(f.change_1d_pct, 10);
  near(f.change_5d_pct, 10);
  near(f.change_1m_pct, 10);
  near(f.change_3m_pct, 10);
  near(f.change_6m_pct, 10);
  near(f.change_12m_pct, 10);
  near(f.change_ytd_pct, 10);
  near(f.relative_volume, 3);
  near(f.pct_from_52w_high, -100 / 12);
  near(f.pct_from_52w_low, 37.5);
  near(f.pct_vs_sma_50, 100 * (110 / 100.2 - 1));
  near(f.pct_vs_sma_200, 100 * (110 / 100.05 - 1));
  near(f.gap_pct, 5);
  // Raw closes in pence (x100): (29 x 100 x 100 x 1000 + 110 x 100 x 3000) / 30.
  near(f.avg_traded_value_30, (29 * 10_000 * 1000 + 11_000 * 3000) / 30);
  // Not enough sessions: NULL, not a guess.
  const short = computeFigures({ date, open, close, rawClose: close, volume }, 100, ind);
  t.is(short.change_12m_pct, null);
  t.is(short.change_6m_pct, null);
  t.is(short.change_ytd_pct, null);
  near(short.change_3m_pct, 0);
});

test('every derived figure is in docs/screener-columns.md with its unit and formula, and is a column', (t) => {
  const doc = readFileSync('docs/screener-columns.md', 'utf8');
  t.deepEqual(
    FIGURES.map((f) => f.column),
    [...FIGURE_COLUMNS],
  );
  for (const f of FIGURES) {
    const line = doc.split('\n').find((l) => l.startsWith(`| \`${f.column}\` |`));
    t.is(line, `| \`${f.column}\` | ${f.unit} | ${f.formula} |`, f.column);
  }
  const sql = readFileSync(path.resolve('sql', '023_indicator_history.sql'), 'utf8');
  for (const c of [...INDICATOR_COLUMNS, ...FIGURE_COLUMNS]) t.regex(sql, new RegExp(`\\n  ${c} +double precision`), c);
});
