/**
 * The health check: the cluster half against a fake Kubernetes API (nock: there is no
 * cluster here), the database half against a real run, and the command's exit codes.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import test from 'ava';
import nock from 'nock';
import { parse } from 'yaml';
import { inProcessPipeline } from '../dev/in-process.js';
import type { Simulator } from '../dev/simulator/index.js';
import { addDays } from '../shared/domain/dates.js';
import { type Check, clusterChecks, DEPLOYED_FUNCTIONS, databaseChecks, SECRETS } from '../shared/observe/health.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { closeWorld, openWorld } from './helpers/world.js';

const API = 'http://127.0.0.1:6443';
let tdb: TestDb;
let sim: Simulator;

test.before(async () => {
  ({ tdb, sim } = await openWorld());
  await (await inProcessPipeline(tdb.pool, sim.url)).run();
});
test.after.always(() => closeWorld(tdb, sim));
test.afterEach.always(() => nock.cleanAll());

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'pis', server: API, skipTLSVerify: true }],
    users: [{ name: 'ops', token: 'test-token' }],
    contexts: [{ name: 'pis', cluster: 'pis', user: 'ops' }],
    currentContext: 'pis',
  });
  return kc;
}

const deployment = (name: string, available: number) => ({
  kind: 'Deployment',
  apiVersion: 'apps/v1',
  metadata: { name },
  spec: { replicas: 1 },
  status: { replicas: 1, availableReplicas: available },
});
const secret = (name: string) => ({ kind: 'Secret', apiVersion: 'v1', metadata: { name }, data: { [name]: 'eA==' } });

/** A cluster where everything is up, with `change` applied to it. */
function fakeCluster(change: { notReady?: string; missingSecret?: string; noCron?: boolean } = {}) {
  const api = nock(API).persist();
  for (const fn of DEPLOYED_FUNCTIONS)
    api
      .get(`/apis/apps/v1/namespaces/openfaas-fn/deployments/${fn}`)
      .reply(200, deployment(fn, fn === change.notReady ? 0 : 1));
  api
    .get('/apis/apps/v1/namespaces/openfaas/deployments/cron-connector')
    .reply(change.noCron ? 404 : 200, change.noCron ? { kind: 'Status', code: 404 } : deployment('cron-connector', 1));
  for (const s of SECRETS)
    api
      .get(`/api/v1/namespaces/openfaas-fn/secrets/${s}`)
      .reply(
        s === change.missingSecret ? 404 : 200,
        s === change.missingSecret ? { kind: 'Status', code: 404 } : secret(s),
      );
}

