/**
 * The real EODHD plans against the simulator: the plan's daily limit drives the budget
 * (free: 20 calls, a 1,000-call plan, extra calls), a 403 says "not in the plan" and the
 * planner stops planning it (asking again once a day), a 401 fails the run with what to
 * do, the free plan's warning row is recorded, and the rate-limit headers pace requests.
 */
import test from 'ava';
import { request } from 'undici';
import { inProcessPipeline } from '../dev/in-process.js';
import { startSimulator } from '../dev/simulator/index.js';
import { FREE_HISTORY_WARNING } from '../dev/simulator/plans.js';
import { dayLimits } from '../shared/store/api-plan.js';
import { meteredClient } from '../shared/store/call-book.js';
import { DEFAULT_SETTINGS } from '../shared/store/settings.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { TEST_TODAY, withWorld } from './helpers/world.js';

const rows = async <T = Record<string, unknown>>(tdb: TestDb, sql: string, args: unknown[] = []) =>
  (await tdb.pool.query(sql, args)).rows as T[];
const one = async <T = Record<string, unknown>>(tdb: TestDb, sql: string, args: unknown[] = []) =>
  (await rows<T>(tdb, sql, args))[0]!;

test('the budget is the smaller of the plan and the setting, less a buffer scaled to it', (t) => {
  const s = { ...DEFAULT_SETTINGS, eodhd_daily_quota: 100_000, eodhd_quota_buffer: 10_000 };
  t.deepEqual(dayLimits(s, { dailyRateLimit: 20, extraLimit: 0 }), {
    apiLimit: 20,
    quota: 20,
    buffer: 2,
    callLimit: 18,
  });
  t.deepEqual(dayLimits(s, { dailyRateLimit: 1000, extraLimit: 0 }), {
    apiLimit: 1000,
    quota: 1000,
    buffer: 100,
    callLimit: 900,
  });
  t.deepEqual(dayLimits(s, { dailyRateLimit: 100_000, extraLimit: 500 }), {
    apiLimit: 100_500,
    quota: 100_000,
    buffer: 10_000,
    callLimit: 90_000,
  });
  t.deepEqual(dayLimits({ ...s, eodhd_daily_quota: 150_000 }, { dailyRateLimit: 100_000, extraLimit: 50_000 }), {
    apiLimit: 150_000,
    quota: 150_000,
    buffer: 10_000,
    callLimit: 140_000,
  });
  t.deepEqual(dayLimits(s, null), { apiLimit: null, quota: 100_000, buffer: 10_000, callLimit: 90_000 });
  // A buffer as large as the plan does not make the budget negative.
  t.deepEqual(dayLimits({ ...s, eodhd_quota_buffer: 100_000 }, { dailyRateLimit: 20, extraLimit: 0 }), {
    apiLimit: 20,
    quota: 20,
    buffer: 20,
    callLimit: 0,
  });
});

test("the simulator's plans: /user figures, 403 outside the plan, the free plan's year with its warning, 401 as EODHD sends it", async (t) => {
  const free = await startSimulator({ plan: 'free', today: TEST_TODAY });
  const paid = await startSimulator({ plan: 'eod-only', today: TEST_TODAY, extraLimit: 500 });
  try {
    const get = async (base: string, path: string, key = 'sim-demo-key') => {
      const r = await request(`${base}${path}${path.includes('?') ? '&' : '?'}api_token=${key}&fmt=json`);
      return { status: r.statusCode, type: String(r.headers['content-type']), body: await r.body.text() };
    };
    const user = JSON.parse((await get(free.url, '/user')).body);
    t.like(user, { dailyRateLimit: 20, extraLimit: 0, subscriptionType: 'free' });
    t.true(Array.isArray(user.availableDataFeeds));
    t.like(JSON.parse((await get(paid.url, '/user')).body), { dailyRateLimit: 100_000, extraLimit: 500 });

    const fundamentals = await get(free.url, '/fundamentals/AAPL.US');
    t.is(fundamentals.status, 403);
    t.like(JSON.parse(fundamentals.body), { code: 403 });
    t.is((await get(free.url, '/eod-bulk-last-day/US')).status, 403);
    t.is((await get(paid.url, '/fundamentals/AAPL.US')).status, 403);
    t.is((await get(paid.url, '/calendar/splits')).status, 403);
    t.is((await get(paid.url, '/eod-bulk-last-day/SW')).status, 200);
    t.is(free.usage().calls, 0, 'a 403 costs nothing');

    const history = JSON.parse((await get(free.url, '/eod/AAPL.US?from=2020-01-01')).body) as Array<
      Record<string, unknown>
    >;
    t.deepEqual(history.at(-1), { warning: FREE_HISTORY_WARNING });
    const first = String(history[0]!.date);
    t.true(first >= '2025-11-19' && first <= '2025-11-24', `a year back: ${first}`);
    const recent = JSON.parse((await get(free.url, '/eod/AAPL.US?from=2026-06-01')).body) as unknown[];
    t.false(
      recent.some((x) => typeof x === 'object' && x !== null && 'warning' in x),
      'no warning when nothing was cut',
    );

    const refused = await get(free.url, '/eod/AAPL.US', 'wrong-key');
    t.is(refused.status, 401);
    t.regex(refused.type, /text\/html/);
    t.is(refused.body, 'Unauthenticated');
  } finally {
    await free.close();
    await paid.close();
  }
});

