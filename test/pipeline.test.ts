/**
 * The whole chain in-process against the simulator and a real database: a first run loads
 * the sample universe, the next trading day's run only updates prices, nothing is
 * duplicated, the books balance (details = totals, ledger = the simulator's own count).
 */
import test from 'ava';
import { type InProcessPipeline, inProcessPipeline } from '../dev/in-process.js';
import type { Simulator } from '../dev/simulator/index.js';
import type { TestDb } from './helpers/db.js';
import { onLogLine } from './helpers/quiet-logs.js';
import { closeWorld, openWorld } from './helpers/world.js';

let tdb: TestDb;
let sim: Simulator;
let p: InProcessPipeline;

// Progress lines every 100 ms instead of 30 s, so that day 1 shows some in every region.
process.env.LOG_PROGRESS_MS = '100';
const progress: Array<{ event: string; function: string; region?: string; processed?: number; done?: number }> = [];
onLogLine((line) => {
  if (line.includes('_progress"')) progress.push(JSON.parse(line));
});

test.before(async () => {
  ({ tdb, sim } = await openWorld());
  p = await inProcessPipeline(tdb.pool, sim.url);
});
test.after.always(() => closeWorld(tdb, sim));

async function one<T = Record<string, unknown>>(sql: string, args: unknown[] = []): Promise<T> {
  return (await tdb.pool.query(sql, args)).rows[0] as T;
}

async function checkBooks(t: import('ava').ExecutionContext, executionId: number): Promise<void> {
  const run = await one<{
    status: string;
    assets_processed: number;
    assets_failed: number;
    assets_skipped: number;
    api_calls_used: number;
  }>('SELECT * FROM process_executions WHERE execution_id = $1', [executionId]);
  const d = await one<{ ok: number; failed: number; skipped: number }>(
    `
    SELECT count(*) FILTER (WHERE status = 'success')::int AS ok, count(*) FILTER (WHERE status = 'failed')::int AS failed,
           count(*) FILTER (WHERE status = 'skipped')::int AS skipped
      FROM asset_processing_details WHERE execution_id = $1 AND operation <> 'indicator_calc'`,
    [executionId],
  );
  t.is(run.assets_processed, d.ok, 'processed = success details');
  t.is(run.assets_failed, d.failed, 'failed = failed details');
  t.is(run.assets_skipped, d.skipped, 'skipped = skipped details');
  const ledger = await one<{ calls: number }>(
    'SELECT coalesce(sum(cost), 0)::int AS calls FROM api_calls WHERE execution_id = $1',
    [executionId],
  );
  t.is(run.api_calls_used, ledger.calls, 'run calls = ledger');
  const open = await one<{ n: number }>(
    `SELECT count(*)::int AS n FROM work_items WHERE execution_id = $1 AND status NOT IN ('done', 'failed', 'deferred', 'skipped')`,
    [executionId],
  );
  t.is(open.n, 0, 'every work item ended');
  const dup = await one<{ n: number }>(
    'SELECT count(*)::int AS n FROM (SELECT asset_id, date FROM stock_prices GROUP BY 1, 2 HAVING count(*) > 1) x',
  );
  t.is(dup.n, 0);
}

