/**
 * The real EODHD plans against the simulator: the plan's daily limit drives the budget
 * (free: 20 calls, a 1,000-call plan, extra calls), a 403 says "not in the plan" and the
 * planner stops planning it (asking again once a day), a 401 fails the run with what to
 * do, the free plan's warning row is recorded, and the rate-limit headers pace requests.
 */
import test from 'ava';
import { request } from 'undici';
import { inProcessPipeline } from '../dev/in-process.js';
import { type Simulator, startSimulator } from '../dev/simulator/index.js';
import { FREE_HISTORY_WARNING } from '../dev/simulator/plans.js';
import { dayLimits } from '../shared/store/api-plan.js';
import { meteredClient } from '../shared/store/call-book.js';
import { DEFAULT_SETTINGS } from '../shared/store/settings.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { closeWorld, openWorld, TEST_TODAY, withWorld } from './helpers/world.js';

const rows = async <T = Record<string, unknown>>(tdb: TestDb, sql: string, args: unknown[] = []) =>
  (await tdb.pool.query(sql, args)).rows as T[];
const one = async <T = Record<string, unknown>>(tdb: TestDb, sql: string, args: unknown[] = []) =>
  (await rows<T>(tdb, sql, args))[0]!;

// ---------------------------------------------------------------------------------------
// The budget (dayLimits), with a setting of 100,000 calls and a 10,000-call buffer.

const SETTINGS = { ...DEFAULT_SETTINGS, eodhd_daily_quota: 100_000, eodhd_quota_buffer: 10_000 };

test('the budget: a plan smaller than the setting is the quota, less a buffer scaled to it (20 -> 18, 1,000 -> 900)', (t) => {
  const s = SETTINGS;
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
});

test("the budget: a setting smaller than the plan and its extra calls is the quota, with the setting's buffer", (t) => {
  const s = SETTINGS;
  t.deepEqual(dayLimits(s, { dailyRateLimit: 100_000, extraLimit: 500 }), {
    apiLimit: 100_500,
    quota: 100_000,
    buffer: 10_000,
    callLimit: 90_000,
  });
});

test("the budget: the plan's extra calls count, up to the setting", (t) => {
  const s = SETTINGS;
  t.deepEqual(dayLimits({ ...s, eodhd_daily_quota: 150_000 }, { dailyRateLimit: 100_000, extraLimit: 50_000 }), {
    apiLimit: 150_000,
    quota: 150_000,
    buffer: 10_000,
    callLimit: 140_000,
  });
});

test('the budget: without the plan (/user not read) it is the setting', (t) => {
  const s = SETTINGS;
  t.deepEqual(dayLimits(s, null), { apiLimit: null, quota: 100_000, buffer: 10_000, callLimit: 90_000 });
});

test('the budget: a buffer as large as the plan leaves 0 calls, not fewer', (t) => {
  const s = SETTINGS;
  // A buffer as large as the plan does not make the budget negative.
  t.deepEqual(dayLimits({ ...s, eodhd_quota_buffer: 100_000 }, { dailyRateLimit: 20, extraLimit: 0 }), {
    apiLimit: 20,
    quota: 20,
    buffer: 20,
    callLimit: 0,
  });
});

// ---------------------------------------------------------------------------------------
// The simulator's plans, asked directly: a free one and an EOD-only one with 500 extra calls.
// Serial, in this order: the 403 test counts the free simulator's calls (0), so it comes
// before the history tests, which spend some.

let free: Simulator | undefined;
let paid: Simulator | undefined;

test.before("the simulator's plans: a free one and an EOD-only one", async () => {
  free = await startSimulator({ plan: 'free', today: TEST_TODAY });
  paid = await startSimulator({ plan: 'eod-only', today: TEST_TODAY, extraLimit: 500 });
});

test.after.always(async () => {
  await free?.close();
  await paid?.close();
});

