/**
 * What a screener reads: fundamentals where 0 and "not available" differ and the two
 * sector classifications stay apart, every column documented with its unit and source;
 * prices in the API's currency with v_screener in the major unit (pence -> pounds), a
 * listing that moves from pence to pounds kept right; volumes without loss; a symbol EODHD
 * has no document for asked once, not every day (again when it comes back to its
 * exchange's list); a new mapping version refills stored documents without the API.
 */

import fs from 'node:fs';
import test from 'ava';
import { inProcessPipeline } from '../dev/in-process.js';
import type { EodBar, Simulator } from '../dev/simulator/index.js';
import type { Fundamentals } from '../shared/eodhd/schemas.js';
import { extractFundamentals, SCREENER_COLUMNS } from '../shared/store/fundamentals.js';
import { migrate } from '../shared/store/migrate.js';
import type { TestDb } from './helpers/db.js';
import { closeWorld, openWorld } from './helpers/world.js';

const rows = async <T = Record<string, unknown>>(tdb: TestDb, sql: string, args: unknown[] = []) =>
  (await tdb.pool.query(sql, args)).rows as T[];
const one = async <T = Record<string, unknown>>(tdb: TestDb, sql: string, args: unknown[] = []) =>
  (await rows<T>(tdb, sql, args))[0]!;

// A London company that pays nothing, with EODHD's zeros, empty strings and "NA"s.
const PAYS_NOTHING = {
  General: {
    Code: 'X',
    Type: 'Common Stock',
    Sector: '',
    Industry: 'NA',
    GicSector: 'Energy',
    GicIndustry: 'Oil, Gas & Consumable Fuels',
    CurrencyCode: 'GBX',
  },
  Highlights: {
    MarketCapitalization: 0,
    PERatio: 0,
    DividendYield: 0,
    DividendShare: '0',
    ProfitMargin: 0,
    EarningsShare: -0.12,
    RevenueTTM: '0',
    EBITDA: 0,
  },
  Valuation: { TrailingPE: 0, ForwardPE: 'NA', PriceBookMRQ: '1.25' },
  SharesStats: { SharesOutstanding: 0 },
  Technicals: { Beta: 0, '52WeekHigh': 0 },
  SplitsDividends: { ForwardAnnualDividendRate: '0', ForwardAnnualDividendYield: 0, PayoutRatio: 0 },
  AnalystRatings: 'NA',
} as unknown as Fundamentals;

test('fundamentals: a company that pays nothing keeps its zeros (dividends, payout, margin, revenue), and its EPS', (t) => {
  const f = extractFundamentals(PAYS_NOTHING);
  // A company that pays nothing: zeros, not unknowns.
  t.like(f, {
    dividend_yield: 0,
    dividend_share: 0,
    forward_dividend_rate: 0,
    forward_dividend_yield: 0,
    payout_ratio: 0,
    profit_margin: 0,
    revenue_ttm: 0,
    eps: -0.12,
  });
});

test('fundamentals: EODHD\'s zeros where 0 cannot be a value (market cap, P/E, beta, ...) and its "NA"s are NULL', (t) => {
  const f = extractFundamentals(PAYS_NOTHING);
  // EODHD's zeros for what cannot be zero: unknown.
  t.like(f, {
    market_cap: null,
    pe_ratio: null,
    forward_pe: null,
    ebitda: null,
    shares_outstanding: null,
    beta: null,
    week_52_high: null,
    analyst_rating: null,
  });
});

test('fundamentals: a number EODHD sends as a string is read as a number', (t) => {
  t.is(extractFundamentals(PAYS_NOTHING).price_to_book, 1.25);
});

test('fundamentals: the two sector classifications stay apart, an empty or "NA" one is NULL; the currency as given', (t) => {
  t.like(extractFundamentals(PAYS_NOTHING), {
    sector: null,
    industry: null,
    gic_sector: 'Energy',
    gic_industry: 'Oil, Gas & Consumable Fuels',
    currency: 'GBX',
  });
});

test('every screener column says where it comes from, its unit, and which zero it keeps', (t) => {
  // Every column says which zero it keeps and where it comes from.
  for (const c of SCREENER_COLUMNS) {
    t.true(c.from.length > 0 && c.unit.length > 0, c.column);
    if (c.kind === 'number' || c.kind === 'integer') t.true(c.zero === 'value' || c.zero === 'missing', c.column);
  }
});

test('every screener column is in docs/screener-columns.md with its unit and source', (t) => {
  const doc = fs.readFileSync('docs/screener-columns.md', 'utf8');
  for (const c of SCREENER_COLUMNS) {
    const line = doc.split('\n').find((l) => l.startsWith(`| \`${c.column}\` |`));
    t.truthy(line, `${c.column} is documented`);
    for (const s of c.from) t.true(line!.includes(s.path), `${c.column}: source ${s.path}`);
    t.true(line!.includes(c.unit), `${c.column}: unit ${c.unit}`);
  }
});

