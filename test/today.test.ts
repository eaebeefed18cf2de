/**
 * Today's run fetches today. EODHD's usage counter keeps the last active day's date and
 * count until the first charged request after midnight GMT (the simulator does the same by
 * default): the run's days come from the clock (the API's Date header) and each exchange's
 * calendar, never from that counter.
 */
import test from 'ava';
import { type InProcessPipeline, inProcessPipeline } from '../dev/in-process.js';
import { type PlanName, type Simulator, startSimulator } from '../dev/simulator/index.js';
import { EXCHANGES } from '../shared/domain/exchanges.js';
import { setSetting } from '../shared/store/settings.js';
import { createTestDb, type TestDb } from './helpers/db.js';

interface Stage {
  tdb: TestDb;
  sim: Simulator;
  p: InProcessPipeline;
}

async function withStage(
  opts: { universe?: 'sample' | 'full'; plan?: PlanName; today?: string; time?: string },
  fn: (s: Stage) => Promise<void>,
): Promise<void> {
  const tdb = await createTestDb();
  const sim = await startSimulator({
    universe: opts.universe ?? 'sample',
    plan: opts.plan,
    today: opts.today ?? '2026-11-20',
    time: opts.time,
    perMinuteLimit: 100_000,
  });
  try {
    const p = await inProcessPipeline(tdb.pool, sim.url);
    await fn({ tdb, sim, p });
  } finally {
    await sim.close();
    await tdb.drop();
  }
}

const rows = async <T>(tdb: TestDb, sql: string, args: unknown[] = []) => (await tdb.pool.query(sql, args)).rows as T[];

interface RunSummary {
  status: string;
  quotaDay: string;
  asOf: Record<string, string>;
  /** Price requests of the run: bulk days by exchange, and per-ticker histories by exchange. */
  bulk: Record<string, number>;
  histories: Record<string, number>;
  budget: number;
  callLimit: number;
}

async function summary(tdb: TestDb, id: number): Promise<RunSummary> {
  const run = (
    await rows<{ status: string; quota_day: string; as_of_by_exchange: Record<string, string> }>(
      tdb,
      `SELECT status, quota_day::text, as_of_by_exchange FROM process_executions WHERE execution_id = $1`,
      [id],
    )
  )[0]!;
  const calls = await rows<{ endpoint: string; exchange: string; n: number }>(
    tdb,
    `SELECT endpoint, CASE WHEN endpoint = 'eod' THEN split_part(target, '.', 2) ELSE target END AS exchange, count(*)::int AS n
       FROM api_calls WHERE execution_id = $1 AND endpoint IN ('eod', 'eod-bulk-last-day') AND http_status = 200
      GROUP BY 1, 2`,
    [id],
  );
  const quota = (
    await rows<{ result: { quota: { budget: number; callLimit: number } } }>(
      tdb,
      `SELECT result FROM pipeline_steps WHERE execution_id = $1 AND step = 'check-quota'`,
      [id],
    )
  )[0]!.result.quota;
  const by = (endpoint: string) =>
    Object.fromEntries(calls.filter((c) => c.endpoint === endpoint).map((c) => [c.exchange, c.n]));
  return {
    status: run.status,
    quotaDay: run.quota_day,
    asOf: run.as_of_by_exchange,
    bulk: by('eod-bulk-last-day'),
    histories: by('eod'),
    budget: quota.budget,
    callLimit: quota.callLimit,
  };
}

const newestBars = async (tdb: TestDb) =>
  Object.fromEntries(
    (
      await rows<{ exchange: string; d: string }>(
        tdb,
        // The listings' exchanges (the benchmark indices, exchange INDX, follow the exchange they serve).
        `SELECT a.exchange, max(p.date)::text AS d FROM stock_prices p JOIN assets a ON a.id = p.asset_id
          WHERE a.source <> 'benchmark' GROUP BY 1`,
      )
    ).map((r) => [r.exchange, r.d]),
  );

const everywhere = (day: string) => Object.fromEntries(EXCHANGES.map((e) => [e, day]));

