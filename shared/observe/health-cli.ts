/**
 * `npm run health`, and the same check in a container (`node dist/shared/observe/health-cli.js`,
 * e.g. as a CronJob with the function image): prints one line per check and exits 0 only
 * when every one is well, 1 when one is not, 2 for a bad option.
 *
 *   npm run health -- [--no-cluster] [--no-database] [--namespace openfaas-fn]
 *                     [--openfaas-namespace openfaas] [--max-days-behind 2] [--stalled-minutes 30] [--json]
 *
 * The cluster: KUBECONFIG, ~/.kube/config or the pod's service account (it needs get on
 * deployments in both namespaces and on the two secrets). The database: DATABASE_URL or
 * the database-url secret file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { readSecret } from '../platform/config.js';
import { createPool } from '../platform/db.js';
import { type Check, clusterChecks, databaseChecks, formatChecks } from './health.js';

function options() {
  try {
    return parseArgs({
      options: {
        'no-cluster': { type: 'boolean', default: false },
        'no-database': { type: 'boolean', default: false },
        namespace: { type: 'string', default: 'openfaas-fn' },
        'openfaas-namespace': { type: 'string', default: 'openfaas' },
        'max-days-behind': { type: 'string', default: '2' },
        'stalled-minutes': { type: 'string', default: '30' },
        json: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}; see the options at the top of shared/observe/health-cli.ts`);
    process.exit(2);
  }
}

const o = options();
const maxDaysBehind = Number(o['max-days-behind']);
const stalledMinutes = Number(o['stalled-minutes']);
if (!Number.isInteger(maxDaysBehind) || maxDaysBehind < 0 || maxDaysBehind > 60) {
  console.error('--max-days-behind is a whole number of trading days, 0 to 60');
  process.exit(2);
}
if (!Number.isInteger(stalledMinutes) || stalledMinutes < 1 || stalledMinutes > 1440) {
  console.error('--stalled-minutes is a whole number of minutes, 1 to 1440');
  process.exit(2);
}

const checks: Check[] = [];
const notes: string[] = [];
if (!o['no-cluster']) {
  const configured =
    process.env.KUBECONFIG ||
    fs.existsSync(path.join(os.homedir(), '.kube', 'config')) ||
    process.env.KUBERNETES_SERVICE_HOST;
  if (configured) {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    checks.push(
      ...(await clusterChecks(kc, { functionNamespace: o.namespace, openfaasNamespace: o['openfaas-namespace'] })),
    );
  } else {
    notes.push('cluster not checked: no KUBECONFIG, ~/.kube/config or service account (--no-cluster says so)');
  }
}
if (!o['no-database']) {
  const url = readSecret('database-url', 'DATABASE_URL');
  if (!url) {
    checks.push({
      name: 'database',
      ok: false,
      detail: 'no DATABASE_URL',
      fix: 'set DATABASE_URL or mount the database-url secret',
    });
  } else {
    const pool = createPool(url, 2);
    try {
      checks.push(...(await databaseChecks(pool, { url, now: new Date(), maxDaysBehind, stalledMinutes })));
    } finally {
      await pool.end();
    }
  }
}
const healthy = checks.every((c) => c.ok);
if (o.json) console.log(JSON.stringify({ healthy, checks, notes }, null, 2));
else {
  for (const n of notes) console.log(`note ${n}`);
  console.log(formatChecks(checks));
  console.log(healthy ? 'healthy' : `${checks.filter((c) => !c.ok).length} problem(s)`);
}
process.exit(healthy ? 0 : 1);