const get = async (base: string, path: string, key = 'sim-demo-key') => {
  const r = await request(`${base}${path}${path.includes('?') ? '&' : '?'}api_token=${key}&fmt=json`);
  return { status: r.statusCode, type: String(r.headers['content-type']), body: await r.body.text() };
};

test.serial(
  "the simulator's /user shows the plan's figures: free 20 calls, EOD-only 100,000 and 500 extra",
  async (t) => {
    const user = JSON.parse((await get(free!.url, '/user')).body);
    t.like(user, { dailyRateLimit: 20, extraLimit: 0, subscriptionType: 'free' });
    t.true(Array.isArray(user.availableDataFeeds));
    t.like(JSON.parse((await get(paid!.url, '/user')).body), { dailyRateLimit: 100_000, extraLimit: 500 });
  },
);

test.serial(
  "the simulator's free plan answers 403 to fundamentals and bulk prices, and a 403 costs nothing",
  async (t) => {
    const fundamentals = await get(free!.url, '/fundamentals/AAPL.US');
    t.is(fundamentals.status, 403);
    t.like(JSON.parse(fundamentals.body), { code: 403 });
    t.is((await get(free!.url, '/eod-bulk-last-day/US')).status, 403);
    t.is(free!.usage().calls, 0, 'a 403 costs nothing');
  },
);

test.serial(
  "the simulator's EOD-only plan answers 403 to fundamentals and calendars, 200 to bulk prices",
  async (t) => {
    t.is((await get(paid!.url, '/fundamentals/AAPL.US')).status, 403);
    t.is((await get(paid!.url, '/calendar/splits')).status, 403);
    t.is((await get(paid!.url, '/eod-bulk-last-day/SW')).status, 200);
  },
);

test.serial("the simulator's free plan gives a year of history, its last row EODHD's warning", async (t) => {
  const history = JSON.parse((await get(free!.url, '/eod/AAPL.US?from=2020-01-01')).body) as Array<
    Record<string, unknown>
  >;
  t.deepEqual(history.at(-1), { warning: FREE_HISTORY_WARNING });
  const first = String(history[0]!.date);
  t.true(first >= '2025-11-19' && first <= '2025-11-24', `a year back: ${first}`);
});

test.serial("the simulator's free plan adds no warning when it cut nothing", async (t) => {
  const recent = JSON.parse((await get(free!.url, '/eod/AAPL.US?from=2026-06-01')).body) as unknown[];
  t.false(
    recent.some((x) => typeof x === 'object' && x !== null && 'warning' in x),
    'no warning when nothing was cut',
  );
});

test.serial("the simulator refuses a wrong key with 401 as EODHD sends it: text/html 'Unauthenticated'", async (t) => {
  const refused = await get(free!.url, '/eod/AAPL.US', 'wrong-key');
  t.is(refused.status, 401);
  t.regex(refused.type, /text\/html/);
  t.is(refused.body, 'Unauthenticated');
});

// ---------------------------------------------------------------------------------------
// The pipeline on each plan: one world per plan, its runs in a test.before (the runs are
// the expensive part, all started at once); what the tests check is read right after each
// run, before the next day's run changes it. Each world is closed at the end.

const opened: Array<{ tdb: TestDb; sim: Simulator }> = [];
test.after.always(async () => {
  for (const w of opened) await closeWorld(w.tdb, w.sim);
});

// The free plan: a watchlist on two days.
const WATCHLIST = ['AAPL.US', 'MSFT.US', 'BRK-B.US', 'SPY.US', 'BP.LSE', 'SAP.XETRA', 'ASML.AS'];
let freePlan: {
  day1: {
    run: {
      status: string;
      stop_reason: string | null;
      assets_with_warnings: number;
      api_plan: Record<string, unknown>;
    };
    ledgerCalls: number;
    simCalls: number;
    quotaDay: {
      api_daily_limit: number;
      call_limit: number;
      used: number;
      api_calls_left: number;
      calls_left: number;
    };
    limited: Array<{
      symbol: string;
      history_limited: boolean;
      history_warning: string;
      history_requested_from: string;
      history_received_from: string;
    }>;
    needs: Array<{ needs: string[] }>;
    fundamentalsCalls: number;
    notInPlan: Array<{ kind: string; source: string }>;
    progress: { not_in_plan: string; with_prices: number; with_full_history: number };
  };
  day2: { run: { status: string; stop_reason: string | null }; simCalls: number; behind: number };
};