test('free plan: a watchlist in 18 of the 20 calls, the year of history recorded as such, and what the plan leaves out said', async (t) => {
  await withWorld({ plan: 'free' }, async ({ tdb, sim }) => {
    const p = await inProcessPipeline(tdb.pool, sim.url);
    const watchlist = ['AAPL.US', 'MSFT.US', 'BRK-B.US', 'SPY.US', 'BP.LSE', 'SAP.XETRA', 'ASML.AS'];
    const id = await p.run({ symbols: watchlist });
    const run = await one<{
      status: string;
      stop_reason: string | null;
      assets_with_warnings: number;
      api_plan: Record<string, unknown>;
    }>(
      tdb,
      'SELECT status, stop_reason, assets_with_warnings, api_plan FROM process_executions WHERE execution_id = $1',
      [id],
    );
    t.is(run.status, 'success');
    t.is(run.stop_reason, null, "no 402: the budget was the plan's");
    t.like(run.api_plan, { dailyRateLimit: 20, apiLimit: 20, buffer: 2, callLimit: 18 });
    const ledger = await one<{ calls: number }>(tdb, 'SELECT coalesce(sum(cost), 0)::int AS calls FROM api_calls');
    t.is(ledger.calls, sim.usage().calls);
    t.true(ledger.calls <= 18, `${ledger.calls} calls`);
    const day = await one<{
      api_daily_limit: number;
      call_limit: number;
      used: number;
      api_calls_left: number;
      calls_left: number;
    }>(
      tdb,
      'SELECT api_daily_limit, call_limit, used, api_calls_left, calls_left FROM v_api_quota_days WHERE quota_day = $1',
      [sim.today()],
    );
    t.like(day, {
      api_daily_limit: 20,
      call_limit: 18,
      api_calls_left: 20 - ledger.calls,
      calls_left: 18 - ledger.calls,
    });

    // Every watchlist symbol has prices, one year of them, and says so.
    const limited = await rows<{
      symbol: string;
      history_limited: boolean;
      history_warning: string;
      history_requested_from: string;
      history_received_from: string;
    }>(
      tdb,
      `
      SELECT a.symbol, s.history_limited, s.history_warning, s.history_requested_from::text, s.history_received_from::text
        FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id WHERE a.symbol = ANY($1) ORDER BY a.symbol`,
      [watchlist],
    );
    t.is(limited.length, watchlist.length, 'SPY.US, an ETF outside the common-stock list, is an asset too');
    for (const l of limited) {
      t.true(l.history_limited, l.symbol);
      t.is(l.history_warning, FREE_HISTORY_WARNING);
      t.true(
        l.history_received_from > l.history_requested_from,
        `${l.symbol}: asked from ${l.history_requested_from}, got from ${l.history_received_from}`,
      );
    }
    t.is(run.assets_with_warnings, watchlist.length);
    const needs = await rows<{ needs: string[] }>(
      tdb,
      'SELECT needs FROM v_assets_needing_processing WHERE symbol = ANY($1)',
      [watchlist],
    );
    t.true(needs.every((n) => n.needs.includes('full_history')));

    // Fundamentals: the plan's feed list names none, so none were planned beyond one probe
    // that did not fit the day; nothing was spent on them.
    const fundamentalsCalls = await one<{ n: number }>(
      tdb,
      `SELECT count(*)::int AS n FROM api_calls WHERE endpoint = 'fundamentals' AND cost > 0`,
    );
    t.is(fundamentalsCalls.n, 0);
    const off = await rows<{ kind: string; source: string }>(
      tdb,
      `SELECT kind, source FROM api_entitlements WHERE status = 'not_in_plan' ORDER BY kind`,
    );
    t.deepEqual(
      off.map((o) => o.kind),
      ['calendar', 'exchange_details', 'fundamentals'],
    );
    const progress = await one<{ not_in_plan: string; with_prices: number; with_full_history: number }>(
      tdb,
      `SELECT * FROM get_processing_progress() WHERE region = 'all'`,
    );
    t.regex(progress.not_in_plan, /fundamentals/);
    t.is(progress.with_full_history, 0);
    t.is(progress.with_prices, watchlist.length);

    // Day 2: prices for the watchlist, one call each, still inside the plan.
    sim.advanceTradingDays(1);
    const id2 = await p.run({ symbols: watchlist });
    const run2 = await one<{ status: string; stop_reason: string | null }>(
      tdb,
      'SELECT status, stop_reason FROM process_executions WHERE execution_id = $1',
      [id2],
    );
    t.is(run2.status, 'success');
    t.is(run2.stop_reason, null);
    t.true(sim.usage().calls <= 18, `day 2: ${sim.usage().calls} calls`);
    const behind = await one<{ n: number }>(
      tdb,
      `SELECT count(*)::int AS n FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
      WHERE a.symbol = ANY($1) AND s.prices_checked_through < $2`,
      [watchlist.filter((s) => s.endsWith('.US')), sim.lastTradingDay('US')],
    );
    t.is(behind.n, 0);
  });
});