// ---------------------------------------------------------------------------------------
// A week of runs on the sample universe, run once (test.before) for the tests below:
//   day 1: the first run;
//   day 5 (four trading days later): the London listing that quoted in pence quotes in pounds;
//   day 6: the symbol without fundamentals dropped out of its exchange's list the day before
//          (is_active = false) and comes back.
// Each day's rows are read right after its run, before the next day changes them, and the
// tests assert on what was read; only the last test (the mapping version) touches the world.

interface ScreenerRow {
  quote_currency: string;
  currency: string;
  last_close: number;
  close: number;
}

interface Week {
  tdb: TestDb;
  sim: Simulator;
  /** The London listing that moves from pence to pounds. */
  switching: string;
  /** A symbol EODHD has prices for but no fundamentals (a warrant). */
  warrant: string;
  /** A Frankfurt listing with fractional volumes. */
  frankfurt: string;
  day1: {
    currency: string | null;
    volumes: Array<{ date: string; volume: number }>;
    expectedVolumes: EodBar[];
    gbx: ScreenerRow;
    usd: { currency: string; last_close: number; close: number };
    notFoundOn: string | null;
  };
  day5: {
    currency: string | null;
    changes: Record<string, unknown>[];
    series: Array<{ date: string; close: number; adjusted_close: number }>;
    expected: EodBar[];
    after: ScreenerRow;
    warrantAsked: number;
  };
  day6: { warrantAsked: number; notFoundOn: string; status: string };
}

let tdb: TestDb | undefined;
let sim: Simulator | undefined;
let week: Week;

test.before('a week of runs: day 1, the currency switch on day 5, the warrant back on day 6', async () => {
  ({ tdb, sim } = await openWorld({}));
  const db = tdb;
  const s = sim;
  const p = await inProcessPipeline(db.pool, s.url);
  const screenerRow = (symbol: string) =>
    one<ScreenerRow>(
      db,
      `
      SELECT v.quote_currency, v.currency, v.last_close, p.close FROM v_screener v
        JOIN stock_prices p ON p.asset_id = v.asset_id AND p.date = v.last_date WHERE v.symbol = $1`,
      [symbol],
    );
  const fundamentalsAsked = async (executionId: number, symbol: string) =>
    (
      await one<{ n: number }>(
        db,
        `SELECT count(*)::int AS n FROM api_calls WHERE execution_id = $1 AND endpoint = 'fundamentals' AND target = $2`,
        [executionId, symbol],
      )
    ).n;
  const notFoundOn = async (symbol: string) =>
    (
      await one<{ on: string | null }>(
        db,
        `SELECT s.fundamentals_not_found_on::text AS on FROM asset_processing_state s JOIN assets a ON a.id = s.asset_id WHERE a.symbol = $1`,
        [symbol],
      )
    ).on;

  // Day 1.
  await p.run();
  const switching = s.anchors().currencySwitch;
  const frankfurt = s
    .symbols()
    .find((x) => x.endsWith('.F') && s.expectedHistory(x, '2026-11-01').some((b) => !Number.isInteger(b.volume)))!;
  const warrant = s.symbols().find((x) => !s.hasFundamentals(x))!;
  const day1: Week['day1'] = {
    currency: s.currencyOf(switching),
    volumes: await rows(
      db,
      `SELECT p.date, p.volume FROM stock_prices p JOIN assets a ON a.id = p.asset_id WHERE a.symbol = $1 AND p.date >= '2026-11-01' ORDER BY p.date`,
      [frankfurt],
    ),
    expectedVolumes: s.expectedHistory(frankfurt, '2026-11-01'),
    gbx: await screenerRow(switching),
    usd: await one(
      db,
      `
      SELECT v.currency, v.last_close, p.close FROM v_screener v JOIN stock_prices p ON p.asset_id = v.asset_id AND p.date = v.last_date WHERE v.symbol = 'AAPL.US'`,
    ),
    notFoundOn: await notFoundOn(warrant),
  };

  // Day 5: four trading days later the listing quotes in pounds.
  s.advanceTradingDays(4);
  const currency5 = s.currencyOf(switching);
  const id2 = await p.run();
  const series = await rows<{ date: string; close: number; adjusted_close: number }>(
    db,
    `SELECT p.date, p.close, p.adjusted_close FROM stock_prices p JOIN assets a ON a.id = p.asset_id WHERE a.symbol = $1 ORDER BY p.date`,
    [switching],
  );
  const day5: Week['day5'] = {
    currency: currency5,
    changes: await rows(
      db,
      `SELECT c.from_currency, c.to_currency FROM asset_currency_changes c JOIN assets a ON a.id = c.asset_id WHERE a.symbol = $1`,
      [switching],
    ),
    series,
    expected: s.expectedHistory(switching, series[0]!.date),
    after: await screenerRow(switching),
    warrantAsked: await fundamentalsAsked(id2, warrant),
  };

  // Day 6: the warrant dropped out of its exchange's list and comes back.
  await db.pool.query(`UPDATE assets SET is_active = false WHERE symbol = $1`, [warrant]);
  s.advanceTradingDays(1);
  const id3 = await p.run();
  const day6: Week['day6'] = {
    warrantAsked: await fundamentalsAsked(id3, warrant),
    notFoundOn: (await notFoundOn(warrant))!,
    status: (await one<{ status: string }>(db, 'SELECT status FROM process_executions WHERE execution_id = $1', [id3]))
      .status,
  };

  week = { tdb: db, sim: s, switching, warrant, frankfurt, day1, day5, day6 };
});