test('a weekday evening with the counter still on Friday fetches that day everywhere; its quota day is that date', async (t) => {
  await withStage({}, async ({ tdb, sim, p }) => {
    await p.run();
    t.is(sim.userView().date, '2026-11-20');
    sim.setClock('2026-11-24T21:30:00Z');
    // Before the run, /user still says Friday: nothing has been asked since.
    t.is(sim.userView().date, '2026-11-20');
    const s = await summary(tdb, await p.run());
    t.is(s.status, 'success');
    t.is(s.quotaDay, '2026-11-24');
    t.deepEqual(s.asOf, everywhere('2026-11-24'));
    t.deepEqual(await newestBars(tdb), everywhere('2026-11-24'));
    t.true(Object.keys(s.histories).length + Object.keys(s.bulk).length > 0);
    // The ledger's day is the run's: every charged call of it is on the 24th (/user, free,
    // is asked before the API's clock is known and carries this machine's date).
    const days = await rows<{ quota_day: string }>(
      tdb,
      `SELECT DISTINCT quota_day::text FROM api_calls
        WHERE endpoint <> 'user' AND execution_id = (SELECT max(execution_id) FROM process_executions WHERE process_name = 'daily_pipeline')`,
    );
    t.deepEqual(
      days.map((d) => d.quota_day),
      ['2026-11-24'],
    );
  });
});

for (const back of [1, 3]) {
  test(`a counter dated ${back} day(s) back with 95,000 calls leaves today's full budget`, async (t) => {
    await withStage({}, async ({ tdb, sim, p }) => {
      await p.run();
      // Monday after a Friday catch-up (3 days), or Tuesday after a busy Monday (1 day).
      const today = back === 3 ? '2026-11-23' : '2026-11-24';
      const counted = back === 3 ? '2026-11-20' : '2026-11-23';
      sim.setClock(`${today}T21:30:00Z`);
      sim.setLastActiveDay(counted, 95_000);
      t.deepEqual(sim.userView(), { date: counted, calls: 95_000 });
      const s = await summary(tdb, await p.run());
      t.is(s.status, 'success');
      t.is(s.quotaDay, today);
      t.deepEqual(s.asOf, everywhere(today));
      // 95,000 of a 90,000 limit would leave nothing: today's own calls so far are all that is used.
      const used = (
        await rows<{ n: number }>(
          tdb,
          `SELECT coalesce(sum(cost), 0)::int AS n FROM api_calls WHERE quota_day = $1 AND endpoint NOT IN ('eod', 'eod-bulk-last-day', 'fundamentals')`,
          [today],
        )
      )[0]!.n;
      t.is(s.budget, s.callLimit - used);
      t.true(s.budget > 80_000);
      t.true(Object.values(s.histories).reduce((a, b) => a + b, 0) + Object.values(s.bulk).length > 0);
      t.deepEqual(await newestBars(tdb), everywhere(today));
      // The stale count settled its own day, not today.
      const reported = await rows<{ quota_day: string; api_reported: number }>(
        tdb,
        `SELECT quota_day::text, api_reported FROM api_quota_days WHERE quota_day IN ($1, $2) ORDER BY 1`,
        [counted, today],
      );
      t.deepEqual(reported[0], { quota_day: counted, api_reported: 95_000 });
      t.true(reported[1]!.api_reported < 1000);
    });
  });
}

test("a Sunday run asks Friday's bars once; a second Sunday run asks nothing", async (t) => {
  // Friday morning: the load is through Thursday.
  await withStage({ time: '10:00' }, async ({ tdb, sim, p }) => {
    const first = await summary(tdb, await p.run());
    t.deepEqual(first.asOf, everywhere('2026-11-19'));
    t.deepEqual(await newestBars(tdb), everywhere('2026-11-19'));
    sim.setClock('2026-11-22T12:00:00Z');
    const sunday = await summary(tdb, await p.run());
    t.is(sunday.status, 'success');
    t.is(sunday.quotaDay, '2026-11-22');
    t.deepEqual(sunday.asOf, everywhere('2026-11-20'));
    t.deepEqual(await newestBars(tdb), everywhere('2026-11-20'));
    // Friday's bars once: a bulk day of an exchange, or one history call per ticker, not both.
    for (const [ex, n] of Object.entries(sunday.bulk)) t.is(n, 1, `${ex}: one bulk day`);
    const again = await summary(tdb, await p.run());
    t.is(again.status, 'success');
    t.deepEqual(again.bulk, {});
    t.deepEqual(again.histories, {});
  });
});

