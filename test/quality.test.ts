/**
 * The quality checks (shared/domain/quality.ts) each find what they must on a series with
 * one bad tick and nothing on the clean series; and stored bars (store/prices.ts ->
 * steps/check-quality.ts): every write queues its asset, the checks record findings that
 * v_data_quality lists, an error quarantines its bar (calc-indicators and v_screener leave
 * it out, the asset says so), a bar that changes and passes clears its finding, and an
 * operator's confirmation lets the bar back in.
 */
import test from 'ava';
import { inProcessPipeline } from '../dev/in-process.js';
import { checkSeries, type Finding, type QualityBar, type SeriesContext } from '../shared/domain/quality.js';
import { calcIndicators } from '../shared/steps/calc-indicators.js';
import { checkQueuedBars, thresholdsOf } from '../shared/steps/check-quality.js';
import { upsertPrices } from '../shared/store/prices.js';
import { decideFinding } from '../shared/store/quality-findings.js';
import { DEFAULT_SETTINGS, loadSettings } from '../shared/store/settings.js';
import { createTestDb, type TestDb } from './helpers/db.js';

const T = thresholdsOf(DEFAULT_SETTINGS);

/** Weekdays from 2025-01-02, n of them. */
function weekdays(n: number): string[] {
  const out: string[] = [];
  const d = new Date(Date.UTC(2025, 0, 2));
  while (out.length < n) {
    const w = d.getUTCDay();
    if (w !== 0 && w !== 6) out.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

/** A clean series: a seeded walk of 1.5% daily moves, consistent candles, volumes around 1M. */
function cleanSeries(n = 260, seed = 7): QualityBar[] {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  let close = 50;
  return weekdays(n).map((date) => {
    const open = close * (1 + (rnd() - 0.5) * 0.01);
    close = close * Math.exp((rnd() - 0.5) * 0.03);
    const high = Math.max(open, close) * (1 + rnd() * 0.01);
    const low = Math.min(open, close) * (1 - rnd() * 0.01);
    return { date, open, high, low, close, adjusted_close: close, volume: Math.round(800_000 + rnd() * 400_000) };
  });
}

const CLEAN_CONTEXT: SeriesContext = {
  actionDays: new Set(),
  currencySwitchDays: [],
  tradedSessions: null,
  marketCap: null,
};

function check(bars: QualityBar[], from: string, ctx: Partial<SeriesContext> = {}): Finding[] {
  return checkSeries(bars, from, { ...CLEAN_CONTEXT, ...ctx }, T);
}

/** The series with bar i replaced by f(bar). */
function withBar(bars: QualityBar[], i: number, f: (b: QualityBar) => Partial<QualityBar>): QualityBar[] {
  return bars.map((b, j) => (j === i ? { ...b, ...f(b) } : b));
}

const series = cleanSeries();
const at = 200;
const day = series[at]!.date;
const from = series[150]!.date;

test('the clean series has no finding', (t) => {
  t.deepEqual(check(series, series[0]!.date), []);
});

test('a day in the wrong unit (x100) is one unit_slip error, and the day after it is not one', (t) => {
  const bad = withBar(series, at, (b) => ({
    open: b.open * 100,
    high: b.high * 100,
    low: b.low * 100,
    close: b.close * 100,
    adjusted_close: b.adjusted_close * 100,
  }));
  const f = check(bad, from);
  t.deepEqual(
    f.map((x) => [x.date, x.check, x.severity]),
    [[day, 'unit_slip', 'error']],
  );
  t.regex(f[0]!.detail, /x100 or \/100/);
});

test('a hundredth of the price is a unit_slip error too', (t) => {
  const bad = withBar(series, at, (b) => ({
    open: b.open / 100,
    high: b.high / 100,
    low: b.low / 100,
    close: b.close / 100,
    adjusted_close: b.adjusted_close / 100,
  }));
  t.deepEqual(
    check(bad, from).map((x) => x.check),
    ['unit_slip'],
  );
});

test('a change of quote unit that holds (x100 for good) is one unit_slip warning, not an error a day', (t) => {
  const changed = series.map((b, j) =>
    j >= at
      ? {
          ...b,
          open: b.open * 100,
          high: b.high * 100,
          low: b.low * 100,
          close: b.close * 100,
          adjusted_close: b.adjusted_close * 100,
        }
      : b,
  );
  t.deepEqual(
    check(changed, from).map((x) => [x.date, x.check, x.severity]),
    [[day, 'unit_slip', 'warning']],
  );
});

test('high below low is an ohlc_order error', (t) => {
  const bad = withBar(series, at, (b) => ({ high: b.low, low: b.high }));
  t.deepEqual(
    check(bad, from).map((x) => [x.date, x.check, x.severity]),
    [[day, 'ohlc_order', 'error']],
  );
});

test('a close of 0 is a non_positive error', (t) => {
  const bad = withBar(series, at, () => ({ close: 0 }));
  t.deepEqual(
    check(bad, from).map((x) => [x.date, x.check, x.severity]),
    [[day, 'non_positive', 'error']],
  );
});

test('a 60% one-day move nothing explains is a price_move error; the next day, back to normal, is clean', (t) => {
  const bad = withBar(series, at, (b) => ({
    close: b.close * 1.6,
    high: b.close * 1.6,
    adjusted_close: b.close * 1.6,
  }));
  t.deepEqual(
    check(bad, from).map((x) => [x.date, x.check, x.severity]),
    [[day, 'price_move', 'error']],
  );
});

test('a 60% jump that holds the next sessions is real: no error', (t) => {
  const jump = series.map((b, j) =>
    j >= at
      ? {
          ...b,
          open: b.open * 1.6,
          high: b.high * 1.6,
          low: b.low * 1.6,
          close: b.close * 1.6,
          adjusted_close: b.close * 1.6,
        }
      : b,
  );
  t.false(check(jump, from).some((x) => x.severity === 'error'));
  t.deepEqual(
    check(jump.slice(0, at + 1), from).map((x) => [x.date, x.check, x.severity]),
    [[day, 'price_move', 'error']],
    'the newest bar cannot tell yet: an error until the next sessions come',
  );
});

test('a split on the day explains a halved price: no finding', (t) => {
  const split = series.map((b, j) =>
    j >= at
      ? { ...b, open: b.open / 2, high: b.high / 2, low: b.low / 2, close: b.close / 2, adjusted_close: b.close / 2 }
      : b,
  );
  t.deepEqual(check(split, from, { actionDays: new Set([day]) }), []);
  t.deepEqual(
    check(split, from).map((x) => [x.date, x.check]),
    [[day, 'price_move']],
    'without the split it is an error',
  );
});

test("a split EODHD's adjusted_close already covers (before the pipeline recorded any) is no finding", (t) => {
  const split = series.map((b, j) =>
    j >= at ? { ...b, open: b.open / 4, high: b.high / 4, low: b.low / 4, close: b.close / 4 } : b,
  );
  t.deepEqual(check(split, from), []);
});

test('a currency switch (pence to pounds) explains a hundredth of the price', (t) => {
  const switched = series.map((b, j) =>
    j >= at
      ? {
          ...b,
          open: b.open / 100,
          high: b.high / 100,
          low: b.low / 100,
          close: b.close / 100,
          adjusted_close: b.close / 100,
        }
      : b,
  );
  t.deepEqual(check(switched, from, { currencySwitchDays: [day] }), []);
});

test('a volume 200 times its median is a volume_spike warning', (t) => {
  const bad = withBar(series, at, (b) => ({ volume: b.volume * 200 }));
  t.deepEqual(
    check(bad, from).map((x) => [x.date, x.check, x.severity]),
    [[day, 'volume_spike', 'warning']],
  );
});

test('a zero volume on a day with a range is a zero_volume warning; a flat zero-volume candle is not', (t) => {
  const moved = withBar(series, at, () => ({ volume: 0 }));
  t.deepEqual(
    check(moved, from).map((x) => [x.date, x.check, x.severity]),
    [[day, 'zero_volume', 'warning']],
  );
  const prevClose = series[at - 1]!.close;
  const flat = withBar(series, at, () => ({
    open: prevClose,
    high: prevClose,
    low: prevClose,
    close: prevClose,
    adjusted_close: prevClose,
    volume: 0,
  }));
  t.deepEqual(check(flat, from), []);
});

test('the same bar twelve sessions running is a stale series from its tenth session', (t) => {
  const stale = series.map((b, j) => (j > at && j <= at + 11 ? { ...series[at]!, date: b.date } : b));
  const f = check(stale, from);
  t.true(f.every((x) => x.check === 'stale_series' && x.severity === 'warning'));
  t.deepEqual(
    f.map((x) => x.date),
    series.slice(at + 9, at + 12).map((b) => b.date),
  );
});

test('a session missing from an asset that trades every session is a missing_session warning', (t) => {
  const sessions = series.map((b) => b.date);
  const gap = series.filter((_, j) => j !== at);
  t.deepEqual(
    check(gap, from, { tradedSessions: sessions }).map((x) => [x.date, x.check, x.severity]),
    [[day, 'missing_session', 'warning']],
  );
});

test('a thin asset with gaps does not miss sessions', (t) => {
  const sessions = series.map((b) => b.date);
  const thin = series.filter((_, j) => j % 4 !== 0);
  t.deepEqual(check(thin, from, { tradedSessions: sessions }), []);
});

test('adjusted_close out of step with close for one day is an adjusted_close warning', (t) => {
  const bad = withBar(series, at, (b) => ({ adjusted_close: b.adjusted_close * 0.95 }));
  t.deepEqual(
    check(bad, from).map((x) => [x.date, x.check, x.severity]),
    [[day, 'adjusted_close', 'warning']],
  );
});

test('a market cap far from close x shares outstanding is a market_cap warning on the last bar', (t) => {
  const last = series[series.length - 1]!;
  const shares = 1_000_000;
  t.deepEqual(
    check(series, from, { marketCap: { marketCap: last.close * shares, sharesOutstanding: shares, perMajor: 1 } }),
    [],
  );
  const f = check(series, from, {
    marketCap: { marketCap: last.close * shares * 3, sharesOutstanding: shares, perMajor: 1 },
  });
  t.deepEqual(
    f.map((x) => [x.date, x.check, x.severity]),
    [[last.date, 'market_cap', 'warning']],
  );
});

test('only bars from the judged date are judged', (t) => {
  const bad = withBar(series, at, () => ({ close: 0 }));
  t.deepEqual(check(bad, series[at + 1]!.date), []);
});

// --- stored bars -------------------------------------------------------------------------

let tdb: TestDb;
test.before(async () => {
  tdb = await createTestDb();
});
test.after.always(async () => {
  await tdb?.drop();
});

async function asset(symbol: string): Promise<number> {
  const { rows } = await tdb.pool.query<{ id: number }>(
    `INSERT INTO assets (symbol, code, exchange, venue, region) VALUES ($1, $2, 'US', 'NYSE', 'us') RETURNING id`,
    [symbol, symbol.split('.')[0]],
  );
  const id = Number(rows[0]!.id);
  await tdb.pool.query(
    `INSERT INTO asset_processing_state (asset_id, prices_loaded, prices_last_updated_at) VALUES ($1, true, now())`,
    [id],
  );
  return id;
}

const rowsOf = (id: number, bars: QualityBar[]) => bars.map((b) => ({ assetId: id, ...b }));
const queued = async (id: number): Promise<string | null> =>
  (await tdb.pool.query<{ from_date: string }>(`SELECT from_date::text FROM prices_to_check WHERE asset_id = $1`, [id]))
    .rows[0]?.from_date ?? null;

test.serial(
  'every write queues its asset from its earliest written day; an unchanged bar queues nothing',
  async (t) => {
    const id = await asset('QUEUE.US');
    await upsertPrices(tdb.pool, rowsOf(id, series.slice(0, 100)));
    t.is(await queued(id), series[0]!.date);
    await tdb.pool.query(`DELETE FROM prices_to_check WHERE asset_id = $1`, [id]);
    await upsertPrices(tdb.pool, rowsOf(id, series.slice(0, 100)));
    t.is(await queued(id), null, 'the same bars again: nothing changed, nothing queued');
    await upsertPrices(tdb.pool, rowsOf(id, series.slice(90, 110)));
    t.is(await queued(id), series[100]!.date, 'from the first new bar');
  },
);

test.serial(
  'an x100 bar is an open error in v_data_quality, left out of the indicators and of v_screener, which says so',
  async (t) => {
    const id = await asset('SLIP.US');
    const bad = withBar(series, at, (b) => ({
      open: b.open * 100,
      high: b.high * 100,
      low: b.low * 100,
      close: b.close * 100,
      adjusted_close: b.adjusted_close * 100,
    }));
    await upsertPrices(tdb.pool, rowsOf(id, bad.slice(0, at + 1)));
    const settings = await loadSettings(tdb.pool);
    const pass = await checkQueuedBars(tdb.pool, null, ['US'], settings, Date.now() + 60_000);
    t.true(pass.done);
    t.is(pass.errors, 1);
    t.is(await queued(id), null, 'the queue is emptied');
    const dq = await tdb.pool.query(
      `SELECT symbol, date::text, "check", severity, status, detail FROM v_data_quality WHERE symbol = 'SLIP.US'`,
    );
    t.deepEqual(
      dq.rows.map((r) => [r.symbol, r.date, r.check, r.severity, r.status]),
      [['SLIP.US', day, 'unit_slip', 'error', 'open']],
    );
    const screen = (
      await tdb.pool.query(
        `SELECT last_date::text, last_close, quarantined_bars, data_quality FROM v_screener WHERE symbol = 'SLIP.US'`,
      )
    ).rows[0];
    t.is(screen.last_date, series[at - 1]!.date, 'the last good bar');
    t.true(Math.abs(screen.last_close - series[at - 1]!.close) < 1e-9);
    t.is(screen.quarantined_bars, 1);
    t.is(screen.data_quality, 'quarantined');
    const p = await inProcessPipeline(tdb.pool, 'http://127.0.0.1:9/api');
    t.is((await calcIndicators(p.ctx, { symbols: ['SLIP.US'] }, null)).status, 200);
    const ind = (
      await tdb.pool.query(
        `SELECT price_date::text, bars_used, week_52_high FROM technical_indicators WHERE asset_id = $1`,
        [id],
      )
    ).rows[0];
    t.is(ind.bars_used, at, 'every bar but the quarantined one');
    t.is(ind.price_date, series[at - 1]!.date);
    t.true(ind.week_52_high < 1000, `the 52-week high is not the slip: ${ind.week_52_high}`);
  },
);

test.serial(
  'the bar corrected by the API passes again: its finding is cleared and the asset is let back in',
  async (t) => {
    const id = Number((await tdb.pool.query(`SELECT id FROM assets WHERE symbol = 'SLIP.US'`)).rows[0].id);
    await upsertPrices(tdb.pool, rowsOf(id, [series[at]!]));
    const pass = await checkQueuedBars(tdb.pool, null, ['US'], await loadSettings(tdb.pool), Date.now() + 60_000);
    t.is(pass.cleared, 1);
    const f = (await tdb.pool.query(`SELECT status, status_note FROM price_quality_findings WHERE asset_id = $1`, [id]))
      .rows;
    t.deepEqual(f, [{ status: 'cleared', status_note: 'the bar changed and passes the check' }]);
    const s = (
      await tdb.pool.query(`SELECT needs_indicators_reprocess FROM asset_processing_state WHERE asset_id = $1`, [id])
    ).rows[0];
    t.true(s.needs_indicators_reprocess, 'its indicators are computed again');
    const screen = (await tdb.pool.query(`SELECT data_quality FROM v_screener WHERE symbol = 'SLIP.US'`)).rows[0];
    t.is(screen.data_quality, 'ok');
  },
);

test.serial('an operator who confirms a crash as real lets the bar back in; it is not found again', async (t) => {
  const id = await asset('CRASH.US');
  const crash = withBar(series, at, (b) => ({
    close: b.close * 0.3,
    low: b.close * 0.3,
    adjusted_close: b.close * 0.3,
  }));
  await upsertPrices(tdb.pool, rowsOf(id, crash.slice(0, at + 1)));
  const settings = await loadSettings(tdb.pool);
  await checkQueuedBars(tdb.pool, null, ['US'], settings, Date.now() + 60_000);
  t.is(
    (await tdb.pool.query(`SELECT data_quality FROM v_screener WHERE symbol = 'CRASH.US'`)).rows[0].data_quality,
    'quarantined',
  );
  const decided = await decideFinding(tdb.pool, id, day, 'confirm', 'a genuine crash', null);
  t.deepEqual(decided, [{ check_name: 'price_move', severity: 'error' }]);
  t.is(
    (await tdb.pool.query(`SELECT data_quality FROM v_screener WHERE symbol = 'CRASH.US'`)).rows[0].data_quality,
    'ok',
  );
  // The whole series written again (an adjustment refresh): checked again, still confirmed.
  await tdb.pool.query(`UPDATE stock_prices SET volume = volume + 1 WHERE asset_id = $1`, [id]);
  await upsertPrices(
    tdb.pool,
    rowsOf(
      id,
      crash.slice(0, at + 1).map((b) => ({ ...b, volume: b.volume + 2 })),
    ),
  );
  await checkQueuedBars(tdb.pool, null, ['US'], settings, Date.now() + 60_000);
  const rows = (await tdb.pool.query(`SELECT status FROM price_quality_findings WHERE asset_id = $1`, [id])).rows;
  t.deepEqual(rows, [{ status: 'confirmed' }]);
});