test.before('free plan: the watchlist on two days', async () => {
  const w = await openWorld({ plan: 'free' });
  opened.push(w);
  const { tdb, sim } = w;
  const p = await inProcessPipeline(tdb.pool, sim.url);
  const id = await p.run({ symbols: WATCHLIST });
  const day1: typeof freePlan.day1 = {
    run: await one(
      tdb,
      'SELECT status, stop_reason, assets_with_warnings, api_plan FROM process_executions WHERE execution_id = $1',
      [id],
    ),
    ledgerCalls: (await one<{ calls: number }>(tdb, 'SELECT coalesce(sum(cost), 0)::int AS calls FROM api_calls'))
      .calls,
    simCalls: sim.usage().calls,
    quotaDay: await one(
      tdb,
      'SELECT api_daily_limit, call_limit, used, api_calls_left, calls_left FROM v_api_quota_days WHERE quota_day = $1',
      [sim.today()],
    ),
    limited: await rows(
      tdb,
      `
      SELECT a.symbol, s.history_limited, s.history_warning, s.history_requested_from::text, s.history_received_from::text
        FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id WHERE a.symbol = ANY($1) ORDER BY a.symbol`,
      [WATCHLIST],
    ),
    needs: await rows(tdb, 'SELECT needs FROM v_assets_needing_processing WHERE symbol = ANY($1)', [WATCHLIST]),
    fundamentalsCalls: (
      await one<{ n: number }>(
        tdb,
        `SELECT count(*)::int AS n FROM api_calls WHERE endpoint = 'fundamentals' AND cost > 0`,
      )
    ).n,
    notInPlan: await rows(tdb, `SELECT kind, source FROM api_entitlements WHERE status = 'not_in_plan' ORDER BY kind`),
    progress: await one(tdb, `SELECT * FROM get_processing_progress() WHERE region = 'all'`),
  };
  // Day 2.
  sim.advanceTradingDays(1);
  const id2 = await p.run({ symbols: WATCHLIST });
  const day2: typeof freePlan.day2 = {
    run: await one(tdb, 'SELECT status, stop_reason FROM process_executions WHERE execution_id = $1', [id2]),
    simCalls: sim.usage().calls,
    behind: (
      await one<{ n: number }>(
        tdb,
        `SELECT count(*)::int AS n FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
      WHERE a.symbol = ANY($1) AND s.prices_checked_through < $2`,
        [WATCHLIST.filter((s) => s.endsWith('.US')), sim.lastTradingDay('US')],
      )
    ).n,
  };
  freePlan = { day1, day2 };
});

test("free plan: the watchlist's run succeeds within 18 of the 20 calls, without a 402", (t) => {
  const { run, ledgerCalls, simCalls } = freePlan.day1;
  t.is(run.status, 'success');
  t.is(run.stop_reason, null, "no 402: the budget was the plan's");
  t.like(run.api_plan, { dailyRateLimit: 20, apiLimit: 20, buffer: 2, callLimit: 18 });
  t.is(ledgerCalls, simCalls);
  t.true(ledgerCalls <= 18, `${ledgerCalls} calls`);
});

test("free plan: the quota day shows the plan's 20 calls, the budget's 18, and what is left of each", (t) => {
  const { quotaDay, ledgerCalls } = freePlan.day1;
  t.like(quotaDay, {
    api_daily_limit: 20,
    call_limit: 18,
    api_calls_left: 20 - ledgerCalls,
    calls_left: 18 - ledgerCalls,
  });
});

