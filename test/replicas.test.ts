/**
 * collect-region as OpenFaaS runs it: out of time it hands over to a fresh invocation of
 * itself; several replicas on one region share it without doing anything twice; the last
 * region alone invokes finalize. And calc-indicators called alone.
 */
import test from 'ava';
import { inProcessPipeline } from '../dev/in-process.js';
import type { Simulator } from '../dev/simulator/index.js';
import { calcIndicators } from '../shared/steps/calc-indicators.js';
import { claimStep, holdStepLease } from '../shared/store/pipeline-steps.js';
import { startItem } from '../shared/store/work-items.js';
import type { TestDb } from './helpers/db.js';
import { until } from './helpers/until.js';
import { closeWorld, openWorld } from './helpers/world.js';

let tdb: TestDb;
let sim: Simulator;

test.before(async () => {
  ({ tdb, sim } = await openWorld());
});
test.after.always(() => closeWorld(tdb, sim));

const q = async <T = Record<string, unknown>>(sql: string, args: unknown[] = []) =>
  (await tdb.pool.query(sql, args)).rows as T[];

test.serial('a tiny time budget: collect-region continues itself until its region is done', async (t) => {
  const p = await inProcessPipeline(tdb.pool, sim.url, { collectTimeBudgetMs: 150 });
  const id = await p.run({ exchanges: ['F', 'XETRA'] });
  const collects = p.invocations.filter((i) => i.fn === 'collect-region');
  t.true(collects.length >= 4, `${collects.length} collect-region invocations`);
  t.true(collects.some((c) => (c.result!.body as { stoppedBecause: string }).stoppedBecause === 'time_budget'));
  t.is(p.invocations.filter((i) => i.fn === 'finalize').length, 1);
  const [run] = await q<{ status: string; assets_processed: number }>(
    'SELECT * FROM process_executions WHERE execution_id = $1',
    [id],
  );
  t.is(run!.status, 'success');
  const expected = sim.symbols().filter((s) => s.endsWith('.F') || s.endsWith('.XETRA')).length;
  // Two operations per new asset: its history, then its fundamentals.
  t.is(run!.assets_processed, 2 * expected);
  const [d] = await q<{ n: number; assets: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT asset_id)::int AS assets FROM asset_processing_details WHERE execution_id = $1 AND operation = 'history_load'`,
    [id],
  );
  t.is(d!.n, expected, 'one details row per asset: nothing done twice');
  t.is(d!.assets, expected);
});

test.serial('four replicas on one region at once share its items; finalize is invoked exactly once', async (t) => {
  const p = await inProcessPipeline(tdb.pool, sim.url);
  // Open and plan a run, then deliver collect-region four times at once for each region.
  const init = await p.deliver({ fn: 'init-execution', body: {} });
  const id = (init.body as { executionId: number }).executionId;
  await p.deliver({ fn: 'discover-delta', body: { executionId: id } });
  const cq = await p.deliver({ fn: 'check-quota', body: { executionId: id } });
  const regions = (cq.body as { regions: string[] }).regions;
  t.deepEqual(regions, ['us', 'lse', 'european']);
  const before = p.invocations.length;
  await Promise.all(
    regions.flatMap((region) =>
      Array.from({ length: 4 }, () => p.deliver({ fn: 'collect-region', body: { executionId: id, region } })),
    ),
  );
  const finalizeCalls = p.invocations
    .slice(before)
    .filter((i) => i.fn === 'collect-region' && (i.result!.body as { finalizeInvoked?: boolean }).finalizeInvoked);
  t.is(finalizeCalls.length, 1, 'only the last region invokes finalize');
  await p.drain();
  const [run] = await q<{ status: string }>('SELECT * FROM process_executions WHERE execution_id = $1', [id]);
  t.is(run!.status, 'success');
  const [dupDetails] = await q<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT asset_id FROM asset_processing_details WHERE execution_id = $1 AND operation <> 'indicator_calc' GROUP BY asset_id, operation HAVING count(*) > 1) x`,
    [id],
  );
  t.is(dupDetails!.n, 0);
  const [calls] = await q<{ calls: number }>(`SELECT sum(cost)::int AS calls FROM api_calls`);
  t.is(calls!.calls, sim.usage().calls);
  t.is(p.invocations.filter((i) => i.fn === 'finalize').length, 1);
});

