/**
 * Benchmark indices and FX rates (shared/steps/fetch-reference.ts, sql/024): a run stores
 * its benchmarks' bars and its currencies' rates, 1 call each; the next day's run asks only
 * for the new day; a dry run asks for nothing; v_fx_rates and fx_rate() answer minor units,
 * the reporting currency and days without a rate; the benchmark series loads for beta, and
 * a stock's beta from the stored series finds the simulator's.
 */
import test from 'ava';
import { type InProcessPipeline, inProcessPipeline } from '../dev/in-process.js';
import type { Simulator } from '../dev/simulator/index.js';
import { beta } from '../shared/domain/beta.js';
import { addDays } from '../shared/domain/dates.js';
import type { ExchangeCode } from '../shared/domain/exchanges.js';
import { loadBenchmarkSeries } from '../shared/store/benchmarks.js';
import type { TestDb } from './helpers/db.js';
import { closeWorld, openWorld } from './helpers/world.js';

let tdb: TestDb;
let sim: Simulator;
let p: InProcessPipeline;

const EXCHANGES: ExchangeCode[] = ['LSE', 'SW'];
const BENCHMARKS = ['FTSE.INDX', 'SSMI.INDX'];

test.before(async () => {
  ({ tdb, sim } = await openWorld());
  p = await inProcessPipeline(tdb.pool, sim.url);
});
test.after.always(() => closeWorld(tdb, sim));

async function rows<T = Record<string, unknown>>(sql: string, args: unknown[] = []): Promise<T[]> {
  return (await tdb.pool.query(sql, args)).rows as T[];
}

/** The reference calls a run made, by symbol: how many requests, charged how much. */
async function referenceCalls(executionId: number): Promise<Map<string, number>> {
  const r = await rows<{ target: string; n: number; cost: number }>(
    `SELECT target, count(*)::int AS n, sum(cost)::int AS cost FROM api_calls
      WHERE execution_id = $1 AND (target LIKE '%.INDX' OR target LIKE '%.FOREX') GROUP BY target`,
    [executionId],
  );
  for (const x of r) if (x.n !== x.cost) throw new Error(`${x.target}: ${x.n} requests cost ${x.cost}`);
  return new Map(r.map((x) => [x.target, x.n]));
}

async function checkQuotaResult(executionId: number): Promise<{
  reference: {
    calls: number;
    items: Array<{ symbol: string; outcome: string; from: string; to: string; bars: number }>;
  };
}> {
  return (
    await rows<{ result: never }>(
      `SELECT result FROM pipeline_steps WHERE execution_id = $1 AND step = 'check-quota'`,
      [executionId],
    )
  )[0]!.result;
}

test.serial('a dry run asks for no benchmark and no rate', async (t) => {
  const id = await p.run({ exchanges: EXCHANGES, dryRun: true });
  t.is((await referenceCalls(id)).size, 0);
  t.is((await rows(`SELECT 1 FROM fx_rates`)).length, 0);
  t.is((await rows(`SELECT 1 FROM assets WHERE source = 'benchmark'`)).length, 0);
  const r = await checkQuotaResult(id);
  t.deepEqual(
    r.reference.items.filter((i) => i.symbol.endsWith('.INDX')).map((i) => [i.symbol, i.outcome]),
    BENCHMARKS.map((s) => [s, 'dry_run']),
  );
});