test('EOD-only plan: fundamentals and calendars are not in it; prices by bulk, corporate actions from the bulk answers, one probe a day', async (t) => {
  await withWorld({ plan: 'eod-only' }, async ({ tdb, sim }) => {
    const p = await inProcessPipeline(tdb.pool, sim.url);
    const id = await p.run();
    const run = await one<{ status: string; stop_reason: string | null }>(
      tdb,
      'SELECT status, stop_reason FROM process_executions WHERE execution_id = $1',
      [id],
    );
    t.is(run.status, 'success');
    const finalize = await one<{ result: { notInPlan: Array<{ kind: string; source: string }> } }>(
      tdb,
      `SELECT result FROM pipeline_steps WHERE execution_id = $1 AND step = 'finalize'`,
      [id],
    );
    t.deepEqual(
      finalize.result.notInPlan.map((x) => `${x.kind}:${x.source}`),
      ['calendar:answer', 'exchange_details:answer', 'fundamentals:answer'],
    );
    const probe = await rows<{ endpoint: string; http_status: number; cost: number }>(
      tdb,
      `SELECT endpoint, http_status, cost FROM api_calls WHERE execution_id = $1 AND endpoint = 'fundamentals'`,
      [id],
    );
    t.deepEqual(
      probe,
      [{ endpoint: 'fundamentals', http_status: 403, cost: 0 }],
      'one fundamentals request, refused, free',
    );
    const skipped = await one<{ n: number; reason: string }>(
      tdb,
      `SELECT count(*)::int AS n, max(error_message) AS reason FROM asset_processing_details
      WHERE execution_id = $1 AND operation = 'fundamentals_load' AND status = 'skipped'`,
      [id],
    );
    t.is(skipped.n, 1);
    t.regex(skipped.reason, /not in the plan/);
    const discover = await one<{ result: { corporateActions: { source: string } } }>(
      tdb,
      `SELECT result FROM pipeline_steps WHERE execution_id = $1 AND step = 'discover-delta'`,
      [id],
    );
    t.is(discover.result.corporateActions.source, 'bulk');
    t.is(
      (await one<{ n: number }>(tdb, 'SELECT count(*)::int AS n FROM asset_processing_state WHERE prices_loaded')).n,
      sim.symbols().length,
    );
    t.is(
      (await one<{ n: number }>(tdb, 'SELECT coalesce(sum(cost), 0)::int AS n FROM api_calls')).n,
      sim.usage().calls,
    );

    // The next day: price updates by bulk, and the fundamentals asked once more (the plan may have changed).
    sim.advanceTradingDays(1);
    const id2 = await p.run();
    const calls = Object.fromEntries(
      (
        await rows<{ endpoint: string; requests: number; calls: number }>(
          tdb,
          `SELECT endpoint, count(*)::int AS requests, sum(cost)::int AS calls FROM api_calls WHERE execution_id = $1 GROUP BY 1`,
          [id2],
        )
      ).map((r) => [r.endpoint, r]),
    );
    t.is(calls.fundamentals?.requests, 1);
    t.is(calls.fundamentals?.calls, 0);
    // (Prices: ~40 tickers an exchange here, cheaper one by one than a 100-call bulk day.)
    t.true((calls.eod?.calls ?? 0) > 0, 'daily prices');
    t.true((calls['bulk-corporate-actions']?.calls ?? 0) > 0, "the day's splits and dividends from the bulk answers");
    t.is(calls['calendar-splits']?.requests, 1, 'the calendars asked once, refused');
    t.is(
      (await one<{ status: string }>(tdb, 'SELECT status FROM process_executions WHERE execution_id = $1', [id2]))
        .status,
      'success',
    );
  });
});

