/**
 * The Knative variant (k8s/knative/): what is committed is what stack.yml generates, every
 * object fits Knative's schemas, the references resolve, and the chain's calls become the
 * CloudEvents the Triggers route.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Broker } from '@kubernetes-models/knative/eventing.knative.dev/v1/Broker';
import { Trigger } from '@kubernetes-models/knative/eventing.knative.dev/v1/Trigger';
import { Service } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { PingSource } from '@kubernetes-models/knative/sources.knative.dev/v1/PingSource';
import test from 'ava';
import { parseAllDocuments } from 'yaml';
import { readStack } from '../dev/gateway/stack.js';
import { BROKER_URL, knativeFiles } from '../dev/knative.js';
import { FUNCTION_NAMES, invokeAsync } from '../shared/platform/invoke.js';
import { callIdOf, triggerKindOf } from '../shared/platform/trigger.js';
import './helpers/quiet-logs.js';

const dir = path.resolve('k8s', 'knative');
const MODELS = { Service, PingSource, Broker, Trigger };
type Doc = { kind: keyof typeof MODELS; metadata: { name: string; namespace: string } } & Record<string, unknown>;

function docs(file: string): Doc[] {
  return parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8')).map((d) => d.toJS() as Doc);
}

test('k8s/knative/ is what npm run knative generates from stack.yml', (t) => {
  const files = knativeFiles();
  t.deepEqual(fs.readdirSync(dir).sort(), Object.keys(files).sort());
  for (const [name, text] of Object.entries(files))
    t.is(fs.readFileSync(path.join(dir, name), 'utf8'), text, `k8s/knative/${name} is out of date: npm run knative`);
});

test("every object fits Knative's schema for its kind", (t) => {
  for (const file of fs.readdirSync(dir)) {
    for (const d of docs(file)) {
      const M = MODELS[d.kind];
      t.truthy(M, `${file}: ${d.kind}`);
      // biome-ignore lint/suspicious/noExplicitAny: each model class takes its own kind's object
      t.notThrows(() => new M(d as any).validate(), `${file}: ${d.kind} ${d.metadata.name}`);
    }
  }
  t.throws(() =>
    new PingSource({ metadata: { name: 'x' }, spec: { schedule: 5 } } as unknown as PingSource).validate(),
  );
});

test('a Service per function with its image, environment, secrets, scale and timeout; schedules and triggers resolve', (t) => {
  const fns = readStack('stack.yml');
  const services = docs('services.yaml') as unknown as Service[];
  t.deepEqual(services.map((s) => s.metadata?.name).sort(), fns.map((f) => f.name).sort());
  for (const f of fns) {
    const s = services.find((x) => x.metadata?.name === f.name)!;
    const tpl = s.spec!.template!;
    const c = tpl.spec!.containers[0]!;
    t.is(c.image, f.image, f.name);
    t.is(tpl.spec?.timeoutSeconds, f.execTimeoutMs / 1000, `${f.name}: timeout`);
    t.true((tpl.spec?.timeoutSeconds ?? 0) <= 600, "within Knative's default max-revision-timeout-seconds");
    t.is(tpl.metadata?.annotations?.['autoscaling.knative.dev/max-scale'], f.labels['com.openfaas.scale.max']);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    t.is(env.FUNCTION_NAME, f.name);
    t.is(env.BROKER_URL, BROKER_URL);
    t.is(env.gateway_url, undefined, 'no OpenFaaS gateway on Knative');
    const projected = tpl.spec?.volumes?.find((v) => v.name === 'secrets')?.projected?.sources ?? [];
    t.deepEqual(projected.map((p) => p.secret?.name).sort(), [...f.secrets].sort(), `${f.name}: secrets as files`);
    t.true(c.securityContext?.readOnlyRootFilesystem);
  }
  const names = new Set(services.map((s) => s.metadata?.name));
  const pings = docs('schedules.yaml') as unknown as PingSource[];
  t.deepEqual(
    pings.map((p) => [p.spec?.sink?.ref?.name, p.spec?.schedule]),
    fns.filter((f) => f.schedule).map((f) => [f.name, f.schedule]),
  );
  const triggers = (docs('broker.yaml') as unknown as Trigger[]).filter((d) => d.kind === 'Trigger');
  t.deepEqual(
    triggers.map((x) => [(x.spec?.filter?.attributes as Record<string, string>)?.type, x.spec?.subscriber?.ref?.name]),
    FUNCTION_NAMES.map((fn) => [`screener.invoke.${fn}`, fn]),
  );
  for (const x of triggers) t.true(names.has(x.spec?.subscriber?.ref?.name ?? ''));
  const brokerDoc = docs('broker.yaml').find((d) => d.kind === 'Broker')!;
  t.true(BROKER_URL.endsWith(`/${brokerDoc.metadata.namespace}/${brokerDoc.metadata.name}`));
});

test('with BROKER_URL the chain posts a CloudEvent the Trigger of the next step matches; its id is the call id', async (t) => {
  const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  process.env.BROKER_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/openfaas-fn/screener`;
  t.teardown(() => {
    delete process.env.BROKER_URL;
  });
  await invokeAsync('check-quota', { executionId: 7 }, 'call-123');
  t.is(got.length, 1);
  const h = got[0]!.headers;
  t.like(h, { 'ce-specversion': '1.0', 'ce-type': 'screener.invoke.check-quota', 'ce-id': 'call-123' });
  t.is(got[0]!.body, '{"executionId":7}');
  // What the receiving function makes of it, and of a PingSource's event.
  const event = (headers: Record<string, string>) => ({
    body: Buffer.alloc(0),
    headers,
    method: 'POST',
    query: {},
    path: '/',
  });
  t.is(callIdOf(event({ 'ce-id': 'call-123' })), 'call-123');
  t.is(triggerKindOf(event({ 'ce-type': 'dev.knative.sources.ping' })), 'cron');
  t.is(triggerKindOf(event({ 'ce-type': 'screener.invoke.check-quota' })), 'manual');
});
