import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { mulberry32 } from '../dev/simulator/hash.js';
import {
  type Bars,
  computeIndicators,
  INDICATOR_COLUMNS,
  type IndicatorColumn,
  type IndicatorRow,
  MAX_BARS,
  MIN_BARS,
} from '../shared/domain/indicators.js';

interface FixtureSeries {
  id: string;
  shape: Record<string, number>;
  bars: {
    date: string[];
    open: number[];
    high: number[];
    low: number[];
    close: number[];
    volume: number[];
  };
  expected: Partial<Record<IndicatorColumn, number | null>> | null;
}

interface Fixture {
  about: string;
  tolerance: string;
  series: FixtureSeries[];
}

// TA-Lib's values, copied into the project (test/fixtures/talib) from the reference fixtures.
const fixturePath = path.resolve('test', 'fixtures', 'talib', 'indicators-reference.json');
const fixture = JSON.parse(readFileSync(fixturePath, 'utf8')) as Fixture;

const within = (actual: number, expected: number): boolean =>
  Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected));

function assertAllFinite(row: IndicatorRow): string[] {
  const bad: string[] = [];
  for (const col of INDICATOR_COLUMNS) {
    const v = row[col];
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) bad.push(`${col}=${String(v)}`);
  }
  return bad;
}

function sliceBars(b: Bars, from: number, to?: number): Bars {
  const s = (a: ArrayLike<number>) => Array.prototype.slice.call(a, from, to) as number[];
  return { open: b.open && s(b.open), high: s(b.high), low: s(b.low), close: s(b.close), volume: s(b.volume) };
}

type ArrayBars = { [K in 'open' | 'high' | 'low' | 'close' | 'volume']: number[] };

function flatBars(n: number, price: number, spread: number, volume: number): ArrayBars {
  return {
    open: new Array<number>(n).fill(price),
    high: new Array<number>(n).fill(price + spread),
    low: new Array<number>(n).fill(price - spread),
    close: new Array<number>(n).fill(price),
    volume: new Array<number>(n).fill(volume),
  };
}

test('the column list has the 31 columns of indicators.md, in order, without duplicates', (t) => {
  t.is(INDICATOR_COLUMNS.length, 31);
  t.is(new Set(INDICATOR_COLUMNS).size, 31);
  t.is(INDICATOR_COLUMNS[0], 'sma_50');
  t.is(INDICATOR_COLUMNS[30], 'current_price');
  t.is(MIN_BARS, 200);
  t.is(MAX_BARS, 500);
});

for (const series of fixture.series) {
  const n = series.bars.close.length;
  test(`fixture ${series.id} (${n} bars) matches TA-Lib`, (t) => {
    const row = computeIndicators(series.bars);
    if (series.expected === null) {
      t.true(n < MIN_BARS, `${series.id}: expected null only for < ${MIN_BARS} bars`);
      t.is(row, null, `${series.id}: fewer than ${MIN_BARS} bars must give no row`);
      return;
    }
    if (row === null) {
      t.fail(`${series.id}: got null for ${n} bars`);
      return;
    }
    t.deepEqual([...Object.keys(row)].sort(), [...INDICATOR_COLUMNS].sort());
    t.deepEqual(assertAllFinite(row), [], `${series.id}: NaN/Infinity in the row`);

    const failures: string[] = [];
    for (const col of INDICATOR_COLUMNS) {
      if (!(col in series.expected)) continue; // beta is not in the fixture
      const expected = series.expected[col];
      const actual = row[col];
      if (expected === null || expected === undefined) {
        if (actual !== null) failures.push(`${series.id}.${col}: actual ${actual}, expected null`);
      } else if (actual === null || !within(actual, expected)) {
        failures.push(`${series.id}.${col}: actual ${actual}, expected ${expected}`);
      }
    }
    t.deepEqual(failures, [], failures.join('\n'));

    if (n < 252) {
      t.is(row.week_52_high, null, `${series.id}: week_52_high with ${n} bars`);
      t.is(row.week_52_low, null, `${series.id}: week_52_low with ${n} bars`);
    } else {
      t.not(row.week_52_high, null);
      t.not(row.week_52_low, null);
    }
    t.is(row.beta, null, `${series.id}: beta without a benchmark`);
  });
}

// The Wilder/EMA seeds decay below the 1e-6 tolerance within 200 bars (a wrong MACD fast seed is
// off by ~5e-12 at the last bar), so only bit-identity catches a seeding regression. The TA-Lib
// columns use +, -, *, / and sqrt only, all correctly rounded, so bit-identity is portable.
const TALIB_COLUMNS = [
  'sma_50',
  'sma_200',
  'ema_12',
  'ema_26',
  'wma_20',
  'rsi_14',
  'stoch_k',
  'stoch_d',
  'stoch_rsi',
  'cci_20',
  'macd',
  'macd_signal',
  'macd_histogram',
  'dmi_plus',
  'dmi_minus',
  'adx',
  'atr_14',
  'bb_upper',
  'bb_middle',
  'bb_lower',
  'sar',
] as const satisfies readonly IndicatorColumn[];