test("free plan: every watchlist symbol (the ETF too) has one year of prices, marked limited with the API's warning", (t) => {
  const { limited, run } = freePlan.day1;
  // Every watchlist symbol has prices, one year of them, and says so.
  t.is(limited.length, WATCHLIST.length, 'SPY.US, an ETF outside the common-stock list, is an asset too');
  for (const l of limited) {
    t.true(l.history_limited, l.symbol);
    t.is(l.history_warning, FREE_HISTORY_WARNING);
    t.true(
      l.history_received_from > l.history_requested_from,
      `${l.symbol}: asked from ${l.history_requested_from}, got from ${l.history_received_from}`,
    );
  }
  t.is(run.assets_with_warnings, WATCHLIST.length);
});

test('free plan: a symbol with a year of history still needs its full history', (t) => {
  t.true(freePlan.day1.needs.every((n) => n.needs.includes('full_history')));
});

test('free plan: fundamentals, calendars and exchange details are recorded as not in the plan, nothing spent on fundamentals', (t) => {
  const { fundamentalsCalls, notInPlan } = freePlan.day1;
  // Fundamentals: the plan's feed list names none, so none were planned beyond one probe
  // that did not fit the day; nothing was spent on them.
  t.is(fundamentalsCalls, 0);
  t.deepEqual(
    notInPlan.map((o) => o.kind),
    ['calendar', 'exchange_details', 'fundamentals'],
  );
});

test('free plan: the progress says fundamentals are not in the plan, and counts prices but no full history', (t) => {
  const { progress } = freePlan.day1;
  t.regex(progress.not_in_plan, /fundamentals/);
  t.is(progress.with_full_history, 0);
  t.is(progress.with_prices, WATCHLIST.length);
});

test("free plan, the next day: the watchlist's prices are brought up to date, still inside the plan", (t) => {
  const { run, simCalls, behind } = freePlan.day2;
  // Day 2: prices for the watchlist, one call each, still inside the plan.
  t.is(run.status, 'success');
  t.is(run.stop_reason, null);
  t.true(simCalls <= 18, `day 2: ${simCalls} calls`);
  t.is(behind, 0);
});

// The EOD-only plan: the whole sample on two days.
let eodOnly: {
  day1: {
    status: string;
    notInPlan: Array<{ kind: string; source: string }>;
    probe: Array<{ endpoint: string; http_status: number; cost: number }>;
    skipped: { n: number; reason: string };
    corporateActionsSource: string;
    pricesLoaded: number;
    symbols: number;
    ledgerCalls: number;
    simCalls: number;
  };
  day2: { calls: Record<string, { endpoint: string; requests: number; calls: number }>; status: string };
};