test.serial('day 1: the sample universe is loaded: prices, fundamentals, indicators', async (t) => {
  const id = await p.run();
  const run = await one<{ status: string; as_of: string; quota_day: string }>(
    'SELECT * FROM process_executions WHERE execution_id = $1',
    [id],
  );
  t.is(run.status, 'success');
  t.is(run.as_of, sim.lastTradingDay());
  t.is(run.quota_day, sim.today());
  const symbols = sim.symbols();
  const assets = await one<{ n: number; regions: number; exchanges: number }>(
    // The listings: the benchmark indices (source 'benchmark', exchange INDX) are assets but no listing.
    `SELECT count(*)::int AS n, count(DISTINCT region)::int AS regions, count(DISTINCT exchange)::int AS exchanges
       FROM assets WHERE is_active AND source <> 'benchmark'`,
  );
  t.is(assets.n, symbols.length);
  t.is(assets.regions, 4);
  t.is(assets.exchanges, 10);
  // A long step logs its progress while it works (faas-cli logs shows a run moving).
  const regionLines = progress.filter((x) => x.event === 'region_progress');
  t.deepEqual([...new Set(regionLines.map((x) => x.region))].sort(), ['european', 'german', 'lse', 'us']);
  t.true(regionLines.every((x) => x.function === 'collect-region' && typeof x.processed === 'number'));
  t.true(
    progress.some((x) => x.event === 'indicators_progress' && x.function === 'calc-indicators'),
    'calc-indicators logs progress',
  );
  const state = await one<{ prices: number; fundamentals: number; not_found: string[] }>(`
    SELECT count(*) FILTER (WHERE prices_loaded)::int AS prices, count(*) FILTER (WHERE fundamentals_loaded)::int AS fundamentals,
           coalesce(array_agg(a.symbol ORDER BY a.symbol) FILTER (WHERE s.fundamentals_not_found_on IS NOT NULL), '{}') AS not_found
      FROM asset_processing_state s JOIN assets a ON a.id = s.asset_id`);
  t.is(state.prices, symbols.length);
  // Warrants and units have prices but no document: EODHD answers {"error":"Not found"},
  // and the asset is marked so instead of failing.
  const withoutDocument = symbols.filter((x) => !sim.hasFundamentals(x));
  t.true(withoutDocument.length > 0, 'the sample has a symbol without fundamentals');
  t.is(state.fundamentals, symbols.length - withoutDocument.length);
  t.deepEqual(state.not_found, withoutDocument);
  // Stored history equals what the API answers.
  const sample = symbols[7]!;
  const stored = (
    await tdb.pool.query(
      `SELECT p.date, p.close, p.adjusted_close, p.volume FROM stock_prices p JOIN assets a ON a.id = p.asset_id WHERE a.symbol = $1 ORDER BY p.date`,
      [sample],
    )
  ).rows;
  const expected = sim.expectedHistory(sample, stored[0]?.date, run.as_of);
  t.true(stored.length > 200, `${sample}: ${stored.length} bars`);
  t.is(stored.length, expected.length);
  t.deepEqual(
    stored.map((r) => [r.date, r.close, r.adjusted_close, Number(r.volume)]),
    expected.map((b) => [b.date, b.close, b.adjusted_close, b.volume]),
  );
  const ind = await one<{ n: number }>('SELECT count(*)::int AS n FROM technical_indicators');
  // Listings with enough bars (a benchmark index's bars are for beta: no indicators of its own).
  const enough = await one<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT asset_id FROM stock_prices GROUP BY asset_id HAVING count(*) >= 200) x
      JOIN assets a ON a.id = x.asset_id WHERE a.source <> 'benchmark'`,
  );
  t.is(ind.n, enough.n);
  t.true(ind.n > symbols.length * 0.8);
  const ledger = await one<{ calls: number }>('SELECT sum(cost)::int AS calls FROM api_calls');
  t.is(ledger.calls, sim.usage().calls, "our ledger = the API's count");
  await checkBooks(t, id);
});

test.serial('day 2: only price updates, one new bar per asset, no duplicates', async (t) => {
  const before = await one<{ n: number }>('SELECT count(*)::int AS n FROM stock_prices');
  sim.advanceTradingDays(1);
  const id = await p.run();
  const plan = (
    await tdb.pool.query(`SELECT operation, count(*)::int AS n FROM work_items WHERE execution_id = $1 GROUP BY 1`, [
      id,
    ])
  ).rows;
  const byOp = Object.fromEntries(plan.map((r) => [r.operation, r.n]));
  t.true((byOp.price_update ?? 0) > 0);
  t.true((byOp.history_load ?? 0) <= 5, `histories only for new listings: ${byOp.history_load}`);
  const after = await one<{ n: number }>('SELECT count(*)::int AS n FROM stock_prices');
  const newBars = after.n - before.n;
  t.true(newBars > 0 && newBars <= sim.symbols().length * 1.0 + 5 * 600, `${newBars} new bars`);
  const last = await one<{ d: string }>('SELECT max(date)::text AS d FROM stock_prices');
  t.is(last.d, sim.lastTradingDay());
  const run = await one<{ status: string; api_calls_used: number }>(
    'SELECT * FROM process_executions WHERE execution_id = $1',
    [id],
  );
  t.is(run.status, 'success');
  // Beside the price updates, the previous sessions are read again for late corrections
  // (one call a ticker for these small exchanges, covering the last sessions at once).
  const rechecks = await one<{ calls: number; steps: number }>(
    `SELECT coalesce(sum((result->>'calls')::int), 0)::int AS calls, count(*)::int AS steps
       FROM pipeline_steps WHERE execution_id = $1 AND step = 'recheck-eod' AND status = 'done'`,
    [id],
  );
  t.true(rechecks.steps > 0, 'the previous sessions are read again');
  t.true(
    run.api_calls_used - rechecks.calls < sim.symbols().length * 2,
    `${run.api_calls_used} calls, ${rechecks.calls} of them re-reads`,
  );
  const ledger = await one<{ calls: number }>('SELECT sum(cost)::int AS calls FROM api_calls WHERE quota_day = $1', [
    sim.today(),
  ]);
  t.is(ledger.calls, sim.usage().calls);
  await checkBooks(t, id);
});

test.serial('the same day again: nothing to fetch, nothing written twice', async (t) => {
  const before = await one<{ n: number }>('SELECT count(*)::int AS n FROM stock_prices');
  const id = await p.run();
  const items = await one<{ n: number }>(`SELECT count(*)::int AS n FROM work_items WHERE execution_id = $1`, [id]);
  t.is(items.n, 0);
  t.is((await one<{ n: number }>('SELECT count(*)::int AS n FROM stock_prices')).n, before.n);
  const run = await one<{ status: string; api_calls_used: number }>(
    'SELECT * FROM process_executions WHERE execution_id = $1',
    [id],
  );
  t.is(run.status, 'success');
  t.true(run.api_calls_used <= 10, `only the universe sync: ${run.api_calls_used}`);
  await checkBooks(t, id);
});

test.serial('duplicate deliveries of every step change nothing', async (t) => {
  sim.advanceTradingDays(1);
  const id = await p.run();
  const snapshot = async () =>
    (
      await tdb.pool.query(`SELECT
      (SELECT count(*) FROM stock_prices)::int AS prices, (SELECT count(*) FROM asset_processing_details)::int AS details,
      (SELECT count(*) FROM api_calls)::int AS calls, (SELECT count(*) FROM process_executions)::int AS runs,
      (SELECT count(*) FROM work_items)::int AS items`)
    ).rows[0];
  const before = await snapshot();
  for (const inv of [...p.invocations.filter((i) => (i.body as { executionId?: number }).executionId === id)]) {
    const r = await p.deliver({ fn: inv.fn, body: inv.body });
    t.true(r.status === 200 || r.status === 409, `${inv.fn}: ${r.status}`);
  }
  await p.drain();
  t.deepEqual(await snapshot(), before);
});

test.serial('a symbol-scoped run touches only those symbols; reset brings a failed ticker back', async (t) => {
  const [a, b] = sim.symbols();
  await tdb.pool.query(
    `UPDATE asset_processing_state SET consecutive_failures = 5, last_error_message = 'test' WHERE asset_id = (SELECT id FROM assets WHERE symbol = $1)`,
    [a],
  );
  sim.advanceTradingDays(1);
  const id = await p.run({ symbols: [a!, b!] });
  const touched = (
    await tdb.pool.query(
      `SELECT a.symbol FROM work_items w JOIN assets a ON a.id = w.asset_id WHERE w.execution_id = $1`,
      [id],
    )
  ).rows.map((r) => r.symbol);
  t.deepEqual(touched, [b]);
  const failed = (await tdb.pool.query('SELECT symbol, excluded FROM v_failed_assets')).rows;
  t.deepEqual(failed, [{ symbol: a, excluded: true }]);
  const reset = (await tdb.pool.query(`SELECT * FROM reset_ticker_for_reprocessing($1, 'prices')`, [a])).rows[0];
  t.is(reset.symbol, a);
  t.true(reset.prices);
  const id2 = await p.run({ symbols: [a!] });
  const item = (await tdb.pool.query(`SELECT operation, status FROM work_items WHERE execution_id = $1`, [id2])).rows;
  t.deepEqual(item, [{ operation: 'history_load', status: 'done' }]);
  t.is(
    (
      await one<{ n: number }>(
        'SELECT consecutive_failures AS n FROM asset_processing_state WHERE asset_id = (SELECT id FROM assets WHERE symbol = $1)',
        [a],
      )
    ).n,
    0,
  );
  await t.throwsAsync(tdb.pool.query(`SELECT * FROM reset_ticker_for_reprocessing('NOPE.US', 'all')`), {
    message: /no asset/,
  });
  await t.throwsAsync(tdb.pool.query(`SELECT * FROM reset_ticker_for_reprocessing($1, 'everything')`, [a]), {
    message: /scope/,
  });
});

test.serial('the views and get_processing_progress() answer', async (t) => {
  for (const v of [
    'v_recent_executions',
    'v_assets_needing_processing',
    'v_today_processing_activity',
    'v_ticker_processing_history',
    'v_failed_assets',
    'v_api_quota_days',
  ]) {
    await t.notThrowsAsync(tdb.pool.query(`SELECT * FROM ${v} LIMIT 5`), v);
  }
  const days = (await tdb.pool.query('SELECT * FROM v_api_quota_days')).rows;
  const busiest = days.reduce((a, b) => ((b.ledger_calls ?? 0) > (a.ledger_calls ?? 0) ? b : a));
  t.true(busiest.ledger_calls > 0);
  t.true(
    days.every((d) => d.counter_equals_ledger),
    JSON.stringify(days),
  );
  t.is(busiest.answered_calls + busiest.unknown_calls + busiest.reconciled_calls, busiest.ledger_calls);
  t.is(busiest.calls_left, 90_000 - busiest.used);
  const progress = (await tdb.pool.query('SELECT * FROM get_processing_progress()')).rows;
  const all = progress.find((r) => r.region === 'all');
  t.is(Number(all.pct_prices), 100);
  t.is(progress.length, 5);
});
