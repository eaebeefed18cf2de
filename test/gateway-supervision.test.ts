/**
 * What the local gateway does by itself: the cron-connector's schedules from stack.yml's
 * annotations (a run opens on the minute with the connector's headers), and a liveness
 * check that restarts a function process whose event loop no longer answers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { Cron } from 'croner';
import { request } from 'undici';
import YAML from 'yaml';
import { startLocalGateway } from '../dev/gateway/index.js';
import { goDuration, readStack, substitute } from '../dev/gateway/stack.js';
import { createTestDb } from './helpers/db.js';

/** stack.yml with only the given functions, their schedules replaced. */
function stackWith(functions: Record<string, Record<string, string> | null>): string {
  const doc = YAML.parse(fs.readFileSync('stack.yml', 'utf8')) as {
    functions: Record<string, { annotations?: Record<string, string> }>;
  };
  for (const name of Object.keys(doc.functions)) if (!(name in functions)) delete doc.functions[name];
  for (const [name, annotations] of Object.entries(functions))
    if (annotations) doc.functions[name]!.annotations = annotations;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'screener-stack-')), 'stack.yml');
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}

test('stack.yml is read as faas-cli reads it: ${VAR:-default} images, Go durations, schedules from the annotations', (t) => {
  const fns = readStack('stack.yml');
  t.deepEqual(
    fns.map((f) => f.name),
    [
      'init-execution',
      'resume-runs',
      'discover-delta',
      'check-quota',
      'collect-region',
      'finalize',
      'calc-indicators',
      'status',
      'screen',
    ],
  );
  t.deepEqual(
    fns.filter((f) => f.schedule).map((f) => [f.name, f.schedule]),
    [
      ['init-execution', '30 21 * * 1-5'],
      ['resume-runs', '*/10 * * * *'],
    ],
  );
  t.is(fns.find((f) => f.name === 'resume-runs')!.handlerFolder, 'init-execution');
  t.is(fns.find((f) => f.name === 'collect-region')!.execTimeoutMs, 600_000);
  t.is(substitute('${REGISTRY:-ghcr.io/x}/f:${TAG:-latest}', {}), 'ghcr.io/x/f:latest');
  t.is(
    substitute('${REGISTRY:-ghcr.io/x}/f:${TAG:-latest}', { REGISTRY: 'reg.local:5000', TAG: '1.2' }),
    'reg.local:5000/f:1.2',
  );
  t.is(goDuration('1m5s'), 65_000);
  t.throws(() => goDuration('5 minutes'), { message: /not a duration/ });
});

test("the schedules run as the cron-connector runs them: on the minute, asynchronously, with its headers; the next times are stack.yml's", async (t) => {
  const tdb = await createTestDb();
  const gw = await startLocalGateway({
    stackFile: stackWith({ 'init-execution': { topic: 'cron-function', schedule: '* * * * *' } }),
    env: { DATABASE_URL: tdb.url, SECRETS_DIR: '/nonexistent' },
    cron: true,
    authDir: null,
    onLog: () => {},
  });
  try {
    const [s] = gw.schedules()!;
    t.is(s!.fn, 'init-execution');
    t.is(new Date(s!.next!).getUTCSeconds(), 0);
    // The next minute opens a run, marked as the cron-connector's.
    let run: { trigger_kind: string } | undefined;
    for (let i = 0; i < 900 && !run; i++) {
      run = (await tdb.pool.query(`SELECT trigger_kind FROM process_executions`)).rows[0];
      if (!run) await new Promise((r) => setTimeout(r, 100));
    }
    t.deepEqual(run, { trigger_kind: 'cron' });
    t.true(gw.stats().cronInvocations >= 1);
  } finally {
    await gw.close();
    await tdb.drop();
  }
  // The real stack's times, read by the same cron library: 21:30 UTC on weekdays, every 10 minutes.
  const next = (schedule: string, from: string) =>
    new Cron(schedule, { timezone: 'UTC', paused: true }).nextRun(new Date(from))!.toISOString();
  const fns = readStack('stack.yml');
  const init = fns.find((f) => f.name === 'init-execution')!.schedule!;
  t.is(next(init, '2026-12-04T22:00:00Z'), '2026-12-07T21:30:00.000Z', 'Friday evening: next Monday');
  t.is(next(init, '2026-12-01T21:29:00Z'), '2026-12-01T21:30:00.000Z');
  t.is(next(fns.find((f) => f.name === 'resume-runs')!.schedule!, '2026-12-01T21:53:00Z'), '2026-12-01T22:00:00.000Z');
});

test('a function whose event loop stops answering is restarted (liveness), and answers again', async (t) => {
  const tdb = await createTestDb();
  const gw = await startLocalGateway({
    stackFile: stackWith({ finalize: null }),
    env: { DATABASE_URL: tdb.url, SECRETS_DIR: '/nonexistent' },
    authDir: null,
    onLog: () => {},
    liveness: { intervalMs: 300, misses: 3 },
  });
  try {
    const child = gw.processOf('finalize')!;
    const pid = child.pid;
    // SIGSTOP: the process is there, its event loop answers nothing (as in an endless loop).
    child.kill('SIGSTOP');
    for (let i = 0; i < 600 && gw.stats().livenessKills === 0; i++) await new Promise((r) => setTimeout(r, 100));
    // (At least once: on a busy machine the fresh process may miss its first checks too.)
    t.true(gw.stats().livenessKills >= 1);
    let answered = 0;
    for (let i = 0; i < 600 && answered !== 400; i++) {
      const r = await request(`${gw.url}/function/finalize`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      }).catch(() => null);
      answered = r?.statusCode ?? 0;
      await r?.body.dump();
      if (answered !== 400) await new Promise((res) => setTimeout(res, 100));
    }
    t.is(answered, 400, 'the new process answers');
    t.not(gw.processOf('finalize')!.pid, pid);
  } finally {
    await gw.close();
    await tdb.drop();
  }
});