test.after.always(() => closeWorld(tdb, sim));

test("Frankfurt's fractional volumes are stored as the API gives them", (t) => {
  const { day1 } = week;
  t.deepEqual(
    day1.volumes.map((r) => [r.date, r.volume]),
    day1.expectedVolumes.map((b) => [b.date, b.volume]),
  );
});

test('v_screener shows a London listing quoted in pence (GBX) in pounds: the close / 100', (t) => {
  const { gbx, currency } = week.day1;
  t.is(currency, 'GBX');
  // v_screener: London in pounds, whatever the API quotes in.
  t.like(gbx, { quote_currency: 'GBX', currency: 'GBP' });
  t.is(gbx.last_close, gbx.close / 100);
});

test('v_screener shows a listing quoted in dollars as it is quoted', (t) => {
  const { usd } = week.day1;
  t.is(usd.currency, 'USD');
  t.is(usd.last_close, usd.close);
});

test('a symbol EODHD has prices but no fundamentals for is marked as such on the first run', (t) => {
  // A warrant: EODHD has prices for it but no fundamentals; asked once, marked, not asked again.
  t.truthy(week.day1.notFoundOn);
});

test('a listing that moves from pence to pounds: the change GBX -> GBP is recorded once', (t) => {
  const { day5 } = week;
  t.is(day5.currency, 'GBP');
  t.deepEqual(day5.changes, [{ from_currency: 'GBX', to_currency: 'GBP' }]);
});

test('a listing that moves from pence to pounds: its whole history is fetched again, in pounds', (t) => {
  const { series, expected } = week.day5;
  t.deepEqual(
    series.map((r) => [r.date, r.close, r.adjusted_close]),
    expected.map((b) => [b.date, b.close, b.adjusted_close]),
    "the stored series is the API's, in pounds",
  );
});

test('a listing that moves from pence to pounds: v_screener shows it in pounds at the level it had in pence', (t) => {
  const { day1, day5 } = week;
  const { after } = day5;
  t.like(after, { quote_currency: 'GBP', currency: 'GBP' });
  t.is(after.last_close, after.close);
  t.true(
    Math.abs(after.last_close - day1.gbx.last_close) / day1.gbx.last_close < 0.5,
    `the same company in the same unit: ${day1.gbx.last_close} then ${after.last_close}`,
  );
});

test('a symbol marked as without fundamentals is not asked again on the following days', (t) => {
  t.is(week.day5.warrantAsked, 0, 'the warrant is not asked again');
});

test('a symbol without fundamentals that leaves its exchange and comes back is asked once more, marked again, and the run succeeds', (t) => {
  const { day1, day6 } = week;
  // It drops out of its exchange's list and comes back: it is asked once more.
  t.is(day6.warrantAsked, 1);
  t.true(day6.notFoundOn > day1.notFoundOn!, `marked again on ${day6.notFoundOn}`);
  t.is(day6.status, 'success');
});

test('a new mapping version fills the columns of stored documents again, without the API', async (t) => {
  const { tdb, sim } = week;
  // A new mapping version fills the columns of stored documents again, without the API.
  const before = await one<{ asset_id: number; market_cap: number | null; sector: string | null }>(
    tdb,
    `SELECT asset_id, market_cap, sector FROM fundamentals WHERE sector IS NOT NULL ORDER BY asset_id LIMIT 1`,
  );
  await tdb.pool.query(
    `UPDATE fundamentals SET columns_version = 0, market_cap = -1, sector = 'stale' WHERE asset_id = $1`,
    [before.asset_id],
  );
  const calls = sim.usage().calls;
  const m = await migrate(tdb.pool);
  t.is(m.refilledFundamentals, 1);
  t.like(
    await one(tdb, `SELECT asset_id, market_cap, sector FROM fundamentals WHERE asset_id = $1`, [before.asset_id]),
    before,
  );
  t.is(sim.usage().calls, calls);
});