test('a run at 10:00 UTC does not mark today as done anywhere', async (t) => {
  await withStage({}, async ({ tdb, sim, p }) => {
    await p.run();
    sim.setClock('2026-11-24T10:00:00Z');
    const s = await summary(tdb, await p.run());
    t.is(s.status, 'success');
    t.is(s.quotaDay, '2026-11-24');
    t.deepEqual(s.asOf, everywhere('2026-11-23'));
    t.deepEqual(await newestBars(tdb), everywhere('2026-11-23'));
    const ahead = await rows<{ n: number }>(
      tdb,
      `SELECT count(*)::int AS n FROM asset_processing_state WHERE prices_checked_through >= '2026-11-24' OR prices_last_date >= '2026-11-24'`,
    );
    t.is(ahead[0]!.n, 0);
  });
});

test('Thanksgiving: no US price call while London is fetched (the calendar read from /exchange-details)', async (t) => {
  await withStage({ today: '2026-11-25' }, async ({ tdb, sim, p }) => {
    await p.run();
    const read = await rows<{ exchange: string; day: string; kind: string }>(
      tdb,
      `SELECT exchange, day::text, kind FROM exchange_holidays WHERE day = '2026-11-26' ORDER BY 1`,
    );
    t.deepEqual(read, [{ exchange: 'US', day: '2026-11-26', kind: 'official' }]);
    sim.setClock('2026-11-26T21:30:00Z');
    const s = await summary(tdb, await p.run());
    t.is(s.status, 'success');
    t.is(s.asOf.US, '2026-11-25');
    t.is(s.asOf.LSE, '2026-11-26');
    t.falsy(s.bulk.US);
    t.falsy(s.histories.US);
    t.true((s.bulk.LSE ?? 0) + (s.histories.LSE ?? 0) > 0);
    const newest = await newestBars(tdb);
    t.is(newest.US, '2026-11-25');
    t.is(newest.LSE, '2026-11-26');
    // The calendar is read once a month: 5 calls an exchange on the first run, none on the second.
    const details = await rows<{ execution_id: number; n: number }>(
      tdb,
      `SELECT execution_id, count(*)::int AS n FROM api_calls WHERE endpoint = 'exchange-details' GROUP BY 1 ORDER BY 1`,
    );
    t.is(details.length, 1);
    t.is(details[0]!.n, EXCHANGES.length);
  });
});

test('a plan without /exchange-details learns a holiday from an empty bulk day, spends it once, and never fetches it again', async (t) => {
  await withStage({ universe: 'full', plan: 'eod-only', today: '2026-12-23' }, async ({ tdb, sim, p }) => {
    await setSetting(tdb.pool, 'max_new_assets_per_day', 0);
    await setSetting(tdb.pool, 'corporate_actions_enabled', false);
    // The bulk days counted here are the price updates': no re-reads for late corrections.
    await setSetting(tdb.pool, 'recheck_calls_per_day', 0);
    await p.run({ exchanges: ['XETRA'] });
    sim.setClock('2026-12-24T21:30:00Z');
    const eve = await summary(tdb, await p.run({ exchanges: ['XETRA'] }));
    t.is(eve.status, 'success');
    t.is(eve.bulk.XETRA, 1);
    t.falsy(eve.histories.XETRA, 'no ticker falls back to its own history');
    const learnt = await rows<{ day: string; kind: string }>(
      tdb,
      `SELECT day::text, kind FROM exchange_holidays WHERE exchange = 'XETRA' ORDER BY day`,
    );
    t.deepEqual(learnt, [{ day: '2026-12-24', kind: 'learnt' }]);
    // The 28th: Christmas Day (a Friday) is learnt the same way, the 24th is not asked again.
    sim.setClock('2026-12-28T21:30:00Z');
    const id = await p.run({ exchanges: ['XETRA'] });
    const after = await summary(tdb, id);
    t.is(after.status, 'success');
    const dates = await rows<{ bulk_dates: string[] }>(
      tdb,
      `SELECT bulk_dates::text[] AS bulk_dates FROM price_plans WHERE execution_id = $1 AND exchange = 'XETRA'`,
      [id],
    );
    t.deepEqual(dates[0]!.bulk_dates, ['2026-12-25', '2026-12-28']);
    t.is((await newestBars(tdb)).XETRA, '2026-12-28');
    const entitlement = await rows<{ status: string }>(
      tdb,
      `SELECT status FROM api_entitlements WHERE kind = 'exchange_details'`,
    );
    t.deepEqual(entitlement, [{ status: 'not_in_plan' }]);
  });
});