test.serial('a run stores its benchmarks and its currencies against USD, 1 call each', async (t) => {
  const id = await p.run({ exchanges: EXCHANGES });
  const run = (
    await rows<{ as_of: string; status: string; as_of_by_exchange: Record<string, string> }>(
      'SELECT * FROM process_executions WHERE execution_id = $1',
      [id],
    )
  )[0]!;
  t.is(run.status, 'success');
  const calls = await referenceCalls(id);
  // The currencies the two exchanges' listings quote in (GBX as GBP), and the indices' (GBP, CHF), but USD.
  const listed = await rows<{ c: string }>(
    `SELECT DISTINCT coalesce(u.major, a.currency) AS c FROM assets a LEFT JOIN currency_units u ON u.code = a.currency
      WHERE a.source = 'list' AND a.exchange = ANY($1::text[])`,
    [EXCHANGES],
  );
  const pairs = [...new Set([...listed.map((x) => x.c), 'GBP', 'CHF'])]
    .filter((c) => c !== 'USD')
    .map((c) => `${c}USD.FOREX`);
  t.true(pairs.includes('GBPUSD.FOREX') && pairs.includes('CHFUSD.FOREX'));
  t.deepEqual([...calls.keys()].sort(), [...BENCHMARKS, ...pairs].sort());
  t.true([...calls.values()].every((n) => n === 1));

  // The benchmark is an asset of its own, not a listing: no state, no work item, not in the freshness view.
  const bench = await rows<{ id: string; symbol: string; exchange: string; region: string; currency: string }>(
    `SELECT id, symbol, exchange, region, currency FROM assets WHERE source = 'benchmark' ORDER BY symbol`,
  );
  t.deepEqual(
    bench.map((b) => [b.symbol, b.exchange, b.region, b.currency]),
    [
      ['FTSE.INDX', 'INDX', 'lse', 'GBP'],
      ['SSMI.INDX', 'INDX', 'european', 'CHF'],
    ],
  );
  t.is(
    (await rows(`SELECT 1 FROM work_items w JOIN assets a ON a.id = w.asset_id WHERE a.source = 'benchmark'`)).length,
    0,
  );
  t.is((await rows(`SELECT 1 FROM v_exchange_freshness WHERE exchange = 'INDX'`)).length, 0);
  const [progress] = await rows<{ active_assets: string; pct_prices: string }>(
    `SELECT active_assets, pct_prices FROM get_processing_progress() WHERE region = 'all'`,
  );
  const [listings] = await rows<{ n: number }>(
    `SELECT count(*)::int AS n FROM assets WHERE is_active AND source = 'list'`,
  );
  t.is(Number(progress!.active_assets), listings!.n);
  t.is(Number(progress!.pct_prices), 100);
  t.is(
    (await rows(`SELECT 1 FROM prices_to_check q JOIN assets a ON a.id = q.asset_id WHERE a.source = 'benchmark'`))
      .length,
    0,
  );

  // Its bars are what the API has, from the start of the price history window through the LSE's day.
  const from = addDays(run.as_of_by_exchange.LSE!, -800);
  const expected = (await (
    await fetch(`${sim.url}/eod/FTSE.INDX?fmt=json&api_token=sim-demo-key&from=${from}&to=${run.as_of_by_exchange.LSE}`)
  ).json()) as Array<{ date: string; adjusted_close: number }>;
  const stored = await loadBenchmarkSeries(tdb.pool, 'FTSE.INDX', run.as_of_by_exchange.LSE!, 10_000);
  t.true(expected.length > 500);
  t.deepEqual(
    stored.dates,
    expected.map((b) => b.date),
  );
  t.deepEqual(
    stored.closes,
    expected.map((b) => b.adjusted_close),
  );
  // upTo and the session count bound it.
  const last5 = await loadBenchmarkSeries(tdb.pool, 'FTSE.INDX', expected.at(-2)!.date, 5);
  t.deepEqual(
    last5.dates,
    expected.slice(-6, -1).map((b) => b.date),
  );

  // FX: weekdays only, no volume kept, the close as the API gave it.
  const gbp = (await (
    await fetch(
      `${sim.url}/eod/GBPUSD.FOREX?fmt=json&api_token=sim-demo-key&from=${addDays(run.as_of, -800)}&to=${run.as_of}`,
    )
  ).json()) as Array<{ date: string; close: number; volume: number }>;
  t.true(gbp.every((b) => b.volume === 0 && ![0, 6].includes(new Date(`${b.date}T00:00Z`).getUTCDay())));
  const fx = await rows<{ date: string; close: number }>(
    `SELECT date::text AS date, close FROM fx_rates WHERE currency = 'GBP' AND quote = 'USD' ORDER BY date`,
  );
  t.deepEqual(
    fx,
    gbp.map((b) => ({ date: b.date, close: b.close })),
  );
});

test.serial('v_fx_rates: minor units, the reporting currency, and the latest rate on or before a day', async (t) => {
  const [friday] = await rows<{ date: string; close: number }>(
    `SELECT date::text AS date, close FROM fx_rates WHERE currency = 'GBP' AND extract(isodow FROM date) = 5 ORDER BY date DESC LIMIT 1`,
  );
  const on = async (cur: string, day: string) =>
    (await rows<{ rate: number }>(`SELECT rate FROM v_fx_rates WHERE currency = $1 AND date = $2`, [cur, day]))[0]
      ?.rate;
  t.is(await on('GBP', friday!.date), friday!.close);
  t.is(await on('GBX', friday!.date), friday!.close / 100);
  t.is(await on('USD', friday!.date), 1);
  // No bar on the weekend: the view has none, fx_rate() takes Friday's.
  const saturday = addDays(friday!.date, 1);
  t.false((await rows(`SELECT 1 FROM v_fx_rates WHERE currency = 'GBP' AND date = $1`, [saturday])).length > 0);
  const rate = async (cur: string, day: string) =>
    (await rows<{ r: number | null }>(`SELECT fx_rate($1, $2::date) AS r`, [cur, day]))[0]!.r;
  t.is(await rate('GBP', saturday), friday!.close);
  t.is(await rate('GBX', addDays(friday!.date, 2)), friday!.close / 100);
  t.is(await rate('USD', '1990-01-01'), 1);
  t.is(await rate('GBP', '1990-01-01'), null);
  t.is(await rate('JPY', saturday), null);
  // Another reporting currency: its own series (none stored yet), GBP itself is then 1.
  await tdb.pool.query(`UPDATE pipeline_settings SET value = '"GBP"' WHERE key = 'reporting_currency'`);
  try {
    t.is(await rate('GBX', saturday), 0.01);
    t.is(await rate('USD', saturday), null);
    t.is((await rows(`SELECT 1 FROM v_fx_rates`)).length, 0);
  } finally {
    await tdb.pool.query(`UPDATE pipeline_settings SET value = '"USD"' WHERE key = 'reporting_currency'`);
  }
});