test.serial(
  'a ticker whose replica dies every time it is started is failed with the reason; its region and run finish',
  async (t) => {
    sim.advanceTradingDays(1);
    const p = await inProcessPipeline(tdb.pool, sim.url);
    const init = await p.deliver({ fn: 'init-execution', body: { exchanges: ['SW'] } });
    const id = (init.body as { executionId: number }).executionId;
    await p.deliver({ fn: 'discover-delta', body: { executionId: id } });
    await p.deliver({ fn: 'check-quota', body: { executionId: id } });
    p.invocations.length = 0;
    const [poison] = await q<{ id: number; region: string; symbol: string }>(
      `
    SELECT w.id, w.region, a.symbol FROM work_items w JOIN assets a ON a.id = w.asset_id
     WHERE w.execution_id = $1 ORDER BY w.id LIMIT 1`,
      [id],
    );
    // Five replicas in turn claim the item, start it, and die (their lease runs out).
    for (let i = 0; i < 5; i++) {
      const owner = `dead-replica-${i}`;
      await q(
        `UPDATE work_items SET status = 'claimed', lease_owner = $2, lease_expires_at = now() + interval '1 minute' WHERE id = $1`,
        [poison!.id, owner],
      );
      t.is(await startItem(tdb.pool, poison!.id, owner), i + 1);
      await q(`UPDATE work_items SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [poison!.id]);
    }
    await p.deliver({ fn: 'collect-region', body: { executionId: id, region: poison!.region } });
    await p.drain();
    const [item] = await q<{ status: string; attempts: number; error_message: string }>(
      'SELECT status, attempts, error_message FROM work_items WHERE id = $1',
      [poison!.id],
    );
    t.is(item!.status, 'failed');
    t.regex(item!.error_message, /given up: started 5 times without an outcome/);
    const [run] = await q<{ status: string; assets_failed: number }>(
      'SELECT status, assets_failed FROM process_executions WHERE execution_id = $1',
      [id],
    );
    t.is(run!.status, 'partial');
    t.is(run!.assets_failed, 1);
    const [left] = await q<{ n: number }>(
      `SELECT count(*)::int AS n FROM work_items WHERE execution_id = $1 AND status NOT IN ('done', 'failed')`,
      [id],
    );
    t.is(left!.n, 0, 'every other item ended');
    const [details] = await q<{ status: string; error_message: string }>(
      `
    SELECT d.status, d.error_message FROM asset_processing_details d JOIN assets a ON a.id = d.asset_id
     WHERE d.execution_id = $1 AND a.symbol = $2 AND d.operation <> 'indicator_calc'`,
      [id, poison!.symbol],
    );
    t.is(details!.status, 'failed');
  },
);

test.serial('a step renews its lease while it works; once it stops, another copy can claim it', async (t) => {
  const [run] = await q<{ execution_id: number }>(
    'SELECT max(execution_id)::int AS execution_id FROM process_executions',
  );
  const id = run!.execution_id;
  const claim = await claimStep(tdb.pool, id, 'lease-test', '', 3);
  if (claim.state !== 'claimed') return t.fail('not claimed');
  const leaseEnd = async () =>
    (
      await q<{ ms: number }>(
        `SELECT extract(epoch FROM lease_expires_at) * 1000 AS ms FROM pipeline_steps
          WHERE execution_id = $1 AND step = 'lease-test'`,
        [id],
      )
    )[0]!.ms;
  const first = await leaseEnd();
  const release = holdStepLease(tdb.pool, id, 'lease-test', '', claim.attempts, 3);
  // Renewed twice: the lease now ends later than it did, while the step works.
  let renewals = 0;
  let last = first;
  await until(async () => {
    const end = await leaseEnd();
    if (end > last) renewals++;
    last = end;
    return renewals >= 2;
  }, 'two renewals of the lease');
  t.is((await claimStep(tdb.pool, id, 'lease-test', '', 3)).state, 'busy', 'held while it is renewed');
  release(); // the process stops renewing (as a dead one does)
  await until(
    async () => (await claimStep(tdb.pool, id, 'lease-test', '', 3)).state === 'claimed',
    'the lease to run out',
  );
  t.pass('claimable once its lease ran out');
});

test.serial('calc-indicators alone: for given symbols, and for all assets with prices', async (t) => {
  const p = await inProcessPipeline(tdb.pool, sim.url);
  const some = sim.symbols().slice(0, 3);
  const r = await calcIndicators(p.ctx, { symbols: some }, 'manual-1');
  t.is(r.status, 200);
  const body = r.body as { executionId: number; calculated: number; tooFewBars: number; assets: number };
  t.is(body.assets, 3);
  t.is(body.calculated + body.tooFewBars, 3);
  const [own] = await q<{ process_name: string; status: string; call_id: string }>(
    'SELECT * FROM process_executions WHERE execution_id = $1',
    [body.executionId],
  );
  t.deepEqual({ ...own }, { ...own, process_name: 'calc_indicators', status: 'success', call_id: 'manual-1' });
  const all = await calcIndicators(p.ctx, { all: true }, null);
  const a = all.body as { calculated: number; assets: number };
  // Listings with enough bars (a benchmark index's bars are for beta: no indicators of its own).
  const [enough] = await q<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT asset_id FROM stock_prices GROUP BY asset_id HAVING count(*) >= 200) x
      JOIN assets a ON a.id = x.asset_id WHERE a.source <> 'benchmark'`,
  );
  t.is(a.calculated, enough!.n);
  const [rows] = await q<{ n: number; nan: number }>(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE rsi_14 = 'NaN' OR macd = 'NaN')::int AS nan FROM technical_indicators`,
  );
  t.is(rows!.n, enough!.n);
  t.is(rows!.nan, 0);
});

test.serial('a lost invocation is re-driven by mode resume and the run completes', async (t) => {
  const p = await inProcessPipeline(tdb.pool, sim.url);
  sim.advanceTradingDays(1);
  const init = await p.deliver({ fn: 'init-execution', body: {} });
  const id = (init.body as { executionId: number }).executionId;
  await p.deliver({ fn: 'discover-delta', body: { executionId: id } });
  await p.deliver({ fn: 'check-quota', body: { executionId: id } });
  // The queue loses every collect-region call check-quota made (NATS restarted).
  const lost = (await p.dropQueued()).filter((i) => i.fn === 'collect-region');
  t.true(lost.length >= 1);
  const early = await p.deliver({ fn: 'init-execution', body: { mode: 'resume', staleMinutes: 5 } });
  t.deepEqual((early.body as { redriven: unknown[] }).redriven, [], 'a run that moved recently is left alone');
  await tdb.pool.query(
    `UPDATE process_executions SET last_progress_at = now() - interval '10 minutes' WHERE execution_id = $1`,
    [id],
  );
  await tdb.pool.query(`UPDATE pipeline_steps SET updated_at = now() - interval '10 minutes' WHERE execution_id = $1`, [
    id,
  ]);
  const r = await p.deliver({ fn: 'init-execution', body: { mode: 'resume', staleMinutes: 5 } });
  const redriven = (r.body as { redriven: Array<{ step: string }> }).redriven;
  t.is(redriven.length, lost.length);
  t.true(redriven.every((x) => x.step === 'collect-region'));
  await p.drain();
  const [run] = await q<{ status: string }>('SELECT * FROM process_executions WHERE execution_id = $1', [id]);
  t.is(run!.status, 'success');
});
