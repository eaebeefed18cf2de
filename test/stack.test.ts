/**
 * stack.yml: faas-cli's stack format (the zod schema in dev/gateway/stack.ts, every key of
 * faas-cli's own), then what this pipeline needs of it: its functions and handlers, the two
 * cron schedules, secrets, timeouts the gateway lets through, and sizes for Raspberry Pis.
 */

import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { z } from 'zod';
import { goDuration, loadYaml, StackFile } from '../dev/gateway/stack.js';
import { OPERATOR_SECRETS } from '../shared/platform/operator.js';

const root = process.cwd();
const stack = loadYaml(path.join(root, 'stack.yml'), StackFile);
const fns = stack.functions;
const env = (name: string) => fns[name]?.environment ?? {};

/** Function name -> handler folder under functions/ (resume-runs is init-execution deployed again). */
const HANDLERS: Record<string, string> = {
  'init-execution': 'init-execution',
  'resume-runs': 'init-execution',
  'discover-delta': 'discover-delta',
  'check-quota': 'check-quota',
  'collect-region': 'collect-region',
  finalize: 'finalize',
  'calc-indicators': 'calc-indicators',
  status: 'status',
  screen: 'screen',
};
/** The function that only reads: a login of screener_readers (sql/029). */
const READ_ONLY = 'screen';
const CALLS_THE_API = ['discover-delta', 'check-quota', 'collect-region', 'resume-runs'];
/** The functions whose POST writes what an operator asks (shared/platform/operator.ts checks the credential). */
const TAKES_OPERATOR_ACTIONS = ['status'];
const LONG_STEPS = ['collect-region', 'calc-indicators'];
const VERSION = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** Kubernetes quantities: 512Mi, 1Gi, 500M; 250m, 1. */
function memoryBytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(q);
  if (!m) throw new Error(`memory "${q}" is not a Kubernetes quantity`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}
function cpuMillis(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(q);
  if (!m) throw new Error(`cpu "${q}" is not a Kubernetes quantity`);
  return m[2] ? Number(m[1]) : Number(m[1]) * 1000;
}

test('the stack schema refuses what faas-cli would ignore or refuse (self-check)', (t) => {
  const fn = { lang: 'node20-ts', handler: './functions/x', image: 'x' };
  const ok = { version: 1.0, provider: { name: 'openfaas' }, functions: { x: fn } };
  t.true(StackFile.safeParse(ok).success);
  t.false(StackFile.safeParse({ ...ok, functions: { x: { ...fn, enviroment: {} } } }).success, 'misspelt key');
  t.false(StackFile.safeParse({ ...ok, functions: { X_1: fn } }).success, 'not a DNS label');
  t.false(StackFile.safeParse({ ...ok, provider: { name: 'faas' } }).success, 'unknown provider');
});

test('stack.yml: version 1.0, provider openfaas on 127.0.0.1:8080, exactly the pipeline functions', (t) => {
  t.is(String(stack.version), '1');
  t.deepEqual(stack.provider, { name: 'openfaas', gateway: 'http://127.0.0.1:8080' });
  t.deepEqual(Object.keys(fns).sort(), Object.keys(HANDLERS).sort());
  t.true(Object.keys(fns).length <= 15, 'OpenFaaS CE serves at most 15 functions');
});

test('each function: the node20-ts template, its handler folder, its image, HANDLER_FOLDER for the Dockerfile', (t) => {
  for (const [name, fn] of Object.entries(fns)) {
    const folder = HANDLERS[name];
    t.is(fn.lang, 'node20-ts', name);
    t.is(fn.handler, `./functions/${folder}`, name);
    t.is(
      fn.image,
      `\${REGISTRY:-ghcr.io/financial-screener}/${name}:\${TAG:-${VERSION}}`,
      `${name}: pinned to the release`,
    );
    t.deepEqual(fn.build_args, { HANDLER_FOLDER: folder }, name);
    const files = fs.readdirSync(path.join(root, fn.handler), { withFileTypes: true });
    t.true(
      files.some((f) => f.name === 'handler.ts'),
      `${name}: handler.ts`,
    );
    t.deepEqual(
      files.filter((f) => f.isDirectory()).map((f) => f.name),
      [],
      `${name}: the Dockerfile copies function/*.ts only`,
    );
  }
});

test('configuration.copy brings shared/, sql/ and the build files into every build context', (t) => {
  t.deepEqual(stack.configuration?.copy, ['shared', 'sql', 'package.json', 'package-lock.json', 'tsconfig.json']);
  for (const p of stack.configuration?.copy ?? []) t.true(fs.existsSync(path.join(root, p)), p);
});

test('every function is scraped by Prometheus at :8080/metrics', (t) => {
  for (const [name, fn] of Object.entries(fns)) {
    t.like(
      fn.annotations ?? {},
      {
        'prometheus.io.scrape': 'true',
        'prometheus.io.port': '8080',
        'prometheus.io.path': '/metrics',
      },
      name,
    );
  }
});

