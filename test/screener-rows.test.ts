/**
 * The screener row (sql/028), as calc-indicators fills it: on every history row and on the
 * latest row alike, the session's bar in the major unit of its quote currency, the
 * fundamentals version known on that session and not a later one, the valuation at that
 * session's close, book value and growth from the reports public by then (growth equal to
 * fundamental_growth_as_of(d)), and the signals that fired; the latest row equal to its
 * session's history row; a fundamentals fetch without a new bar reaching the rows.
 */
import { readFileSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { inProcessPipeline } from '../dev/in-process.js';
import { computeFigures, FIGURE_COLUMNS } from '../shared/domain/figures.js';
import {
  byPublication,
  GROWTH_ROW_COLUMNS,
  GrowthWalk,
  growthAsOf,
  type YearlyIncome,
} from '../shared/domain/growth.js';
import {
  computeIndicators,
  crossingValues,
  INDICATOR_COLUMNS,
  type IndicatorRow,
} from '../shared/domain/indicators.js';
import { SCREEN_FIELDS, SCREEN_ROW_COLUMNS, SIGNALS } from '../shared/domain/screen-fields.js';
import {
  type BalanceSheetRow,
  BookValueWalk,
  bookValueAsOf,
  type KnownVersion,
  SCREEN_ROW_GROUPS,
  valuationAt,
} from '../shared/domain/screen-row.js';
import { type CrossingValues, signalsAt } from '../shared/domain/signals.js';
import type { Fundamentals } from '../shared/eodhd/schemas.js';
import type { CalcIndicatorsInput } from '../shared/platform/input.js';
import { calcIndicators } from '../shared/steps/calc-indicators.js';
import { assetsWithStaleIndicators } from '../shared/store/asset-state.js';
import { upsertFundamentals } from '../shared/store/fundamentals.js';
import { loadKnownFundamentals } from '../shared/store/known-fundamentals.js';
import { type PriceRow, queueHistory, upsertPrices } from '../shared/store/prices.js';
import { createTestDb, type TestDb } from './helpers/db.js';

// ---------------------------------------------------------------------------------------
// Pure: signals on hand-made series, the crossing values, growth and book value walks.

interface Series {
  date: string[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  volume: number[];
}

/** Weekday dates from `start`. */
function weekdays(n: number, start: string): string[] {
  const out: string[] = [];
  for (let day = Date.parse(`${start}T00:00:00Z`); out.length < n; day += 86_400_000) {
    const wd = new Date(day).getUTCDay();
    if (wd !== 0 && wd !== 6) out.push(new Date(day).toISOString().slice(0, 10));
  }
  return out;
}

/** A series from its closes: each opens at the previous close (no gap), volume 1000. */
function fromCloses(close: number[]): Series {
  const open = close.map((c, i) => (i === 0 ? c : close[i - 1]!));
  return {
    date: weekdays(close.length, '2023-01-02'),
    open,
    high: close.map((c, i) => Math.max(c, open[i]!) * 1.001),
    low: close.map((c, i) => Math.min(c, open[i]!) * 0.999),
    close,
    volume: close.map(() => 1000),
  };
}

const none: Pick<
  Parameters<typeof signalsAt>[0],
  'bookValue' | 'closeMajor' | 'targetPrice' | 'gapPct' | 'relativeVolume'
> = {
  bookValue: null,
  closeMajor: null,
  targetPrice: null,
  gapPct: null,
  relativeVolume: null,
};

/** Each session's signals (from 199 on), as calc-indicators computes them without fundamentals. */
function signalsOver(s: Series): Map<number, string[]> {
  const out = new Map<number, string[]>();
  let prev: IndicatorRow | null = null;
  for (let t = 199; t < s.close.length; t++) {
    const now = computeIndicators({
      high: s.high.slice(0, t + 1),
      low: s.low.slice(0, t + 1),
      close: s.close.slice(0, t + 1),
      volume: s.volume.slice(0, t + 1),
    })!;
    const figures = computeFigures({ ...s, rawClose: s.close }, t, now);
    out.set(
      t,
      signalsAt({
        ...none,
        close: s.close,
        t,
        now,
        prev,
        gapPct: figures.gap_pct,
        relativeVolume: figures.relative_volume,
      }),
    );
    prev = now;
  }
  return out;
}

const firedAt = (m: Map<number, string[]>, name: string): number[] =>
  [...m].filter(([, names]) => names.includes(name)).map(([t]) => t);

const mean = (xs: number[], from: number, to: number) =>
  xs.slice(from, to + 1).reduce((a, b) => a + b, 0) / (to - from + 1);

/** Sessions where f(t) holds and f(t-1) does not. */
function crossings(from: number, to: number, f: (t: number) => boolean): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t++) if (f(t) && !f(t - 1)) out.push(t);
  return out;
}

test('golden and death cross, and the close crossing the 200-session average, fire on the crossing session only', (t) => {
  // Rising from 100 to 200, falling back to 100, rising to 300: the 50-session average goes
  // under the 200-session one, then over it; the close crosses the 200-session average down,
  // then up.
  const closes = [
    ...Array.from({ length: 250 }, (_, i) => 100 + (100 * i) / 249),
    ...Array.from({ length: 200 }, (_, i) => 200 - (100 * (i + 1)) / 200),
    ...Array.from({ length: 200 }, (_, i) => 100 + i + 1),
  ];
  const s = fromCloses(closes);
  const m = signalsOver(s);
  const last = closes.length - 1;
  const golden = crossings(200, last, (k) => mean(closes, k - 49, k) > mean(closes, k - 199, k));
  const death = crossings(200, last, (k) => mean(closes, k - 49, k) < mean(closes, k - 199, k));
  const above = crossings(200, last, (k) => closes[k]! > mean(closes, k - 199, k));
  const below = crossings(200, last, (k) => closes[k]! < mean(closes, k - 199, k));
  t.is(golden.length, 1, 'the series crosses up once');
  t.is(death.length, 1, 'and down once');
  t.is(above.length, 1);
  t.is(below.length, 1);
  t.deepEqual(firedAt(m, 'golden_cross'), golden);
  t.deepEqual(firedAt(m, 'death_cross'), death);
  t.deepEqual(firedAt(m, 'price_cross_above_sma_200'), above);
  t.deepEqual(firedAt(m, 'price_cross_below_sma_200'), below);
  t.false(m.get(golden[0]! + 1)!.includes('golden_cross'), 'not the day after');
});