test.before('EOD-only plan: the sample on two days', async () => {
  const w = await openWorld({ plan: 'eod-only' });
  opened.push(w);
  const { tdb, sim } = w;
  const p = await inProcessPipeline(tdb.pool, sim.url);
  const id = await p.run();
  const day1: typeof eodOnly.day1 = {
    status: (
      await one<{ status: string; stop_reason: string | null }>(
        tdb,
        'SELECT status, stop_reason FROM process_executions WHERE execution_id = $1',
        [id],
      )
    ).status,
    notInPlan: (
      await one<{ result: { notInPlan: Array<{ kind: string; source: string }> } }>(
        tdb,
        `SELECT result FROM pipeline_steps WHERE execution_id = $1 AND step = 'finalize'`,
        [id],
      )
    ).result.notInPlan,
    probe: await rows(
      tdb,
      `SELECT endpoint, http_status, cost FROM api_calls WHERE execution_id = $1 AND endpoint = 'fundamentals'`,
      [id],
    ),
    skipped: await one(
      tdb,
      `SELECT count(*)::int AS n, max(error_message) AS reason FROM asset_processing_details
      WHERE execution_id = $1 AND operation = 'fundamentals_load' AND status = 'skipped'`,
      [id],
    ),
    corporateActionsSource: (
      await one<{ result: { corporateActions: { source: string } } }>(
        tdb,
        `SELECT result FROM pipeline_steps WHERE execution_id = $1 AND step = 'discover-delta'`,
        [id],
      )
    ).result.corporateActions.source,
    pricesLoaded: (
      await one<{ n: number }>(tdb, 'SELECT count(*)::int AS n FROM asset_processing_state WHERE prices_loaded')
    ).n,
    symbols: sim.symbols().length,
    ledgerCalls: (await one<{ n: number }>(tdb, 'SELECT coalesce(sum(cost), 0)::int AS n FROM api_calls')).n,
    simCalls: sim.usage().calls,
  };
  // The next day.
  sim.advanceTradingDays(1);
  const id2 = await p.run();
  const day2: typeof eodOnly.day2 = {
    calls: Object.fromEntries(
      (
        await rows<{ endpoint: string; requests: number; calls: number }>(
          tdb,
          `SELECT endpoint, count(*)::int AS requests, sum(cost)::int AS calls FROM api_calls WHERE execution_id = $1 GROUP BY 1`,
          [id2],
        )
      ).map((r) => [r.endpoint, r]),
    ),
    status: (await one<{ status: string }>(tdb, 'SELECT status FROM process_executions WHERE execution_id = $1', [id2]))
      .status,
  };
  eodOnly = { day1, day2 };
});

test('EOD-only plan: the run succeeds without fundamentals, calendars and exchange details, and names them as not in the plan', (t) => {
  const { status, notInPlan } = eodOnly.day1;
  t.is(status, 'success');
  t.deepEqual(
    notInPlan.map((x) => `${x.kind}:${x.source}`),
    ['calendar:answer', 'exchange_details:answer', 'fundamentals:answer'],
  );
});

test('EOD-only plan: fundamentals are asked once, answered 403 at no cost, and skipped as not in the plan', (t) => {
  const { probe, skipped } = eodOnly.day1;
  t.deepEqual(
    probe,
    [{ endpoint: 'fundamentals', http_status: 403, cost: 0 }],
    'one fundamentals request, refused, free',
  );
  t.is(skipped.n, 1);
  t.regex(skipped.reason, /not in the plan/);
});

test('EOD-only plan: the corporate actions come from the bulk answers, not the calendars', (t) => {
  t.is(eodOnly.day1.corporateActionsSource, 'bulk');
});

test("EOD-only plan: every symbol's prices are loaded, and the ledger counts what the API counted", (t) => {
  const { pricesLoaded, symbols, ledgerCalls, simCalls } = eodOnly.day1;
  t.is(pricesLoaded, symbols);
  t.is(ledgerCalls, simCalls);
});

test('EOD-only plan, the next day: fundamentals and calendars are asked once more (the plan may have changed), refused, free', (t) => {
  const { calls } = eodOnly.day2;
  // The next day: the fundamentals asked once more (the plan may have changed).
  t.is(calls.fundamentals?.requests, 1);
  t.is(calls.fundamentals?.calls, 0);
  t.is(calls['calendar-splits']?.requests, 1, 'the calendars asked once, refused');
});

test("EOD-only plan, the next day: daily prices and the day's splits and dividends from the bulk answers; the run succeeds", (t) => {
  const { calls, status } = eodOnly.day2;
  // (Prices: ~40 tickers an exchange here, cheaper one by one than a 100-call bulk day.)
  t.true((calls.eod?.calls ?? 0) > 0, 'daily prices');
  t.true((calls['bulk-corporate-actions']?.calls ?? 0) > 0, "the day's splits and dividends from the bulk answers");
  t.is(status, 'success');
});