test.serial('the next day asks each series once: an index from the new day, a pair from its last day', async (t) => {
  const before = await rows<{ symbol: string; last: string }>(
    `SELECT a.symbol, max(p.date)::text AS last FROM assets a JOIN stock_prices p ON p.asset_id = a.id
      WHERE a.source = 'benchmark' GROUP BY a.symbol ORDER BY a.symbol`,
  );
  const fxBefore = (await rows<{ n: number }>(`SELECT count(*)::int AS n FROM fx_rates`))[0]!.n;
  const fxLast = await rows<{ currency: string; last: string }>(
    `SELECT currency, max(date)::text AS last FROM fx_rates GROUP BY currency`,
  );
  sim.advanceTradingDays(1);
  const id = await p.run({ exchanges: EXCHANGES });
  const calls = await referenceCalls(id);
  const pairs = (await rows(`SELECT DISTINCT currency FROM fx_rates`)).length;
  t.is(calls.size, BENCHMARKS.length + pairs);
  t.true([...calls.values()].every((n) => n === 1));
  const r = await checkQuotaResult(id);
  for (const b of before) {
    const item = r.reference.items.find((i) => i.symbol === b.symbol)!;
    t.is(item.outcome, 'fetched');
    t.is(item.from, addDays(b.last, 1), b.symbol);
    t.is(item.bars, 1, b.symbol);
  }
  // A pair is asked again from its last stored day (an FX day ends at 23:59 UTC, after the
  // run: that bar may have been provisional), in the same one call: two bars, one new.
  for (const i of r.reference.items.filter((x) => x.symbol.endsWith('.FOREX'))) {
    t.is(i.bars, 2, i.symbol);
    t.is(i.from, fxLast.find((x) => i.symbol.startsWith(x.currency))?.last ?? 'no rate before', i.symbol);
  }
  t.is((await rows<{ n: number }>(`SELECT count(*)::int AS n FROM fx_rates`))[0]!.n, fxBefore + pairs);
  // Run again the same day (a duplicate trigger, a check-quota delivered again): nothing is missing, no call.
  const again = await p.run({ exchanges: EXCHANGES });
  t.is((await referenceCalls(again)).size, 0);
  t.true((await checkQuotaResult(again)).reference.items.every((i) => i.outcome === 'current'));
});

test.serial("a stock's beta from the stored series finds the simulator's beta", async (t) => {
  // The well-known names of the run's exchanges (1-2% daily volatility, so one year of
  // returns pins beta to about +-0.1; test/simulator-reference.test.ts checks all fifteen).
  const errors: number[] = [];
  for (const [symbol, index] of [
    ['BP.LSE', 'FTSE.INDX'],
    ['HSBA.LSE', 'FTSE.INDX'],
    ['NESN.SW', 'SSMI.INDX'],
  ] as const) {
    const a = await rows<{ date: string; adjusted_close: number }>(
      `SELECT p.date::text AS date, p.adjusted_close FROM stock_prices p JOIN assets a ON a.id = p.asset_id
        WHERE a.symbol = $1 ORDER BY p.date`,
      [symbol],
    );
    t.true(a.length > 300, symbol);
    const session = a.at(-1)!.date;
    const b = await loadBenchmarkSeries(tdb.pool, index, session);
    const got = beta({ dates: a.map((x) => x.date), closes: a.map((x) => x.adjusted_close) }, b, session);
    const configured = sim.betaOf(symbol)!;
    t.truthy(got, symbol);
    errors.push(Math.abs(got! - configured));
    t.true(Math.abs(got! - configured) < 0.3, `${symbol}: beta ${got} for ${configured}`);
    // calc-indicators (chained after the run) wrote that beta as the latest row's, and each
    // history row's is the beta at its session (a session a year back: from the bars up to it).
    const stored = await rows<{ beta: number | null }>(
      `SELECT t.beta FROM technical_indicators t JOIN assets a ON a.id = t.asset_id WHERE a.symbol = $1`,
      [symbol],
    );
    t.true(stored[0]?.beta != null && Math.abs(stored[0].beta - got!) < 1e-9, `${symbol}: stored ${stored[0]?.beta}`);
    const earlier = a.at(-120)!.date;
    const hist = await rows<{ beta: number | null }>(
      `SELECT beta FROM v_indicator_history WHERE symbol = $1 AND date = $2`,
      [symbol, earlier],
    );
    const want = beta({ dates: a.map((x) => x.date), closes: a.map((x) => x.adjusted_close) }, b, earlier);
    t.true(
      hist[0]?.beta != null && want !== null && Math.abs(hist[0].beta - want) < 1e-9,
      `${symbol} ${earlier}: history ${hist[0]?.beta}, recomputed ${want}`,
    );
  }
  const mean = errors.reduce((x, y) => x + y, 0) / errors.length;
  t.true(mean < 0.15, `mean error ${mean}`);
  t.log(`errors ${errors.map((e) => e.toFixed(3)).join(', ')}`);
});

