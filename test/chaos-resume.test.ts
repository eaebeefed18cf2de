/**
 * What the chaos suite found, pinned down in-process: a dead database connection does not
 * crash the process; resume re-drives within seconds (staleSeconds), keeps re-driving a
 * region however many invocations it took, and closes a run whose step gave up; an
 * indicator run whose invocation died does not block every later one.
 */
import test from 'ava';
import { type InProcessPipeline, inProcessPipeline } from '../dev/in-process.js';
import type { Simulator } from '../dev/simulator/index.js';
import { createPool, inTransaction } from '../shared/platform/db.js';
import type { FunctionEvent } from '../shared/platform/function-contract.js';
import { InitExecutionInput, parseInput } from '../shared/platform/input.js';
import { calcIndicators } from '../shared/steps/calc-indicators.js';
import type { TestDb } from './helpers/db.js';
import { closeWorld, openWorld } from './helpers/world.js';

let tdb: TestDb;
let sim: Simulator;
let p: InProcessPipeline;

test.before(async () => {
  ({ tdb, sim } = await openWorld());
  p = await inProcessPipeline(tdb.pool, sim.url);
});
test.after.always(() => closeWorld(tdb, sim));

const q = async <T = Record<string, unknown>>(sql: string, args: unknown[] = []) =>
  (await tdb.pool.query(sql, args)).rows as T[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const resume = async (body: object) =>
  (await p.deliver({ fn: 'init-execution', body: { mode: 'resume', ...body } })).body as {
    redriven: Array<{ executionId: number; step: string; shard?: string }>;
    gaveUp: Array<{ executionId: number; step: string }>;
    staleSeconds: number;
  };

/** Opens a run of exchanges not loaded yet and plans it, with the collect-region calls lost. */
async function plannedRun(exchanges: string[]): Promise<number> {
  const init = await p.deliver({ fn: 'init-execution', body: { exchanges } });
  const id = (init.body as { executionId: number }).executionId;
  await p.deliver({ fn: 'discover-delta', body: { executionId: id } });
  await p.deliver({ fn: 'check-quota', body: { executionId: id } });
  await p.dropQueued();
  return id;
}

test.serial('a connection that dies inside a transaction fails the transaction, not the process', async (t) => {
  const pool = createPool(tdb.url, 2);
  let crashed: unknown = null;
  const onCrash = (err: unknown) => {
    crashed = err;
  };
  process.on('uncaughtException', onCrash);
  try {
    // Terminated while no statement runs: the FATAL arrives between two statements.
    await t.throwsAsync(
      inTransaction(pool, async (c) => {
        const [{ pid }] = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
        await tdb.pool.query('SELECT pg_terminate_backend($1)', [pid]);
        await sleep(200);
        await c.query('SELECT 1');
      }),
    );
    // Many at once, connections terminated all the while (what a database restart does).
    let stop = false;
    const killer = (async () => {
      while (!stop) {
        await tdb.pool
          .query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'chaos-resume'`,
          )
          .catch(() => {});
        await sleep(15);
      }
    })();
    const workers = Array.from({ length: 12 }, async (_, i) => {
      for (let k = 0; k < 40; k++) {
        await (i % 2
          ? pool.query('SELECT pg_sleep(0.002)')
          : inTransaction(pool, async (c) => {
              await c.query('SELECT 1');
              await sleep(2);
              await c.query('SELECT 2');
            })
        ).catch(() => {});
      }
    });
    await Promise.all(workers);
    stop = true;
    await killer;
    t.is(crashed, null, 'no uncaught error');
    t.is((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1, 'the pool still serves');
  } finally {
    process.off('uncaughtException', onCrash);
    await pool.end();
  }
});
process.env.FUNCTION_NAME = 'chaos-resume'; // application_name of the pools created here

test.serial('resume takes staleSeconds (or staleMinutes, not both)', async (t) => {
  const ev = (body: string): FunctionEvent => ({
    body: Buffer.from(body),
    headers: { 'content-type': 'application/json' },
    method: 'POST',
    query: {},
    path: '/',
  });
  const both = parseInput(ev('{"mode":"resume","staleMinutes":1,"staleSeconds":60}'), InitExecutionInput);
  t.false(both.ok);
  t.true(parseInput(ev('{"mode":"resume","staleSeconds":5}'), InitExecutionInput).ok);
  const id = await plannedRun(['SW', 'LS']);
  t.deepEqual((await resume({ staleSeconds: 2 })).redriven, [], 'a run that moved within 2 s is left alone');
  await sleep(2_300);
  const r = await resume({ staleSeconds: 2 });
  t.is(r.staleSeconds, 2);
  t.true(r.redriven.length >= 1 && r.redriven.every((x) => x.executionId === id && x.step === 'collect-region'));
  await p.drain();
  t.is(
    (await q<{ status: string }>('SELECT status FROM process_executions WHERE execution_id = $1', [id]))[0]!.status,
    'success',
  );
});

test.serial(
  'a region is re-driven however many invocations it has taken; another step that gave up closes its run',
  async (t) => {
    const id = await plannedRun(['MC', 'BR']);
    const age = `updated_at = now() - interval '1 hour'`;
    await q(
      `UPDATE pipeline_steps SET status = 'running', attempts = 25, lease_expires_at = NULL, ${age} WHERE execution_id = $1 AND step = 'collect-region'`,
      [id],
    );
    await q(`UPDATE process_executions SET last_progress_at = now() - interval '1 hour' WHERE execution_id = $1`, [id]);
    const r = await resume({ staleMinutes: 15 });
    t.true(
      r.redriven.some((x) => x.step === 'collect-region'),
      'a region past 10 invocations is still re-driven',
    );
    await p.drain();
    t.is(
      (await q<{ status: string }>('SELECT status FROM process_executions WHERE execution_id = $1', [id]))[0]!.status,
      'success',
    );

    const id2 = (await p.deliver({ fn: 'init-execution', body: { exchanges: ['AS'] } })).body as {
      executionId: number;
    };
    await p.dropQueued();
    await q(
      `UPDATE pipeline_steps SET status = 'failed', attempts = 10, error_message = 'the API is down', ${age} WHERE execution_id = $1 AND step = 'discover-delta'`,
      [id2.executionId],
    );
    await q(`UPDATE process_executions SET last_progress_at = now() - interval '1 hour' WHERE execution_id = $1`, [
      id2.executionId,
    ]);
    const g = await resume({ staleMinutes: 15 });
    t.deepEqual(
      g.gaveUp.map((x) => [x.executionId, x.step]),
      [[id2.executionId, 'discover-delta']],
    );
    const [run] = await q<{ status: string; error_message: string }>(
      'SELECT status, error_message FROM process_executions WHERE execution_id = $1',
      [id2.executionId],
    );
    t.is(run!.status, 'failed');
    t.regex(run!.error_message, /given up: step discover-delta .*10 attempts.*the API is down/);
    const next = await p.deliver({ fn: 'init-execution', body: { exchanges: ['AS'], dryRun: true } });
    t.is(next.status, 202, 'the slot is free for the next trigger');
    await p.drain();
  },
);

test.serial('an indicator run whose invocation died does not block the next ones', async (t) => {
  const id = await p.run({ exchanges: ['PA'] });
  // A chained indicator run left 'running' by a killed invocation, its step claimable again.
  await q(`UPDATE process_executions SET status = 'running', finished_at = NULL WHERE parent_execution_id = $1`, [id]);
  await q(
    `UPDATE pipeline_steps SET status = 'running', lease_expires_at = now() - interval '1 second' WHERE execution_id = $1 AND step = 'calc-indicators'`,
    [id],
  );
  const r = await calcIndicators(p.ctx, { executionId: id }, null);
  t.is(r.status, 200, JSON.stringify(r.body));
  const runs = await q<{ status: string; error_message: string | null }>(
    `SELECT status, error_message FROM process_executions WHERE parent_execution_id = $1 ORDER BY execution_id`,
    [id],
  );
  t.deepEqual(
    runs.map((x) => x.status),
    ['failed', 'success'],
  );
  t.regex(runs[0]!.error_message ?? '', /abandoned/);
  // A manual one that stopped making progress longer ago than the step's lease.
  await q(`INSERT INTO process_executions (process_name, trigger_kind, parameters, as_of, status, last_progress_at)
           VALUES ('calc_indicators', 'manual', '{"all": true}', '2026-11-20', 'running', now() - interval '2 hours')`);
  const all = await calcIndicators(p.ctx, { all: true }, null);
  t.is(all.status, 200, JSON.stringify(all.body));
  t.is(
    (
      await q<{ n: number }>(
        `SELECT count(*)::int AS n FROM process_executions WHERE process_name = 'calc_indicators' AND status = 'running'`,
      )
    )[0]!.n,
    0,
  );
});