const failing = (checks: Check[]) => checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail} -> ${c.fix}`);
const scope = { functionNamespace: 'openfaas-fn', openfaasNamespace: 'openfaas' };

test.serial('the deployed functions are the ones stack.yml deploys', (t) => {
  const stack = parse(fs.readFileSync('stack.yml', 'utf8')) as { functions: Record<string, unknown> };
  t.deepEqual([...DEPLOYED_FUNCTIONS].sort(), Object.keys(stack.functions).sort());
});

test.serial('cluster: all deployments ready, the cron-connector running, every secret: healthy', async (t) => {
  fakeCluster();
  const checks = await clusterChecks(kubeConfig(), scope);
  t.deepEqual(failing(checks), []);
  t.is(checks.length, DEPLOYED_FUNCTIONS.length + 1 + SECRETS.length);
});

test.serial(
  'cluster: a function with no ready replica, a missing secret, no cron-connector: each said with what to do',
  async (t) => {
    fakeCluster({ notReady: 'collect-region', missingSecret: 'eodhd-api-key', noCron: true });
    const problems = failing(await clusterChecks(kubeConfig(), scope));
    t.is(problems.length, 3);
    t.regex(problems[0]!, /collect-region: 0\/1 ready -> kubectl -n openfaas-fn describe deployment collect-region/);
    t.regex(problems[1]!, /cron-connector: not deployed -> helm upgrade --install cron-connector/);
    t.regex(problems[2]!, /secret eodhd-api-key: missing -> faas-cli secret create eodhd-api-key/);
  },
);

test.serial('cluster: an API that does not answer is one problem, not twenty', async (t) => {
  // A closed port on loopback (nock's replyWithError leaves this client's request hanging).
  const kc = kubeConfig();
  kc.clusters[0] = { ...kc.clusters[0]!, server: 'http://127.0.0.1:1' };
  const problems = failing(await clusterChecks(kc, scope));
  t.deepEqual(problems, [
    'kubernetes api: no answer from http://127.0.0.1:1 -> set KUBECONFIG (or run in the cluster), or give --no-cluster to check the database only',
  ]);
});

test.serial('database: after a run everything is well; stale prices and a used-up quota are said', async (t) => {
  // Midnight UTC after the simulator's last session: every exchange has published it.
  const today = addDays(sim.lastTradingDay(), 1);
  const base = { url: tdb.url, now: new Date(`${today}T00:00:00Z`), maxDaysBehind: 2, stalledMinutes: 30 };
  t.deepEqual(failing(await databaseChecks(tdb.pool, base)), []);
  // Ten days later without a run: every exchange is behind.
  const later = failing(await databaseChecks(tdb.pool, { ...base, now: new Date(`${addDays(today, 10)}T00:00:00Z`) }));
  t.is(later.length, 10);
  t.regex(later[0]!, /session\(s\) behind .* -> check that the daily runs succeed/);
  // The day's quota used up.
  await tdb.pool.query(
    `UPDATE api_quota_days SET reserved_calls = call_limit WHERE quota_day = (SELECT quota_day FROM api_plan)`,
  );
  t.teardown(() =>
    tdb.pool.query(
      `UPDATE api_quota_days d SET reserved_calls = (SELECT coalesce(sum(cost), 0) FROM api_calls c WHERE c.quota_day = d.quota_day)`,
    ),
  );
  const quota = failing(await databaseChecks(tdb.pool, base));
  t.is(quota.length, 1);
  t.regex(quota[0]!, /^quota: .* 0 left -> the rest waits for tomorrow/);
});

test.serial("database: an exchange with more than the setting's share of its assets quarantined fails", async (t) => {
  const today = addDays(sim.lastTradingDay(), 1);
  const base = { url: tdb.url, now: new Date(`${today}T00:00:00Z`), maxDaysBehind: 2, stalledMinutes: 30 };
  // Quarantine 2% of XETRA's priced assets (the alert is above 1%).
  const ids = (
    await tdb.pool.query<{ id: string; priced: number }>(
      `WITH x AS (SELECT a.id FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
                   WHERE a.exchange = 'XETRA' AND a.is_active AND s.prices_loaded ORDER BY a.id)
       SELECT id, (SELECT count(*) FROM x)::int AS priced FROM x`,
    )
  ).rows;
  const n = Math.ceil(ids[0]!.priced * 0.02);
  await tdb.pool.query(
    `INSERT INTO price_quality_findings (asset_id, date, check_name, severity, detail)
     SELECT unnest($1::bigint[]), $2::date, 'unit_slip', 'error', 'a test bad tick'`,
    [ids.slice(0, n).map((r) => r.id), sim.lastTradingDay()],
  );
  t.teardown(() => tdb.pool.query(`DELETE FROM price_quality_findings`));
  const failed = failing(await databaseChecks(tdb.pool, base));
  t.is(failed.length, 1);
  t.regex(
    failed[0]!,
    /^quarantine XETRA: \d+ of \d+ priced assets have a quarantined bar .* -> look at the data-quality section/,
  );
});

test.serial('database: a database without the migrations says which to apply', async (t) => {
  const empty = await createTestDb({ migrate: false });
  t.teardown(() => empty.drop());
  const checks = await databaseChecks(empty.pool, {
    url: empty.url,
    now: new Date('2026-11-20T21:30:00Z'),
    maxDaysBehind: 2,
    stalledMinutes: 30,
  });
  t.regex(failing(checks)[0]!, /^migrations: \d+ not applied \(001_domain.sql, .* -> run the migration Job/);
});

test.serial(
  'npm run health: exit 0 when healthy, 1 with a problem, 2 for a bad option; one line per check',
  async (t) => {
    const cli = path.resolve('dist/shared/observe/health-cli.js');
    const run = async (args: string[], env: Record<string, string>) => {
      try {
        const r = await promisify(execFile)(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
        return { code: 0, out: r.stdout + r.stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, out: e.stdout + e.stderr };
      }
    };
    const env = { DATABASE_URL: tdb.url, SECRETS_DIR: '/nonexistent', KUBECONFIG: '' };
    // The machine's date is not the simulator's: allow the lag between them.
    const lag = String(Math.ceil((Date.now() - Date.parse(sim.lastTradingDay())) / 86_400_000) + 3);
    const ok = await run(['--no-cluster', '--max-days-behind', lag], env);
    t.is(ok.code, 0, ok.out);
    t.regex(ok.out, /^ok {3}migrations: all applied$/m);
    t.regex(ok.out, /^healthy$/m);
    const bad = await run(['--no-cluster', '--max-days-behind', lag], {
      ...env,
      DATABASE_URL: 'postgres://x:y@127.0.0.1:1/z',
    });
    t.is(bad.code, 1);
    t.regex(bad.out, /^FAIL database: nothing answers at 127\.0\.0\.1:1/m);
    t.is((await run(['--max-days-behind', 'many'], env)).code, 2);
    t.is((await run(['--frobnicate'], env)).code, 2);
  },
);