test('TA-Lib columns are bit-identical to TA-Lib C (seeding and summation order)', (t) => {
  const diffs: string[] = [];
  for (const s of fixture.series) {
    if (s.expected === null) continue;
    const row = computeIndicators(s.bars);
    for (const col of TALIB_COLUMNS) {
      const e = s.expected[col];
      if (typeof e === 'number' && row?.[col] !== e) diffs.push(`${s.id}.${col}: actual ${row?.[col]}, expected ${e}`);
    }
  }
  t.deepEqual(diffs, [], diffs.join('\n'));
});

test('only the last 500 bars are used: 100 junk bars prepended to a 500-bar series change nothing', (t) => {
  const full = fixture.series.filter((s) => s.bars.close.length === MAX_BARS);
  t.true(full.length > 0, 'the fixture should have a 500-bar series');
  const rand = mulberry32(42);
  for (const s of full) {
    const junk = (scale: number) => Array.from({ length: 100 }, () => scale * (0.5 + rand() * 1000));
    const jl = junk(1);
    const bars: Bars = {
      open: [...junk(1), ...s.bars.open],
      high: [...jl.map((v) => v * 2), ...s.bars.high],
      low: [...jl, ...s.bars.low],
      close: [...jl.map((v) => v * 1.5), ...s.bars.close],
      volume: [...junk(1e6), ...s.bars.volume],
    };
    t.is(bars.close.length, 600);
    t.deepEqual(computeIndicators(bars), computeIndicators(s.bars), `${s.id}: junk prefix changed the result`);
    // And the same holds for typed arrays as input.
    const typed: Bars = {
      open: bars.open && Float64Array.from(bars.open),
      high: Float64Array.from(bars.high),
      low: Float64Array.from(bars.low),
      close: Float64Array.from(bars.close),
      volume: Float64Array.from(bars.volume),
    };
    t.deepEqual(computeIndicators(typed), computeIndicators(s.bars), `${s.id}: typed-array input differs`);
  }
});

test('a series truncated to 199 bars gives null, 200 bars gives a row without 52-week values', (t) => {
  const s = fixture.series.find((x) => x.bars.close.length >= 300);
  if (s === undefined) {
    t.fail('no series with 300 bars');
    return;
  }
  t.is(computeIndicators(sliceBars(s.bars, 0, 199)), null);
  const row = computeIndicators(sliceBars(s.bars, 0, 200));
  t.not(row, null);
  t.is(row?.week_52_high, null);
  t.is(row?.week_52_low, null);
  const row252 = computeIndicators(sliceBars(s.bars, 0, 252));
  t.not(row252?.week_52_high, null);
  t.not(row252?.week_52_low, null);
});

test('a flat series gives zeros or nulls, never NaN or Infinity', (t) => {
  for (const [price, spread, volume] of [
    [100, 0, 1000],
    [100, 1, 1000],
    [0.0123, 0, 0],
    [3100, 0, 50],
  ] as const) {
    const row = computeIndicators(flatBars(300, price, spread, volume));
    if (row === null) {
      t.fail('flat series gave null');
      continue;
    }
    const label = `flat ${price}±${spread}`;
    t.deepEqual(assertAllFinite(row), [], label);
    for (const col of [
      'rsi_14',
      'stoch_rsi',
      'cci_20',
      'macd',
      'macd_signal',
      'macd_histogram',
      'dmi_plus',
      'dmi_minus',
      'adx',
      'volatility',
      'std_dev',
      'bb_bandwidth',
      'slope',
    ] as const) {
      const v = row[col];
      t.true(v === null || Math.abs(v) < 1e-9, `${label}: ${col} = ${v}`);
    }
    if (spread === 0) {
      t.true(row.stoch_k === 0 && row.stoch_d === 0, `${label}: stoch ${row.stoch_k}/${row.stoch_d}`);
      t.is(row.atr_14, 0, `${label}: atr`);
    }
    for (const col of ['sma_50', 'sma_200', 'ema_12', 'ema_26', 'wma_20', 'bb_middle', 'current_price'] as const) {
      const v = row[col];
      t.true(v !== null && Math.abs(v - price) <= 1e-9 * price, `${label}: ${col} = ${v}`);
    }
    t.is(row.beta, null, `${label}: beta is calc-indicators' (it needs the benchmark's dates)`);
    t.is(row.avg_volume_30, volume);
  }
});

test('zero prices give nulls, not NaN or Infinity', (t) => {
  const bars = flatBars(260, 0, 0, 0);
  const row = computeIndicators(bars);
  if (row === null) {
    t.fail('null row');
    return;
  }
  t.deepEqual(assertAllFinite(row), []);
  t.is(row.volatility, null);
  t.is(row.bb_bandwidth, null);
  t.is(row.beta, null);
});

test('mismatched array lengths are rejected', (t) => {
  const bars = flatBars(250, 10, 1, 100);
  t.throws(() => computeIndicators({ ...bars, volume: bars.volume.slice(1) }), { instanceOf: RangeError });
});