test('highs and lows of 50, 200 and 252 sessions: above every close before, never with too few sessions', (t) => {
  // Rising for 300 sessions (every session a new high of each window it has the sessions
  // for), then a dip, then a single session above every earlier close.
  const closes = [
    ...Array.from({ length: 300 }, (_, i) => 100 + i),
    ...Array.from({ length: 60 }, (_, i) => 380 - i),
    500,
    ...Array.from({ length: 20 }, () => 340),
    // A crash under every close before.
    ...Array.from({ length: 30 }, (_, i) => 330 - 10 * i),
  ];
  const s = fromCloses(closes);
  const m = signalsOver(s);
  const expect = (before: number, dir: 1 | -1) => {
    const out: number[] = [];
    for (let k = 199; k < closes.length; k++) {
      if (k < before) continue;
      const window = closes.slice(k - before, k);
      if (dir === 1 ? closes[k]! > Math.max(...window) : closes[k]! < Math.min(...window)) out.push(k);
    }
    return out;
  };
  for (const [name, before, dir] of [
    ['50d_new_hi', 49, 1],
    ['50d_new_lo', 49, -1],
    ['200d_new_hi', 199, 1],
    ['200d_new_lo', 199, -1],
    ['new_52w_high', 251, 1],
    ['new_52w_low', 251, -1],
  ] as const) {
    const e = expect(before, dir);
    t.true(e.length > 0, `${name} fires somewhere in the series`);
    t.deepEqual(firedAt(m, name), e, name);
  }
  // Session 199 is the first row: the highest close so far, but 251 sessions were not there.
  t.true(m.get(199)!.includes('200d_new_hi'));
  t.false(m.get(199)!.includes('new_52w_high'), 'too few sessions for the 52 weeks');
  t.true(m.get(251)!.includes('new_52w_high'), 'the first session with 251 before it');
  t.true(m.get(360)!.includes('new_52w_high'), 'the spike');
  t.false(m.get(361)!.includes('new_52w_high'), 'not the day after');
});

test('RSI crossing 30 and 70, and MACD crossing its signal, fire on the crossing session only', (t) => {
  // Flat-ish, then a steep fall (RSI under 30), a recovery, a steep rise (RSI over 70).
  const closes = [
    ...Array.from({ length: 220 }, (_, i) => 100 + (i % 2) * 0.5),
    ...Array.from({ length: 15 }, (_, i) => 100 - 2 * (i + 1)),
    ...Array.from({ length: 40 }, (_, i) => 70 + (i % 2) * 0.5),
    ...Array.from({ length: 15 }, (_, i) => 70 + 3 * (i + 1)),
    ...Array.from({ length: 30 }, (_, i) => 115 + (i % 2) * 0.5),
  ];
  const s = fromCloses(closes);
  const m = signalsOver(s);
  const rows = new Map<number, IndicatorRow>();
  for (let k = 199; k < closes.length; k++)
    rows.set(
      k,
      computeIndicators({
        high: s.high.slice(0, k + 1),
        low: s.low.slice(0, k + 1),
        close: closes.slice(0, k + 1),
        volume: s.volume.slice(0, k + 1),
      })!,
    );
  const v = (k: number, c: 'rsi_14' | 'macd' | 'macd_signal') => rows.get(k)![c]!;
  const last = closes.length - 1;
  const low = crossings(200, last, (k) => v(k, 'rsi_14') < 30);
  const high = crossings(200, last, (k) => v(k, 'rsi_14') > 70);
  const up = crossings(200, last, (k) => v(k, 'macd') > v(k, 'macd_signal'));
  const down = crossings(200, last, (k) => v(k, 'macd') < v(k, 'macd_signal'));
  for (const [name, e] of [
    ['rsi_below_30', low],
    ['rsi_above_70', high],
    ['macd_cross_up', up],
    ['macd_cross_down', down],
  ] as const) {
    t.true(e.length > 0, `${name} happens in the series`);
    t.deepEqual(firedAt(m, name), e, name);
    for (const k of e)
      if (!e.includes(k + 1)) t.false(m.get(k + 1)?.includes(name) ?? false, `${name}: not the day after`);
  }
  t.true(low[0]! > 220 && low[0]! < 235, 'RSI falls under 30 during the fall');
  t.true(high[0]! > 275 && high[0]! < 290, 'RSI rises over 70 during the rise');
});

test('unusual volume and gaps fire on their session only', (t) => {
  const closes = Array.from({ length: 240 }, (_, i) => 100 + Math.sin(i));
  const s = fromCloses(closes);
  s.volume[220] = 2000; // exactly twice the mean of the 30 before
  s.volume[225] = 1999;
  s.open[230] = closes[229]! * 1.04 + 1e-9; // 4% above the previous close
  s.high[230] = Math.max(s.high[230]!, s.open[230]!);
  s.open[233] = closes[232]! * 0.95;
  s.low[233] = Math.min(s.low[233]!, s.open[233]!);
  s.open[236] = closes[235]! * 1.039;
  s.high[236] = Math.max(s.high[236]!, s.open[236]!);
  const m = signalsOver(s);
  t.deepEqual(firedAt(m, 'unusual_volume'), [220]);
  t.deepEqual(firedAt(m, 'gap_up'), [230]);
  t.deepEqual(firedAt(m, 'gap_down'), [233]);
});

test('book value and the target price signals; the first row fires no crossing', (t) => {
  const closes = Array.from({ length: 200 }, (_, i) => 100 + i);
  const now = computeIndicators({ high: closes, low: closes, close: closes, volume: closes })!;
  const at = (x: Partial<Parameters<typeof signalsAt>[0]>) =>
    signalsAt({ ...none, close: closes, t: 199, now, prev: null, ...x });
  t.deepEqual(at({ bookValue: 5 }), ['50d_new_hi', '200d_new_hi', 'bookvalue_pos']);
  t.deepEqual(
    at({ bookValue: -5 }).filter((n) => n.startsWith('book')),
    ['bookvalue_neg'],
  );
  t.deepEqual(
    at({ bookValue: 0 }).filter((n) => n.startsWith('book')),
    [],
  );
  t.deepEqual(
    at({ closeMajor: 10, targetPrice: 9 }).filter((n) => n.startsWith('wall')),
    ['wallstreet_hi'],
  );
  t.deepEqual(
    at({ closeMajor: 10, targetPrice: 11 }).filter((n) => n.startsWith('wall')),
    ['wallstreet_lo'],
  );
  t.deepEqual(
    at({ closeMajor: 10, targetPrice: null }).filter((n) => n.startsWith('wall')),
    [],
    'no target price in the quote currency: neither',
  );
  // Every name written is a signal of the contract, in its order.
  const names = SIGNALS.map((x) => x.name);
  const fired = at({ bookValue: 1, closeMajor: 1, targetPrice: 2 });
  t.deepEqual(
    fired,
    names.filter((n) => fired.includes(n)),
  );
});