test.serial(
  "v_screener: money in the reporting currency at the last price's day's rate, beta beside EODHD's",
  async (t) => {
    // An LSE listing quoted in pence: its market cap (EODHD's, in pounds) and its traded value
    // (pence) both in dollars by the stored GBPUSD close of its last price's day (or the last before).
    const r = await rows<{
      symbol: string;
      quote_currency: string;
      last_date: string;
      market_cap: number | null;
      market_cap_currency: string | null;
      market_cap_reporting: number | null;
      avg_traded_value_30: number | null;
      avg_traded_value_30_reporting: number | null;
      last_close: number;
      last_close_reporting: number | null;
      reporting_currency: string;
      beta: number | null;
      beta_eodhd: number | null;
      change_1d_pct: number | null;
    }>(
      `SELECT symbol, quote_currency, last_date::text, market_cap, market_cap_currency, market_cap_reporting,
            avg_traded_value_30, avg_traded_value_30_reporting, last_close, last_close_reporting, reporting_currency,
            beta, beta_eodhd, change_1d_pct
       FROM v_screener WHERE symbol IN ('BP.LSE', 'NESN.SW') ORDER BY symbol`,
    );
    t.is(r.length, 2);
    const rate = async (currency: string, day: string) =>
      (
        await rows<{ close: number }>(
          `SELECT close FROM fx_rates WHERE currency = $1 AND quote = 'USD' AND date <= $2 ORDER BY date DESC LIMIT 1`,
          [currency, day],
        )
      )[0]!.close;
    for (const x of r) {
      t.is(x.reporting_currency, 'USD');
      const major = x.quote_currency === 'GBX' ? 'GBP' : x.quote_currency;
      const fx = await rate(major, x.last_date);
      t.true(fx > 0, `${x.symbol}: a ${major} rate`);
      t.true(Math.abs(x.last_close_reporting! - x.last_close * fx) <= 1e-9 * x.last_close * fx, x.symbol);
      t.not(x.avg_traded_value_30, null, `${x.symbol}: traded value`);
      t.true(
        Math.abs(x.avg_traded_value_30_reporting! - x.avg_traded_value_30! * fx) <= 1e-6 * x.avg_traded_value_30! * fx,
        `${x.symbol}: traded value ${x.avg_traded_value_30} ${major} -> ${x.avg_traded_value_30_reporting} USD at ${fx}`,
      );
      if (x.market_cap !== null) {
        const capFx = await rate(x.market_cap_currency!, x.last_date);
        t.true(Math.abs(x.market_cap_reporting! - x.market_cap * capFx) <= 1e-6 * x.market_cap * capFx, x.symbol);
      }
      t.not(x.beta, null, `${x.symbol}: computed beta`);
      t.not(x.change_1d_pct, null, `${x.symbol}: a 1-day change`);
      const f = await rows<{ beta: number | null }>(
        `SELECT f.beta FROM fundamentals f JOIN assets a ON a.id = f.asset_id WHERE a.symbol = $1`,
        [x.symbol],
      );
      t.is(x.beta_eodhd, f[0]?.beta ?? null, `${x.symbol}: EODHD's beta kept as it is`);
      t.not(x.beta, x.beta_eodhd);
    }
    t.is(r[0]!.quote_currency, 'GBX');
    // Benchmarks are reference series, not listings.
    t.is((await rows(`SELECT 1 FROM v_screener WHERE exchange = 'INDX'`)).length, 0);
  },
);