test('a 1,000-call plan (+500 extra): the run stays inside 1,350 and defers the rest instead of meeting the 402', async (t) => {
  await withWorld({ dailyLimit: 1000, extraLimit: 500 }, async ({ tdb, sim }) => {
    const p = await inProcessPipeline(tdb.pool, sim.url);
    const id = await p.run();
    const run = await one<{ status: string; stop_reason: string | null; assets_skipped: number }>(
      tdb,
      'SELECT status, stop_reason, assets_skipped FROM process_executions WHERE execution_id = $1',
      [id],
    );
    t.is(run.stop_reason, null);
    t.true(run.assets_skipped > 0, 'fundamentals that did not fit are deferred');
    const quota = await one<{ api_daily_limit: number; call_limit: number; used: number }>(
      tdb,
      'SELECT api_daily_limit, call_limit, used FROM v_api_quota_days WHERE quota_day = $1',
      [sim.today()],
    );
    t.like(quota, { api_daily_limit: 1500, call_limit: 1350 });
    t.true(quota.used <= 1350, `${quota.used} used`);
    t.is(sim.usage().calls, quota.used);
    const got402 = await one<{ n: number }>(tdb, 'SELECT count(*)::int AS n FROM api_calls WHERE http_status = 402');
    t.is(got402.n, 0);
    // Prices first: every asset has its history before any fundamentals.
    t.is(
      (await one<{ n: number }>(tdb, 'SELECT count(*)::int AS n FROM asset_processing_state WHERE prices_loaded')).n,
      sim.symbols().length,
    );
  });
});

test('a refused key (401) fails the run with what to do, and costs nothing', async (t) => {
  await withWorld({ apiKey: 'the-right-key' }, async ({ tdb, sim }) => {
    const p = await inProcessPipeline(tdb.pool, sim.url, { apiKey: 'a-wrong-key' });
    const r = await p.deliver({ fn: 'init-execution', body: {} });
    await p.drain();
    const id = (r.body as { executionId: number }).executionId;
    const run = await one<{ status: string; error_message: string }>(
      tdb,
      'SELECT status, error_message FROM process_executions WHERE execution_id = $1',
      [id],
    );
    t.is(run.status, 'failed');
    t.regex(run.error_message, /401/);
    t.regex(run.error_message, /eodhd-api-key/);
    t.notRegex(run.error_message, /a-wrong-key/);
    t.is(sim.usage().calls, 0);
  });
});

test('the rate-limit headers pace every replica: 97% of X-RateLimit-Limit, and a hold when X-RateLimit-Remaining runs low', async (t) => {
  const tdb = await createTestDb();
  const sim = await startSimulator({ today: TEST_TODAY, perMinuteLimit: 60 });
  try {
    const client = meteredClient({
      baseUrl: sim.url,
      apiKey: 'sim-demo-key',
      db: tdb.pool,
      quotaDay: sim.today(),
      callLimit: 1000,
      requestsPerMinute: 60_000,
      executionId: null,
    });
    // Another user of the key has used 58 of the minute's 60 requests.
    for (let i = 0; i < 58; i++) await (await request(`${sim.url}/user?api_token=sim-demo-key`)).body.dump();
    await client.eod('AAPL.US', '2026-11-01');
    const held = await one<{ ahead: number }>(
      tdb,
      `
      SELECT extract(epoch FROM d.rate_tat - c.created_at)::float8 AS ahead
        FROM api_quota_days d JOIN api_calls c ON c.quota_day = d.quota_day ORDER BY c.id DESC LIMIT 1`,
    );
    t.true(held.ahead >= 1.9, `the next requests wait for the window: ${held.ahead.toFixed(2)} s`);
    // The next reservation is spaced by 60 / (97% of 60, 58) seconds, not by the setting's 1 ms.
    const before = await one<{ tat: Date }>(tdb, 'SELECT rate_tat AS tat FROM api_quota_days');
    await client.user();
    const after = await one<{ step: number }>(
      tdb,
      `
      SELECT extract(epoch FROM d.rate_tat - greatest($1::timestamptz, c.created_at))::float8 AS step
        FROM api_quota_days d JOIN api_calls c ON c.quota_day = d.quota_day ORDER BY c.id DESC LIMIT 1`,
      [before.tat],
    );
    // At least that (a busy machine may add to it, never take from it).
    t.true(after.step >= 60 / 58 - 0.01 && after.step < 1.5, `interval ${after.step.toFixed(3)} s`);
    t.is((await one<{ n: number }>(tdb, 'SELECT count(*)::int AS n FROM api_calls WHERE http_status = 429')).n, 0);
  } finally {
    await sim.close();
    await tdb.drop();
  }
});