test('the crossing values of the session before are computeIndicators', (t) => {
  let x = 7;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  for (const n of [199, 200, 201, 350, 500, 501, 777]) {
    const close: number[] = [];
    let c = 40;
    for (let i = 0; i < n; i++) close.push((c *= 1 + (rnd() - 0.5) * 0.05));
    const full = computeIndicators({ high: close, low: close, close, volume: close });
    const cross = crossingValues(close);
    if (full === null) {
      t.is(cross, null, `${n} bars`);
      continue;
    }
    t.deepEqual(cross, {
      sma_50: full.sma_50,
      sma_200: full.sma_200,
      rsi_14: full.rsi_14,
      macd: full.macd,
      macd_signal: full.macd_signal,
    } satisfies CrossingValues);
  }
});

test('the walks of growth and book value give what the definitions give, day by day', (t) => {
  const incomes: YearlyIncome[] = [
    { periodEnd: '2019-12-31', publicFrom: '2020-03-01', firstSeen: '2021-01-10', revenue: 80, netIncome: 4, eps: 0.4 },
    {
      periodEnd: '2020-12-31',
      publicFrom: '2021-03-01',
      firstSeen: '2021-01-10',
      revenue: 100,
      netIncome: -5,
      eps: -0.5,
    },
    {
      periodEnd: '2021-12-31',
      publicFrom: '2022-02-20',
      firstSeen: '2022-03-01',
      revenue: 110,
      netIncome: 8,
      eps: 0.8,
    },
    // A restatement of 2021, filed later.
    {
      periodEnd: '2021-12-31',
      publicFrom: '2022-06-01',
      firstSeen: '2022-06-05',
      revenue: 105,
      netIncome: 7,
      eps: 0.7,
    },
    { periodEnd: '2022-12-31', publicFrom: '2023-02-20', firstSeen: '2023-03-01', revenue: 120, netIncome: 10, eps: 1 },
    {
      periodEnd: '2023-12-31',
      publicFrom: '2024-02-20',
      firstSeen: '2024-03-01',
      revenue: 150,
      netIncome: 12,
      eps: 1.2,
    },
    {
      periodEnd: '2024-12-31',
      publicFrom: '2025-02-20',
      firstSeen: '2025-03-01',
      revenue: null,
      netIncome: 16,
      eps: 1.6,
    },
    { periodEnd: '2025-12-31', publicFrom: '2026-02-15', firstSeen: '2026-03-01', revenue: 200, netIncome: 20, eps: 2 },
  ].sort(byPublication);
  const balances: BalanceSheetRow[] = [
    { periodEnd: '2024-12-31', publicFrom: '2025-02-20', firstSeen: '2025-03-01', yearly: true, equity: 50 },
    { periodEnd: '2024-12-31', publicFrom: '2025-02-10', firstSeen: '2025-03-01', yearly: false, equity: 49 },
    { periodEnd: '2025-03-31', publicFrom: '2025-05-10', firstSeen: '2025-06-01', yearly: false, equity: 55 },
    { periodEnd: '2024-12-31', publicFrom: '2025-07-01', firstSeen: '2025-07-02', yearly: false, equity: 48 },
    { periodEnd: '2025-06-30', publicFrom: '2025-08-10', firstSeen: '2025-09-01', yearly: false, equity: -3 },
    { periodEnd: '2025-12-31', publicFrom: '2026-02-15', firstSeen: '2026-03-01', yearly: true, equity: null },
    { periodEnd: '2025-12-31', publicFrom: '2026-02-01', firstSeen: '2026-03-01', yearly: false, equity: 60 },
  ].sort(byPublication);
  const growth = new GrowthWalk(incomes);
  const book = new BookValueWalk(balances);
  let days = 0;
  for (const d of weekdays(1800, '2020-01-01')) {
    t.deepEqual(growth.at(d), growthAsOf(incomes, d), d);
    t.is(book.at(d), bookValueAsOf(balances, d), d);
    days++;
  }
  t.true(days > 1000);
  t.is(bookValueAsOf(balances, '2025-02-15'), 49, 'the quarter, public first');
  t.is(bookValueAsOf(balances, '2025-02-20'), 50, 'the year of the same period end, once public');
  t.is(bookValueAsOf(balances, '2025-08-10'), -3);
  t.is(bookValueAsOf(balances, '2026-02-16'), 60, "the year's equity is missing: the quarter's");
  t.is(growthAsOf(incomes, '2025-03-01')!.revenue_growth_1y, null, 'the latest year has no revenue');
});

test('valuation at the close when the currencies agree, the version as fetched otherwise', (t) => {
  const v = {
    fundamentals_currency: 'GBP',
    shares_outstanding: 1000,
    eps: 2,
    dividend_share: 0.5,
    market_cap: 1,
    pe_ratio: 2,
    dividend_yield: 3,
  } as KnownVersion;
  const out = { market_cap: null, pe_ratio: null, dividend_yield: null };
  t.deepEqual(valuationAt(10, 'GBP', v, out), { market_cap: 10_000, pe_ratio: 5, dividend_yield: 0.05 });
  t.deepEqual(valuationAt(10, 'USD', v, out), { market_cap: 1, pe_ratio: 2, dividend_yield: 3 });
  t.deepEqual(valuationAt(10, 'GBP', { ...v, eps: -1 }, out), {
    market_cap: 10_000,
    pe_ratio: null,
    dividend_yield: 0.05,
  });
  t.deepEqual(valuationAt(10, 'GBP', { ...v, eps: 0 }, out).pe_ratio, null, 'no P/E of nothing earned');
  t.deepEqual(valuationAt(10, 'GBP', { ...v, shares_outstanding: null, eps: null, dividend_share: null }, out), {
    market_cap: 1,
    pe_ratio: 2,
    dividend_yield: 3,
  });
  t.deepEqual(valuationAt(0, 'GBP', v, out), { market_cap: 1, pe_ratio: 2, dividend_yield: 3 }, 'no close: as fetched');
  // Every screener-row column is placed in exactly one group.
  const grouped = Object.values(SCREEN_ROW_GROUPS).flat() as string[];
  t.deepEqual([...grouped].sort(), SCREEN_ROW_COLUMNS.map((c) => c.column).sort());
});

test('every screen field and signal is in docs/screener-columns.md (npm run docs:columns)', (t) => {
  const doc = readFileSync('docs/screener-columns.md', 'utf8');
  const section = doc.slice(doc.indexOf('## The screener row'));
  t.true(section.length < doc.length, 'the section is there');
  const lines = section.split('\n');
  for (const f of SCREEN_FIELDS) {
    const line = lines.find((l) => l.startsWith(`| \`${f.name}\` |`));
    t.truthy(line, `${f.name} is documented`);
    const cells = line!.split(' | ');
    t.is(cells[1], f.type, `${f.name} type`);
    t.is(cells[2], f.unit, `${f.name} unit`);
    t.is(cells[3]!.startsWith(f.money ?? ''), true, `${f.name} money`);
    for (const a of f.aliases ?? []) t.true(cells[4]!.includes(`\`${a}\``), `${f.name} alias ${a}`);
    t.true(line!.endsWith(`| ${f.description} |`), `${f.name} description`);
  }
  for (const x of SIGNALS) t.true(lines.includes(`| \`${x.name}\` | ${x.description} |`), x.name);
});