test('cron-connector: init-execution after the US close on weekdays, resume-runs every few minutes, nothing else', (t) => {
  t.like(fns['init-execution']?.annotations ?? {}, { topic: 'cron-function', schedule: '30 21 * * 1-5' });
  t.is(fns['resume-runs']?.annotations?.topic, 'cron-function');
  t.regex(fns['resume-runs']?.annotations?.schedule ?? '', /^\*\/\d+ \* \* \* \*$/);
  t.is(env('resume-runs').DEFAULT_MODE, 'resume');
  t.false('DEFAULT_MODE' in env('init-execution'));
  const others = Object.entries(fns).filter(([n]) => n !== 'init-execution' && n !== 'resume-runs');
  for (const [name, fn] of others) t.not(fn.annotations?.topic, 'cron-function', name);
});

test('secrets: database-url everywhere but the screen (its read-only login), eodhd-api-key only where the API is called, the operator credentials only where operators act', (t) => {
  for (const [name, fn] of Object.entries(fns)) {
    if (name === READ_ONLY) continue;
    const expected = [
      'database-url',
      ...(CALLS_THE_API.includes(name) ? ['eodhd-api-key'] : []),
      ...(TAKES_OPERATOR_ACTIONS.includes(name) ? OPERATOR_SECRETS : []),
    ].sort();
    t.deepEqual([...(fn.secrets ?? [])].sort(), expected, name);
    t.false('DATABASE_SECRET' in env(name), `${name} reads database-url`);
  }
  t.deepEqual(fns[READ_ONLY]?.secrets, ['screen-database-url'], 'the screen has its own login and no other secret');
  t.is(env(READ_ONLY).DATABASE_SECRET, 'screen-database-url', 'and reads its URL from it');
});

test('environment: gateway, names, watchdog timeouts (exec <= read/write), heap below the memory limit', (t) => {
  for (const name of Object.keys(fns)) {
    const e = env(name);
    t.is(e.gateway_url, 'http://gateway.openfaas.svc.cluster.local:8080', name);
    t.is(e.write_debug, 'false', name);
    t.is(e.FUNCTION_NAME, name, `${name}: the database connections' application_name`);
    const exec = goDuration(e.exec_timeout ?? '');
    t.true(exec <= goDuration(e.read_timeout ?? '') && exec <= goDuration(e.write_timeout ?? ''), name);
    if (LONG_STEPS.includes(name)) t.true(exec >= 5 * 60_000, `${name} is a long step`);
    else t.true(exec <= 3 * 60_000, `${name} is a short step`);
    const heapMb = Number(/--max-old-space-size=(\d+)/.exec(e.NODE_OPTIONS ?? '')?.[1] ?? 0);
    t.true(heapMb * 1024 ** 2 < memoryBytes(fns[name]?.limits?.memory ?? '0'), `${name}: V8 heap below the limit`);
  }
  const budget = Number(env('collect-region').COLLECT_TIME_BUDGET_MS);
  const exec = goDuration(env('collect-region').exec_timeout ?? '');
  t.true(budget < exec && budget >= exec * 0.75, 'collect-region stops a little before its exec_timeout');
});

test('k8s/helm/openfaas-values.yaml: the gateway, faas-netes and the queue-worker let the longest call through', (t) => {
  const d = z.string().transform(goDuration);
  const values = loadYaml(
    path.join(root, 'k8s', 'helm', 'openfaas-values.yaml'),
    z.object({
      gateway: z.object({ upstreamTimeout: d, readTimeout: d, writeTimeout: d }),
      faasnetes: z.object({ readTimeout: d, writeTimeout: d }),
      queueWorker: z.object({ ackWait: d, maxInflight: z.number() }),
    }),
  );
  const longest = Math.max(...Object.keys(fns).map((n) => goDuration(env(n).exec_timeout ?? '0s')));
  const { gateway, faasnetes, queueWorker } = values;
  t.true(gateway.upstreamTimeout >= longest);
  t.true(gateway.upstreamTimeout < gateway.readTimeout && gateway.upstreamTimeout < gateway.writeTimeout);
  t.true(faasnetes.readTimeout >= gateway.readTimeout && faasnetes.writeTimeout >= gateway.writeTimeout);
  t.true(queueWorker.ackWait > longest, 'a long asynchronous call is not redelivered while it runs');
  t.true(queueWorker.maxInflight >= 4, 'the four collect-region calls run at once');
});

test('scaling, resources and a read-only root filesystem that fit OpenFaaS CE on Raspberry Pi 4 nodes', (t) => {
  for (const [name, fn] of Object.entries(fns)) {
    const min = Number(fn.labels?.['com.openfaas.scale.min']);
    const max = Number(fn.labels?.['com.openfaas.scale.max']);
    t.true(min >= 1 && max >= min && max <= 5, `${name}: scale ${min}..${max}`);
    t.true(fn.readonly_root_filesystem, name);
    const { limits, requests } = fn;
    t.true(memoryBytes(requests?.memory ?? '') <= memoryBytes(limits?.memory ?? ''), `${name}: memory`);
    t.true(cpuMillis(requests?.cpu ?? '') <= cpuMillis(limits?.cpu ?? ''), `${name}: cpu`);
    t.true(memoryBytes(limits?.memory ?? '') <= 1024 ** 3, `${name}: at most 1Gi on a Pi`);
    t.true(cpuMillis(limits?.cpu ?? '') <= 2000, `${name}: at most 2 of a Pi's 4 cores`);
  }
  t.is(fns['collect-region']?.labels?.['com.openfaas.scale.max'], '4', 'one replica per region');
});