// A 1,000-call plan with 500 extra calls: one run of the sample.
let thousand: {
  run: { status: string; stop_reason: string | null; assets_skipped: number };
  quota: { api_daily_limit: number; call_limit: number; used: number };
  simCalls: number;
  got402: number;
  pricesLoaded: number;
  symbols: number;
};

test.before('a 1,000-call plan (+500 extra): one run', async () => {
  const w = await openWorld({ dailyLimit: 1000, extraLimit: 500 });
  opened.push(w);
  const { tdb, sim } = w;
  const p = await inProcessPipeline(tdb.pool, sim.url);
  const id = await p.run();
  thousand = {
    run: await one(tdb, 'SELECT status, stop_reason, assets_skipped FROM process_executions WHERE execution_id = $1', [
      id,
    ]),
    quota: await one(tdb, 'SELECT api_daily_limit, call_limit, used FROM v_api_quota_days WHERE quota_day = $1', [
      sim.today(),
    ]),
    simCalls: sim.usage().calls,
    got402: (await one<{ n: number }>(tdb, 'SELECT count(*)::int AS n FROM api_calls WHERE http_status = 402')).n,
    pricesLoaded: (
      await one<{ n: number }>(tdb, 'SELECT count(*)::int AS n FROM asset_processing_state WHERE prices_loaded')
    ).n,
    symbols: sim.symbols().length,
  };
});

test('a 1,000-call plan (+500 extra): the day is 1,500 calls with a budget of 1,350, and the run stays inside it', (t) => {
  const { quota, simCalls } = thousand;
  t.like(quota, { api_daily_limit: 1500, call_limit: 1350 });
  t.true(quota.used <= 1350, `${quota.used} used`);
  t.is(simCalls, quota.used);
});

test('a 1,000-call plan (+500 extra): the run does not meet the 402 and is not stopped', (t) => {
  t.is(thousand.run.stop_reason, null);
  t.is(thousand.got402, 0);
});

test('a 1,000-call plan (+500 extra): fundamentals that do not fit are deferred', (t) => {
  t.true(thousand.run.assets_skipped > 0, 'fundamentals that did not fit are deferred');
});

test('a 1,000-call plan (+500 extra): prices first, every asset has its history', (t) => {
  // Prices first: every asset has its history before any fundamentals.
  t.is(thousand.pricesLoaded, thousand.symbols);
});

// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// The rate-limit headers, on a simulator allowing 60 requests a minute. Serial, in this
// order: the spacing is measured from where the hold left the day's rate, and the last
// test counts the 429s of both.

let paced: { tdb: TestDb; sim: Simulator; client: ReturnType<typeof meteredClient> } | undefined;

test.before('the rate-limit headers: a simulator allowing 60 requests a minute', async () => {
  const tdb = await createTestDb();
  const sim = await startSimulator({ today: TEST_TODAY, perMinuteLimit: 60 });
  paced = {
    tdb,
    sim,
    client: meteredClient({
      baseUrl: sim.url,
      apiKey: 'sim-demo-key',
      db: tdb.pool,
      quotaDay: sim.today(),
      callLimit: 1000,
      requestsPerMinute: 60_000,
      executionId: null,
    }),
  };
});

test.after.always(async () => {
  await paced?.sim.close();
  await paced?.tdb.drop();
});

test.serial(
  'when X-RateLimit-Remaining runs low, the next requests of every replica wait for the window',
  async (t) => {
    const { tdb, sim, client } = paced!;
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
  },
);

test.serial("requests are spaced at 97% of X-RateLimit-Limit, not at the setting's rate", async (t) => {
  const { tdb, client } = paced!;
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
});

test.serial('paced by the rate-limit headers, no request meets a 429', async (t) => {
  const { tdb } = paced!;
  t.is((await one<{ n: number }>(tdb, 'SELECT count(*)::int AS n FROM api_calls WHERE http_status = 429')).n, 0);
});