// ---------------------------------------------------------------------------------------
// The pipeline: bars, fundamentals fetched over time, calc-indicators, the rows read back.

let tdb: TestDb;
test.before(async () => {
  tdb = await createTestDb();
});
test.after.always(async () => {
  await tdb?.drop();
});

const rows = async <T = Record<string, unknown>>(sql: string, args: unknown[] = []) =>
  (await tdb.pool.query(sql, args)).rows as T[];

async function calc(input: CalcIndicatorsInput) {
  const p = await inProcessPipeline(tdb.pool, 'http://127.0.0.1:9/api');
  const r = await calcIndicators(p.ctx, input, null);
  if (r.status !== 200) throw new Error(`calc-indicators answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body as { historyRows: number; failed: number };
}

interface Bars {
  date: string[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  adjusted: number[];
  volume: number[];
}

/** A deterministic random walk of `n` weekday bars from `start`, starting at `level`. */
function walk(n: number, start: string, seed: number, level: number): Bars {
  let x = seed;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  const date = weekdays(n, start);
  const b: Bars = { date, open: [], high: [], low: [], close: [], adjusted: [], volume: [] };
  let c = level;
  for (let i = 0; i < n; i++) {
    // Now and then a gap of 5% and a session of five times the volume.
    const o = c * (1 + (i % 97 === 50 ? 0.05 : (rnd() - 0.5) * 0.02));
    c = o * (1 + (rnd() - 0.5) * 0.04);
    b.open.push(o);
    b.high.push(Math.max(o, c) * (1 + rnd() * 0.01));
    b.low.push(Math.min(o, c) * (1 - rnd() * 0.01));
    b.close.push(c);
    // A dividend-like adjustment: adjusted closes before the middle are 2% lower.
    b.adjusted.push(i < n / 2 ? c * 0.98 : c);
    b.volume.push(Math.round((i % 89 === 40 ? 5 : 1) * (1e5 + rnd() * 1e5)));
  }
  return b;
}

function priceRows(assetId: number, b: Bars, from: number, to: number): PriceRow[] {
  const out: PriceRow[] = [];
  for (let i = from; i <= to; i++)
    out.push({
      assetId,
      date: b.date[i]!,
      open: b.open[i]!,
      high: b.high[i]!,
      low: b.low[i]!,
      close: b.close[i]!,
      adjusted_close: b.adjusted[i]!,
      volume: b.volume[i]!,
    });
  return out;
}

async function addAsset(symbol: string, exchange: string, currency: string): Promise<number> {
  const id = Number(
    (
      await rows<{ id: number }>(
        `INSERT INTO assets (symbol, code, exchange, venue, region, currency) VALUES ($1, $2, $3, $3, 'us', $4) RETURNING id`,
        [symbol, symbol.split('.')[0], exchange, currency],
      )
    )[0]!.id,
  );
  await tdb.pool.query(
    `INSERT INTO asset_processing_state (asset_id, prices_loaded, prices_last_updated_at, prices_currency) VALUES ($1, true, now(), $2)`,
    [id, currency],
  );
  return id;
}

interface Year {
  end: string;
  filed: string;
  revenue: number;
  netIncome: number;
  shares: number;
  equity: number;
}

/** A company document as EODHD sends it, with the figures a screener row reads. */
function companyDoc(o: {
  currency: string;
  sector: string;
  shares: number;
  eps: number;
  dividendShare: number;
  target: number;
  marketCap: number;
  years: Year[];
  quarters: Array<{ end: string; filed: string; equity: number }>;
}): Fundamentals {
  const keyed = (xs: Array<Record<string, unknown>>) => Object.fromEntries(xs.map((x) => [x.date as string, x]));
  return {
    General: { Code: 'X', Type: 'Common Stock', Name: 'Row Co', CurrencyCode: o.currency, Sector: o.sector },
    Highlights: {
      MarketCapitalization: o.marketCap,
      PERatio: 11.5,
      EarningsShare: o.eps,
      DividendShare: o.dividendShare,
      DividendYield: 0.031,
      ProfitMargin: 0.12,
    },
    SharesStats: { SharesOutstanding: o.shares },
    AnalystRatings: { Rating: 4.2, TargetPrice: o.target },
    Technicals: { Beta: 1.3 },
    Financials: {
      Income_Statement: {
        currency_symbol: o.currency,
        yearly: keyed(
          o.years.map((y) => ({
            date: y.end,
            filing_date: y.filed,
            totalRevenue: String(y.revenue),
            netIncome: String(y.netIncome),
          })),
        ),
      },
      Balance_Sheet: {
        currency_symbol: o.currency,
        yearly: keyed(
          o.years.map((y) => ({
            date: y.end,
            filing_date: y.filed,
            totalStockholderEquity: String(y.equity),
            commonStockSharesOutstanding: String(y.shares),
          })),
        ),
        quarterly: keyed(
          o.quarters.map((q) => ({ date: q.end, filing_date: q.filed, totalStockholderEquity: String(q.equity) })),
        ),
      },
    },
  } as unknown as Fundamentals;
}

/** Writes a document fetched on `day` as collect-item does: in one transaction. */
async function fetched(assetId: number, doc: Fundamentals, day: string): Promise<void> {
  const c = await tdb.pool.connect();
  try {
    await c.query('BEGIN');
    await upsertFundamentals(c, assetId, doc, day);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK');
    throw err;
  } finally {
    c.release();
  }
}

const YEARS: Year[] = [
  { end: '2019-12-31', filed: '2020-02-20', revenue: 80, netIncome: 6, shares: 10, equity: 30 },
  { end: '2020-12-31', filed: '2021-02-20', revenue: 100, netIncome: -5, shares: 10, equity: 28 },
  { end: '2021-12-31', filed: '2022-02-20', revenue: 110, netIncome: 8, shares: 10, equity: 33 },
  { end: '2022-12-31', filed: '2023-02-20', revenue: 120, netIncome: 10, shares: 10, equity: 38 },
  { end: '2023-12-31', filed: '2024-02-20', revenue: 150, netIncome: 12, shares: 10, equity: 45 },
  { end: '2024-12-31', filed: '2025-02-20', revenue: 160, netIncome: 16, shares: 8, equity: 52 },
];
const QUARTERS = [
  { end: '2025-06-30', filed: '2025-08-05', equity: 55 },
  { end: '2025-09-30', filed: '2025-11-05', equity: 57 },
];

// The world: 380 weekday bars from 2025-01-01 (to 2026-06-16) for three listings.
const N = 380;
const DAYS = weekdays(N, '2025-01-01');
const D1 = 250; // the first fetch (2025-12-17)
const D2 = 320; // a refresh (2026-03-25): a loss, more shares, a higher target, a new year filed 2026-02-15
const LAST = 340; // the bars the first runs see
const YEAR_2025: Year = { end: '2025-12-31', filed: '2026-02-16', revenue: 200, netIncome: -4, shares: 8, equity: -20 };

interface World {
  lse: number;
  us: number;
  bare: number;
  bars: Map<number, Bars>;
}
let world: Promise<World> | undefined;

/**
 * Three listings: a London one quoted in pence with fundamentals in pounds, a US one whose
 * fundamentals are in euros, one without fundamentals. Bars to D1, the first fetch on D1,
 * calc-indicators; bars to LAST, a refresh on D2 (its new yearly report filed before D2),
 * calc-indicators; a bar quarantined, calc-indicators.
 */
function theWorld(): Promise<World> {
  world ??= (async () => {
    const lse = await addAsset('ROWS.LSE', 'LSE', 'GBX');
    const us = await addAsset('ROWS.US', 'US', 'USD');
    const bare = await addAsset('BARE.US', 'US', 'USD');
    const bars = new Map([
      [lse, walk(N, '2025-01-01', 3, 420)],
      [us, walk(N, '2025-01-01', 5, 60)],
      [bare, walk(N, '2025-01-01', 9, 12)],
    ]);
    for (const [id, b] of bars) await upsertPrices(tdb.pool, priceRows(id, b, 0, D1));
    // The analysts' target: the median close (in pounds) of the sessions it is known on, so
    // that the close is above it on some and below it on others.
    const known = bars
      .get(lse)!
      .close.slice(D1, D2)
      .sort((x, y) => x - y);
    const v1 = {
      sector: 'Industrials',
      shares: 1_000_000,
      eps: 0.2,
      dividendShare: 0.1,
      target: known[Math.floor(known.length / 2)]! / 100,
      marketCap: 3e6,
      years: YEARS,
      quarters: QUARTERS,
    };
    await fetched(lse, companyDoc({ currency: 'GBP', ...v1 }), DAYS[D1]!);
    await fetched(us, companyDoc({ currency: 'EUR', ...v1, target: 50 }), DAYS[D1]!);
    await calc({ symbols: ['ROWS.LSE', 'ROWS.US', 'BARE.US'] });
    for (const [id, b] of bars) await upsertPrices(tdb.pool, priceRows(id, b, D1 + 1, LAST));
    await calc({ symbols: ['ROWS.LSE', 'ROWS.US', 'BARE.US'] });
    const v2 = {
      ...v1,
      sector: 'Technology',
      shares: 2_000_000,
      eps: -0.3,
      target: 5.5,
      years: [...YEARS, YEAR_2025],
    };
    await fetched(lse, companyDoc({ currency: 'GBP', ...v2 }), DAYS[D2]!);
    await fetched(us, companyDoc({ currency: 'EUR', ...v2, target: 50 }), DAYS[D2]!);
    await calc({ symbols: ['ROWS.LSE', 'ROWS.US', 'BARE.US'] });
    return { lse, us, bare, bars };
  })();
  return world;
}

type Row = Record<string, unknown> & { day: string };

async function history(assetId: number): Promise<Map<string, Row>> {
  const r = await rows<Row>(
    `SELECT h.*, h.date::text AS day FROM indicator_history h WHERE asset_id = $1 ORDER BY date`,
    [assetId],
  );
  return new Map(r.map((x) => [x.day, x]));
}

const near = (a: unknown, e: number | null, rel = 1e-12): boolean =>
  e === null ? a === null : typeof a === 'number' && Math.abs(a - e) <= rel * Math.max(1, Math.abs(e));

test.serial("each row's bar is its session's, in the major unit of the quote currency", async (t) => {
  const w = await theWorld();
  const b = w.bars.get(w.lse)!;
  const h = await history(w.lse);
  t.is(h.size, LAST - 199 + 1);
  for (const i of [199, 200, 260, D2, LAST]) {
    const r = h.get(b.date[i]!)!;
    t.is(r.currency, 'GBP', 'GBX quotes: pounds');
    t.true(near(r.close, b.close[i]! / 100), `${b.date[i]} close`);
    t.true(near(r.adjusted_close, b.adjusted[i]! / 100), `${b.date[i]} adjusted close`);
    t.is(r.volume, b.volume[i]);
    t.true(near(r.avg_volume_50, b.volume.slice(i - 49, i + 1).reduce((x, y) => x + y, 0) / 50));
    t.true(near(r.avg_volume_200, b.volume.slice(i - 199, i + 1).reduce((x, y) => x + y, 0) / 200));
  }
  const us = (await history(w.us)).get(DAYS[LAST]!)!;
  t.is(us.currency, 'USD');
  t.true(near(us.close, w.bars.get(w.us)!.close[LAST]!));
});

test.serial('each row reads the fundamentals version known on its session, never a later one', async (t) => {
  const w = await theWorld();
  const h = await history(w.lse);
  const before = h.get(DAYS[D1 - 1]!)!;
  t.is(before.fundamentals_known_from, null, 'nothing fetched yet');
  t.is(before.sector, null);
  t.is(before.market_cap, null);
  for (const i of [D1, D1 + 1, D2 - 1]) {
    const r = h.get(DAYS[i]!)!;
    t.is(r.fundamentals_known_from, DAYS[D1], DAYS[i]);
    t.is(r.sector, 'Industrials', DAYS[i]);
    t.is(r.eps, 0.2);
    t.true(typeof r.analyst_target_price === 'number' && r.analyst_target_price > 0);
  }
  for (const i of [D2, D2 + 1, LAST]) {
    const r = h.get(DAYS[i]!)!;
    t.is(r.fundamentals_known_from, DAYS[D2], DAYS[i]);
    t.is(r.sector, 'Technology', DAYS[i]);
    t.is(r.eps, -0.3);
    t.is(r.shares_outstanding, 2_000_000);
  }
  // The same as fundamentals_as_of(d), day by day.
  for (const [day, r] of h) {
    const known = await rows<{ known_from: string; sector: string; beta: number; currency: string }>(
      `SELECT known_from::text, sector, beta, currency FROM fundamentals_as_of($1) WHERE asset_id = $2`,
      [day, w.lse],
    );
    t.is(r.fundamentals_known_from, known[0]?.known_from ?? null, day);
    t.is(r.sector, known[0]?.sector ?? null, day);
    t.is(r.beta_eodhd, known[0]?.beta ?? null, day);
    t.is(r.fundamentals_currency, known[0]?.currency ?? null, day);
  }
  t.is(h.get(DAYS[LAST]!)!.instrument_type, 'Common Stock');
  t.is(h.get(DAYS[LAST]!)!.profit_margin, 0.12);
  t.is(h.get(DAYS[LAST]!)!.analyst_rating, 4.2);
});

test.serial('valuation at the session close where the currencies agree, as fetched where they do not', async (t) => {
  const w = await theWorld();
  const h = await history(w.lse);
  const b = w.bars.get(w.lse)!;
  for (const i of [D1, D1 + 7, D2 - 1]) {
    const r = h.get(DAYS[i]!)!;
    const close = b.close[i]! / 100;
    t.true(near(r.market_cap, 1_000_000 * close), `${DAYS[i]} market cap at the close`);
    t.true(near(r.pe_ratio, close / 0.2), `${DAYS[i]} P/E at the close`);
    t.true(near(r.dividend_yield, 0.1 / close), `${DAYS[i]} dividend yield at the close`);
  }
  for (const i of [D2, LAST]) {
    const r = h.get(DAYS[i]!)!;
    t.true(near(r.market_cap, 2_000_000 * (b.close[i]! / 100)));
    t.is(r.pe_ratio, null, 'a loss: no P/E');
  }
  // Fundamentals in euros, quotes in dollars: the version's own figures.
  const us = (await history(w.us)).get(DAYS[LAST]!)!;
  t.is(us.fundamentals_currency, 'EUR');
  t.is(us.market_cap, 3e6);
  t.is(us.pe_ratio, 11.5);
  t.is(us.dividend_yield, 0.031);
  t.false(
    (us.signals as string[]).some((s) => s.startsWith('wallstreet')),
    'no target in the quote currency',
  );
});

const BOOK_VALUE = `
  SELECT equity FROM (
    SELECT DISTINCT ON (frequency, period_end) frequency, period_end, equity FROM financial_reports
     WHERE asset_id = $1 AND statement = 'balance_sheet' AND coalesce(filing_date, first_seen) <= $2
     ORDER BY frequency, period_end, coalesce(filing_date, first_seen) DESC, first_seen DESC
  ) k ORDER BY period_end DESC, (equity IS NOT NULL) DESC, (frequency = 'yearly') DESC LIMIT 1`;

test.serial(
  "book value is the equity of the latest balance sheet public on the session, growth is fundamental_growth_as_of's",
  async (t) => {
    const w = await theWorld();
    for (const id of [w.lse, w.us, w.bare]) {
      const h = await history(id);
      for (const [day, r] of h) {
        const e = await rows<{ equity: number | null }>(BOOK_VALUE, [id, day]);
        t.is(r.book_value, e[0]?.equity ?? null, `${id} ${day} book value`);
      }
      // Growth: the SQL function on a sample of days (it reads every asset on each call).
      const days = [...h.keys()].filter((_, k) => k % 7 === 0 || k === h.size - 1);
      for (const day of days) {
        const g = (await rows(`SELECT * FROM fundamental_growth_as_of($1) WHERE asset_id = $2`, [day, id]))[0];
        for (const c of GROWTH_ROW_COLUMNS)
          t.true(
            near(h.get(day)![c], (g?.[c] as number | null) ?? null),
            `${id} ${day} ${c}: ${h.get(day)![c]} vs ${g?.[c]}`,
          );
      }
    }
    // The 2025 report, filed on 2026-02-16 and first seen on D2 (2026-03-25): the rows from its
    // filing day were computed again when it was fetched (queued from its public day).
    const h = await history(w.lse);
    t.is(h.get('2026-02-13')!.book_value, 57, 'the third quarter');
    t.is(h.get('2026-02-16')!.book_value, -20, "the year's negative equity, from its filing day");
    t.true((h.get('2026-02-16')!.signals as string[]).includes('bookvalue_neg'));
    t.true((h.get('2026-02-13')!.signals as string[]).includes('bookvalue_pos'));
    t.true(near(h.get('2026-02-16')!.revenue_growth_1y, 200 / 160 - 1));
    t.true(near(h.get('2026-02-13')!.revenue_growth_1y, 160 / 150 - 1));
  },
);

test.serial('growth in TypeScript equals fundamental_growth_as_of(d) for several assets and days', async (t) => {
  // Report histories with what makes the definition bite: restatements, a missing year, a
  // loss, fiscal years ending on a leap day and moving by a few days (52/53-week years), a
  // filing date before the row was first seen, rows without one.
  const insert = (id: number, r: Partial<Record<string, unknown>> & { period_end: string; first_seen: string }) =>
    tdb.pool.query(
      `INSERT INTO financial_reports (asset_id, statement, frequency, period_end, first_seen, filing_date, revenue, net_income, eps)
       VALUES ($1, 'income_statement', 'yearly', $2, $3, $4, $5, $6, $7)`,
      [id, r.period_end, r.first_seen, r.filing_date ?? null, r.revenue ?? null, r.net_income ?? null, r.eps ?? null],
    );
  const ids: number[] = [];
  for (let a = 0; a < 5; a++) {
    const id = Number(
      (
        await rows<{ id: number }>(
          `INSERT INTO assets (symbol, code, exchange, region) VALUES ($1, $2, 'US', 'us') RETURNING id`,
          [`GROW${a}.US`, `GROW${a}`],
        )
      )[0]!.id,
    );
    ids.push(id);
    let x = 11 + a;
    const rnd = () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    const ends =
      a === 0
        ? [
            '2016-02-29',
            '2017-02-28',
            '2018-02-28',
            '2019-02-28',
            '2020-02-29',
            '2021-02-28',
            '2022-02-28',
            '2023-02-28',
            '2024-02-29',
          ]
        : a === 1
          ? [
              '2016-07-02',
              '2017-07-01',
              '2018-06-30',
              '2019-06-29',
              '2020-07-04',
              '2021-07-03',
              '2022-07-02',
              '2023-07-01',
              '2024-06-29',
            ]
          : [
              '2015-12-31',
              '2016-12-31',
              '2017-12-31',
              '2018-12-31',
              '2019-12-31',
              '2020-12-31',
              '2021-12-31',
              '2022-12-31',
              '2023-12-31',
              '2024-12-31',
            ];
    for (const [k, end] of ends.entries()) {
      if (a === 2 && k === 4) continue; // a missing year
      const filed = new Date(Date.parse(`${end}T00:00:00Z`) + (40 + Math.floor(rnd() * 40)) * 86_400_000)
        .toISOString()
        .slice(0, 10);
      const revenue = 100 * (1 + k * 0.1) * (0.9 + rnd() * 0.2);
      const netIncome = a === 3 && k % 3 === 1 ? -5 : 10 * (0.5 + rnd());
      await insert(id, {
        period_end: end,
        first_seen: a === 4 ? filed : '2025-01-15',
        filing_date: a === 4 ? null : filed,
        revenue,
        net_income: netIncome,
        eps: netIncome / 10,
      });
      // A restatement of some years, filed a few months later.
      if (k % 4 === 2)
        await insert(id, {
          period_end: end,
          first_seen: '2025-01-16',
          filing_date: new Date(Date.parse(`${filed}T00:00:00Z`) + 120 * 86_400_000).toISOString().slice(0, 10),
          revenue: revenue * 1.05,
          net_income: netIncome * 0.9,
          eps: (netIncome * 0.9) / 10,
        });
    }
  }
  const days = weekdays(2600, '2015-06-01').filter((_, k) => k % 23 === 0);
  let compared = 0;
  for (const bound of ['-infinity', '2019-06-03', '2022-01-03']) {
    const known = await loadKnownFundamentals(
      tdb.pool,
      ids,
      ids.map(() => bound),
    );
    for (const id of ids) {
      const incomes = known.get(id)?.incomes ?? [];
      const walkGrowth = new GrowthWalk(incomes);
      for (const day of days) {
        if (bound !== '-infinity' && day < bound) continue;
        const sql = (await rows(`SELECT * FROM fundamental_growth_as_of($1) WHERE asset_id = $2`, [day, id]))[0];
        const ts = growthAsOf(incomes, day);
        t.deepEqual(walkGrowth.at(day), ts, `${id} ${day}: the walk`);
        t.is(
          ts?.fiscalYearEnd ?? null,
          (sql?.fiscal_year_end as string | undefined) ?? null,
          `${id} ${day} fiscal year`,
        );
        for (const c of GROWTH_ROW_COLUMNS) {
          // power() in PostgreSQL (the C library's pow) and ** in V8 may differ in the last bit.
          t.true(
            near(ts?.[c] ?? null, (sql?.[c] as number | null) ?? null),
            `${id} ${day} ${c}: ${ts?.[c]} vs ${sql?.[c]}`,
          );
        }
        compared++;
      }
    }
  }
  t.true(compared > 500, `${compared} asset-days compared`);
});

test.serial("each row's signals are what its values and the session before's say", async (t) => {
  const w = await theWorld();
  let fired = 0;
  for (const id of [w.lse, w.us, w.bare]) {
    const b = w.bars.get(id)!;
    const h = [...(await history(id)).values()];
    for (let k = 0; k < h.length; k++) {
      const r = h[k]! as Record<string, number | null> & Row;
      const p = k > 0 ? (h[k - 1] as Record<string, number | null>) : null;
      const i = b.date.indexOf(r.day);
      const e: string[] = [];
      const cross = (a: string, c: string, up: boolean) =>
        p !== null &&
        r[a] !== null &&
        r[c] !== null &&
        p[a] !== null &&
        p[c] !== null &&
        (up ? r[a]! > r[c]! && p[a]! <= p[c]! : r[a]! < r[c]! && p[a]! >= p[c]!);
      if (cross('sma_50', 'sma_200', true)) e.push('golden_cross');
      if (cross('sma_50', 'sma_200', false)) e.push('death_cross');
      const before = (n: number) => (i >= n ? b.adjusted.slice(i - n, i) : null);
      const hiLo = (n: number, up: boolean) => {
        const w = before(n);
        return w !== null && (up ? b.adjusted[i]! > Math.max(...w) : b.adjusted[i]! < Math.min(...w));
      };
      if (hiLo(251, true)) e.push('new_52w_high');
      if (hiLo(251, false)) e.push('new_52w_low');
      if (p && r.rsi_14! < 30 && p.rsi_14! >= 30) e.push('rsi_below_30');
      if (p && r.rsi_14! > 70 && p.rsi_14! <= 70) e.push('rsi_above_70');
      if (cross('macd', 'macd_signal', true)) e.push('macd_cross_up');
      if (cross('macd', 'macd_signal', false)) e.push('macd_cross_down');
      // The adjusted close against the 200-session average (current_price is the adjusted close).
      if (cross('current_price', 'sma_200', true)) e.push('price_cross_above_sma_200');
      if (cross('current_price', 'sma_200', false)) e.push('price_cross_below_sma_200');
      if (r.relative_volume !== null && r.relative_volume >= 2) e.push('unusual_volume');
      if (r.gap_pct !== null && r.gap_pct >= 4) e.push('gap_up');
      if (r.gap_pct !== null && r.gap_pct <= -4) e.push('gap_down');
      if (hiLo(49, true)) e.push('50d_new_hi');
      if (hiLo(49, false)) e.push('50d_new_lo');
      if (hiLo(199, true)) e.push('200d_new_hi');
      if (hiLo(199, false)) e.push('200d_new_lo');
      if (r.book_value !== null && r.book_value > 0) e.push('bookvalue_pos');
      if (r.book_value !== null && r.book_value < 0) e.push('bookvalue_neg');
      const agree = r.fundamentals_currency !== null && r.fundamentals_currency === r.currency;
      if (agree && r.analyst_target_price !== null && r.close! > r.analyst_target_price) e.push('wallstreet_hi');
      if (agree && r.analyst_target_price !== null && r.close! < r.analyst_target_price) e.push('wallstreet_lo');
      t.deepEqual(r.signals, e, `${id} ${r.day}`);
      fired += e.length;
    }
  }
  t.true(fired > 50, `${fired} signals fired`);
  const lse = await history(w.lse);
  const all = new Set([...lse.values()].flatMap((r) => r.signals as string[]));
  for (const s of ['gap_up', 'unusual_volume', 'wallstreet_hi', 'bookvalue_pos', 'bookvalue_neg', '50d_new_hi'])
    t.true(all.has(s), `${s} fired on some session of the London listing`);
});

/** technical_indicators' row against indicator_history's row of its price_date, column by column. */
async function latestIsHistory(t: ExecutionContext, ids: number[]): Promise<void> {
  const columns = [
    'bars_used',
    ...INDICATOR_COLUMNS,
    ...FIGURE_COLUMNS,
    ...SCREEN_ROW_COLUMNS.map((c) => c.column),
  ] as const;
  for (const id of ids) {
    const latest = (await rows(`SELECT * FROM technical_indicators WHERE asset_id = $1`, [id]))[0]!;
    const row = (
      await rows(`SELECT * FROM indicator_history WHERE asset_id = $1 AND date = $2`, [id, latest.price_date])
    )[0];
    t.truthy(row, `${id}: a history row on ${latest.price_date}`);
    for (const c of columns) t.deepEqual(latest[c], row![c], `${id} ${c}`);
  }
}

test.serial("the latest row is its session's history row, computed with the history or alone", async (t) => {
  const w = await theWorld();
  await latestIsHistory(t, [w.lse, w.us, w.bare]);
  const latest = (await rows(`SELECT * FROM technical_indicators WHERE asset_id = $1`, [w.lse]))[0]!;
  t.is(latest.price_date, DAYS[LAST]);
  t.is(latest.sector, 'Technology');
  // Nothing queued: the latest rows are computed alone (no history), and are the same.
  t.is((await rows(`SELECT 1 FROM indicator_history_queue`)).length, 0);
  const body = await calc({ symbols: ['ROWS.LSE', 'ROWS.US', 'BARE.US'] });
  t.is(body.historyRows, 0);
  await latestIsHistory(t, [w.lse, w.us, w.bare]);
  // History paused, a new bar: the latest row alone again, its history waits.
  const { setSetting } = await import('../shared/store/settings.js');
  await setSetting(tdb.pool, 'indicator_history_sessions_per_run', 0);
  for (const [id, b] of w.bars) await upsertPrices(tdb.pool, priceRows(id, b, LAST + 1, LAST + 1));
  await calc({ symbols: ['ROWS.LSE', 'ROWS.US', 'BARE.US'] });
  const alone = (await rows(`SELECT * FROM technical_indicators WHERE asset_id = $1`, [w.lse]))[0]!;
  t.is(alone.price_date, DAYS[LAST + 1]);
  await setSetting(tdb.pool, 'indicator_history_sessions_per_run', 500_000);
  await calc({ symbols: ['ROWS.LSE', 'ROWS.US', 'BARE.US'] });
  const after = (await rows(`SELECT * FROM technical_indicators WHERE asset_id = $1`, [w.lse]))[0]!;
  for (const c of [...INDICATOR_COLUMNS, ...FIGURE_COLUMNS, ...SCREEN_ROW_COLUMNS.map((x) => x.column)])
    t.deepEqual(alone[c], after[c], `alone ${c}`);
  await latestIsHistory(t, [w.lse, w.us, w.bare]);
});

test.serial('a quarantined bar is no row and no part of the rows after it', async (t) => {
  const w = await theWorld();
  const b = w.bars.get(w.us)!;
  const q = LAST - 5;
  await tdb.pool.query(
    `INSERT INTO price_quality_findings (asset_id, date, check_name, severity, detail) VALUES ($1, $2, 'unit_slip', 'error', 'test')`,
    [w.us, b.date[q]],
  );
  await queueHistory(tdb.pool, [{ assetId: w.us, fromDate: b.date[q]! }]);
  await calc({ symbols: ['ROWS.US'] });
  const h = await history(w.us);
  t.false(h.has(b.date[q]!));
  const next = h.get(b.date[q + 1]!)!;
  const volumes = [...b.volume.slice(q + 1 - 50, q), ...b.volume.slice(q + 1, q + 2)];
  t.true(near(next.avg_volume_50, volumes.reduce((x, y) => x + y, 0) / 50), 'the 50 bars without the quarantined one');
  await latestIsHistory(t, [w.us]);
});

test.serial('fundamentals fetched without a new bar reach the rows from their day and the latest row', async (t) => {
  const w = await theWorld();
  const last = (
    await rows<{ price_date: string }>(`SELECT price_date FROM technical_indicators WHERE asset_id = $1`, [w.lse])
  )[0]!.price_date;
  const h0 = await history(w.lse);
  // The assets' indicators are current: the chain would pick none of them.
  t.false((await assetsWithStaleIndicators(tdb.pool, ['LSE'], null)).includes(w.lse));
  // An earlier queued day (a bar corrected) is kept: the queue's rule.
  const earlier = DAYS[LAST - 3]!;
  await queueHistory(tdb.pool, [{ assetId: w.lse, fromDate: earlier }]);
  await fetched(
    w.lse,
    companyDoc({
      currency: 'GBP',
      sector: 'Utilities',
      shares: 3_000_000,
      eps: 0.5,
      dividendShare: 0.2,
      target: 1,
      marketCap: 9e6,
      years: [...YEARS, YEAR_2025],
      quarters: QUARTERS,
    }),
    last,
  );
  t.deepEqual(await rows(`SELECT from_date::text AS d FROM indicator_history_queue WHERE asset_id = $1`, [w.lse]), [
    { d: earlier },
  ]);
  await tdb.pool.query(`DELETE FROM indicator_history_queue WHERE asset_id = $1`, [w.lse]);
  // A refetch the same day with other figures (the day's version replaced): queued from its
  // day, in the same statement.
  const nextDay = new Date(Date.parse(`${last}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  await fetched(
    w.lse,
    companyDoc({
      currency: 'GBP',
      sector: 'Utilities',
      shares: 3_000_000,
      eps: 0.5,
      dividendShare: 0.2,
      target: 1,
      marketCap: 9.5e6,
      years: [...YEARS, YEAR_2025],
      quarters: QUARTERS,
    }),
    last,
  );
  t.deepEqual(await rows(`SELECT from_date::text AS d FROM indicator_history_queue WHERE asset_id = $1`, [w.lse]), [
    { d: last },
  ]);
  // The chain after a daily run picks the asset (its history is queued) and rewrites its rows.
  t.true((await assetsWithStaleIndicators(tdb.pool, ['LSE'], null)).includes(w.lse));
  const body = await calc({ all: true });
  t.is(body.failed, 0);
  const h1 = await history(w.lse);
  t.is(h1.get(last)!.sector, 'Utilities', "the last session's row reads the version of its day");
  t.is(h1.get(last)!.fundamentals_known_from, last);
  t.is(h1.get(DAYS[LAST - 1]!)!.sector, 'Technology', 'the session before keeps what was known then');
  t.is(h1.get(DAYS[LAST - 1]!)!.market_cap, h0.get(DAYS[LAST - 1]!)!.market_cap);
  const latest = (await rows(`SELECT * FROM technical_indicators WHERE asset_id = $1`, [w.lse]))[0]!;
  t.is(latest.sector, 'Utilities');
  t.true(near(latest.market_cap, 3_000_000 * (latest.close as number)));
  t.true(
    (latest.signals as string[]).includes('wallstreet_hi') || (latest.signals as string[]).includes('wallstreet_lo'),
  );
  await latestIsHistory(t, [w.lse]);
  // A fetch dated after the last bar: no row of a later session exists yet; the rows keep theirs.
  await fetched(
    w.lse,
    companyDoc({
      currency: 'GBP',
      sector: 'Energy',
      shares: 3_000_000,
      eps: 0.5,
      dividendShare: 0.2,
      target: 1,
      marketCap: 9.9e6,
      years: [...YEARS, YEAR_2025],
      quarters: QUARTERS,
    }),
    nextDay,
  );
  await calc({ all: true });
  t.is((await rows(`SELECT sector FROM technical_indicators WHERE asset_id = $1`, [w.lse]))[0]!.sector, 'Utilities');
});
