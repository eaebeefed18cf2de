/**
 * What a screener reads: fundamentals where 0 and "not available" differ and the two
 * sector classifications stay apart; prices in the API's currency with v_screener in the
 * major unit (pence -> pounds), a listing that moves from pence to pounds kept right;
 * volumes without loss; a symbol EODHD has no document for asked once, not every day.
 */

import fs from 'node:fs';
import test from 'ava';
import { inProcessPipeline } from '../dev/in-process.js';
import type { Fundamentals } from '../shared/eodhd/schemas.js';
import { extractFundamentals, SCREENER_COLUMNS } from '../shared/store/fundamentals.js';
import { migrate } from '../shared/store/migrate.js';
import type { TestDb } from './helpers/db.js';
import { withWorld } from './helpers/world.js';

const rows = async <T = Record<string, unknown>>(tdb: TestDb, sql: string, args: unknown[] = []) =>
  (await tdb.pool.query(sql, args)).rows as T[];
const one = async <T = Record<string, unknown>>(tdb: TestDb, sql: string, args: unknown[] = []) =>
  (await rows<T>(tdb, sql, args))[0]!;

test('fundamentals: 0 stays 0 where it is a value, becomes NULL where EODHD means "no data"; the two classifications apart', (t) => {
  const doc = {
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
  const f = extractFundamentals(doc);
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
  t.is(f.price_to_book, 1.25);
  t.like(f, {
    sector: null,
    industry: null,
    gic_sector: 'Energy',
    gic_industry: 'Oil, Gas & Consumable Fuels',
    currency: 'GBX',
  });
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

test('currencies, volumes and symbols without a document, over a week of runs', async (t) => {
  await withWorld({}, async ({ tdb, sim }) => {
    const p = await inProcessPipeline(tdb.pool, sim.url);
    await p.run();
    const switching = sim.anchors().currencySwitch;
    t.is(sim.currencyOf(switching), 'GBX');

    // Frankfurt's fractional volumes are stored as the API gives them.
    const f = sim
      .symbols()
      .find((s) => s.endsWith('.F') && sim.expectedHistory(s, '2026-11-01').some((b) => !Number.isInteger(b.volume)))!;
    const stored = await rows<{ date: string; volume: number }>(
      tdb,
      `SELECT p.date, p.volume FROM stock_prices p JOIN assets a ON a.id = p.asset_id WHERE a.symbol = $1 AND p.date >= '2026-11-01' ORDER BY p.date`,
      [f],
    );
    t.deepEqual(
      stored.map((r) => [r.date, r.volume]),
      sim.expectedHistory(f, '2026-11-01').map((b) => [b.date, b.volume]),
    );

    // v_screener: London in pounds, whatever the API quotes in.
    const gbx = await one<{
      symbol: string;
      quote_currency: string;
      currency: string;
      last_close: number;
      close: number;
    }>(
      tdb,
      `
      SELECT v.symbol, v.quote_currency, v.currency, v.last_close, p.close FROM v_screener v
        JOIN stock_prices p ON p.asset_id = v.asset_id AND p.date = v.last_date WHERE v.symbol = $1`,
      [switching],
    );
    t.like(gbx, { quote_currency: 'GBX', currency: 'GBP' });
    t.is(gbx.last_close, gbx.close / 100);
    const usd = await one<{ currency: string; last_close: number; close: number }>(
      tdb,
      `
      SELECT v.currency, v.last_close, p.close FROM v_screener v JOIN stock_prices p ON p.asset_id = v.asset_id AND p.date = v.last_date WHERE v.symbol = 'AAPL.US'`,
    );
    t.is(usd.currency, 'USD');
    t.is(usd.last_close, usd.close);

    // A warrant: EODHD has prices for it but no fundamentals; asked once, marked, not asked again.
    const warrant = sim.symbols().find((s) => !sim.hasFundamentals(s))!;
    const mark = await one<{ on: string | null }>(
      tdb,
      `SELECT s.fundamentals_not_found_on::text AS on FROM asset_processing_state s JOIN assets a ON a.id = s.asset_id WHERE a.symbol = $1`,
      [warrant],
    );
    t.truthy(mark.on);

    // Four trading days later the listing quotes in pounds: its whole history is fetched again in pounds.
    sim.advanceTradingDays(4);
    t.is(sim.currencyOf(switching), 'GBP');
    const id2 = await p.run();
    const change = await rows(
      tdb,
      `SELECT c.from_currency, c.to_currency FROM asset_currency_changes c JOIN assets a ON a.id = c.asset_id WHERE a.symbol = $1`,
      [switching],
    );
    t.deepEqual(change, [{ from_currency: 'GBX', to_currency: 'GBP' }]);
    const series = await rows<{ date: string; close: number; adjusted_close: number }>(
      tdb,
      `SELECT p.date, p.close, p.adjusted_close FROM stock_prices p JOIN assets a ON a.id = p.asset_id WHERE a.symbol = $1 ORDER BY p.date`,
      [switching],
    );
    const expected = sim.expectedHistory(switching, series[0]!.date);
    t.deepEqual(
      series.map((r) => [r.date, r.close, r.adjusted_close]),
      expected.map((b) => [b.date, b.close, b.adjusted_close]),
      "the stored series is the API's, in pounds",
    );
    const after = await one<{ quote_currency: string; currency: string; last_close: number; close: number }>(
      tdb,
      `
      SELECT v.quote_currency, v.currency, v.last_close, p.close FROM v_screener v
        JOIN stock_prices p ON p.asset_id = v.asset_id AND p.date = v.last_date WHERE v.symbol = $1`,
      [switching],
    );
    t.like(after, { quote_currency: 'GBP', currency: 'GBP' });
    t.is(after.last_close, after.close);
    t.true(
      Math.abs(after.last_close - gbx.last_close) / gbx.last_close < 0.5,
      `the same company in the same unit: ${gbx.last_close} then ${after.last_close}`,
    );
    const asked = await one<{ n: number }>(
      tdb,
      `SELECT count(*)::int AS n FROM api_calls WHERE execution_id = $1 AND endpoint = 'fundamentals' AND target = $2`,
      [id2, warrant],
    );
    t.is(asked.n, 0, 'the warrant is not asked again');

    // It drops out of its exchange's list and comes back: it is asked once more.
    await tdb.pool.query(`UPDATE assets SET is_active = false WHERE symbol = $1`, [warrant]);
    sim.advanceTradingDays(1);
    const id3 = await p.run();
    const again = await one<{ n: number }>(
      tdb,
      `SELECT count(*)::int AS n FROM api_calls WHERE execution_id = $1 AND endpoint = 'fundamentals' AND target = $2`,
      [id3, warrant],
    );
    t.is(again.n, 1);
    const mark3 = await one<{ on: string }>(
      tdb,
      `SELECT s.fundamentals_not_found_on::text AS on FROM asset_processing_state s JOIN assets a ON a.id = s.asset_id WHERE a.symbol = $1`,
      [warrant],
    );
    t.true(mark3.on > mark.on!, `marked again on ${mark3.on}`);
    t.is(
      (await one<{ status: string }>(tdb, 'SELECT status FROM process_executions WHERE execution_id = $1', [id3]))
        .status,
      'success',
    );

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
});
