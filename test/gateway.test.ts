/**
 * The local gateway speaks the OpenFaaS gateway's API (every answer checked against its
 * OpenAPI document), serves exactly stack.yml's functions with basic auth on /system/*,
 * streams each function's logs, keeps the browser and the network out, bounds bodies at
 * the door, and runs the whole chain with every function in its own process, triggered
 * as the cron-connector does.
 */

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { request } from 'undici';
import { gatewayCredentials } from '../dev/gateway/auth.js';
import { readStack } from '../dev/gateway/stack.js';
import { type LocalStack, startLocalStack } from '../dev/local-stack.js';
import { summarise, waitForChain } from '../dev/run-report.js';
import { createTestDb, rowCounts, type TestDb } from './helpers/db.js';
import { documentedStatuses, GATEWAY_OPENAPI, operationResponseSchema, validate } from './helpers/openapi.js';
import { postWholeBody } from './helpers/whole-body.js';

let tdb: TestDb;
let stack: LocalStack;
let dataDir: string;
let auth: string;
const logs: string[] = [];

test.before(async () => {
  tdb = await createTestDb();
  process.env.DATABASE_URL = tdb.url;
  delete process.env.EODHD_API_KEY;
  delete process.env.OPENFAAS_PASSWORD;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'screener-gw-'));
  stack = await startLocalStack({
    dataDir,
    functionLog: 'file',
    simulator: { universe: 'sample', today: '2026-11-20', perMinuteLimit: 100_000 },
  });
  auth = `Basic ${Buffer.from(`admin:${stack.gateway.credentials.password}`).toString('base64')}`;
  await tdb.pool.query(`UPDATE pipeline_settings SET value = '60000' WHERE key = 'eodhd_requests_per_minute'`);
});
test.after.always(async () => {
  if (stack) {
    if (stack.logFile && fs.existsSync(stack.logFile)) logs.push(...fs.readFileSync(stack.logFile, 'utf8').split('\n'));
    await stack.close();
  }
  await tdb?.drop();
});

interface Answer {
  status: number;
  type: string;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}
async function call(
  method: string,
  p: string,
  o: { body?: string | Buffer; headers?: Record<string, string>; auth?: boolean } = {},
): Promise<Answer> {
  const res = await request(`${stack.gateway.url}${p}`, {
    method: method as 'GET',
    body: o.body,
    headers: { ...(o.auth === false ? {} : { authorization: auth }), ...(o.headers ?? {}) },
  });
  return {
    status: res.statusCode,
    type: String(res.headers['content-type'] ?? ''),
    text: await res.body.text(),
    headers: res.headers,
  };
}

/** The answer's status is one the API document lists for the operation, and its JSON body fits the schema. */
function conforms(t: import('ava').ExecutionContext, route: string, method: string, a: Answer): void {
  const statuses = documentedStatuses(GATEWAY_OPENAPI, route, method);
  t.true(statuses.includes(String(a.status)), `${method} ${route}: ${a.status} is documented (${statuses.join(', ')})`);
  if (a.status >= 300 || !a.type.includes('json')) return;
  const schema = operationResponseSchema(GATEWAY_OPENAPI, route, method, String(a.status));
  if (a.type.includes('ndjson')) {
    for (const line of a.text.split('\n').filter(Boolean))
      t.deepEqual(validate(schema, JSON.parse(line)), [], `${route}: ${line.slice(0, 80)}`);
  } else {
    t.deepEqual(validate(schema, JSON.parse(a.text)), [], `${method} ${route}`);
  }
}

test.serial("every answer of the gateway API fits the OpenFaaS gateway's OpenAPI document", async (t) => {
  conforms(t, '/healthz', 'get', await call('GET', '/healthz', { auth: false }));
  conforms(t, '/system/info', 'get', await call('GET', '/system/info'));
  const ns = await call('GET', '/system/namespaces');
  conforms(t, '/system/namespaces', 'get', ns);
  t.deepEqual(JSON.parse(ns.text), ['openfaas-fn']);
  conforms(t, '/system/functions', 'get', await call('GET', '/system/functions'));
  conforms(
    t,
    '/system/function/{functionName}',
    'get',
    await call('GET', '/system/function/check-quota?namespace=openfaas-fn'),
  );
  conforms(t, '/system/function/{functionName}', 'get', await call('GET', '/system/function/nope'));
  const logLines = await call('GET', '/system/logs?name=init-execution&follow=false&tail=5');
  t.regex(logLines.type, /application\/x-ndjson/);
  t.true(logLines.text.split('\n').filter(Boolean).length >= 1);
  conforms(t, '/system/logs', 'get', logLines);
  conforms(t, '/system/logs', 'get', await call('GET', '/system/logs?name=nope'));
  conforms(
    t,
    '/async-function/{functionName}',
    'post',
    await call('POST', '/async-function/finalize', {
      body: '{"executionId": 42424}',
      headers: { 'content-type': 'application/json' },
    }),
  );
  conforms(t, '/async-function/{functionName}', 'post', await call('POST', '/async-function/nope', { body: '{}' }));
  conforms(
    t,
    '/async-function/{functionName}.{namespace}',
    'post',
    await call('POST', '/async-function/finalize.other-ns', { body: '{}' }),
  );
  conforms(t, '/function/{functionName}', 'post', await call('POST', '/function/nope', { body: '{}' }));
  conforms(
    t,
    '/function/{functionName}.{namespace}',
    'post',
    await call('POST', '/function/finalize.kube-system', { body: '{}' }),
  );
  await stack.gateway.idle();
});

test.serial(
  '/system/functions is stack.yml: every function, resume-runs included, with its image, labels, annotations, secrets and limits',
  async (t) => {
    const stackFns = readStack('stack.yml');
    const listed = JSON.parse((await call('GET', '/system/functions')).text) as Array<Record<string, unknown>>;
    t.deepEqual(listed.map((f) => f.name).sort(), stackFns.map((f) => f.name).sort());
    t.true(listed.some((f) => f.name === 'resume-runs'));
    for (const spec of stackFns) {
      const f = listed.find((x) => x.name === spec.name)!;
      t.like(f, {
        image: spec.image,
        namespace: 'openfaas-fn',
        labels: spec.labels,
        annotations: spec.annotations,
        secrets: spec.secrets,
        replicas: 1,
        availableReplicas: 1,
      });
      t.deepEqual(f.limits, spec.limits);
      t.is(typeof f.invocationCount, 'number');
    }
    const init = listed.find((f) => f.name === 'init-execution')!;
    t.like(init.annotations as object, { topic: 'cron-function', schedule: '30 21 * * 1-5' });
    // resume-runs is served: the cron-connector invokes it by that name.
    const resume = await call('POST', '/function/resume-runs', { body: '', auth: false });
    t.is(resume.status, 200, resume.text);
    t.is(JSON.parse(resume.text).mode, 'resume');
  },
);

test.serial(
  'basic auth on /system/*, as faas-cli login expects it; the password is kept beside the data',
  async (t) => {
    const none = await call('GET', '/system/functions', { auth: false });
    t.is(none.status, 401);
    t.regex(String(none.headers['www-authenticate']), /^Basic/);
    t.regex(none.text, /faas-cli login/);
    const wrong = await call('GET', '/system/functions', {
      auth: false,
      headers: { authorization: `Basic ${Buffer.from('admin:guess').toString('base64')}` },
    });
    t.is(wrong.status, 401);
    t.is((await call('GET', '/system/functions')).status, 200);
    // The functions themselves need no credentials (OpenFaaS CE).
    t.is(
      (
        await call('POST', '/function/finalize', {
          body: '{}',
          headers: { 'content-type': 'application/json' },
          auth: false,
        })
      ).status,
      400,
    );
    const file = path.join(dataDir, 'gateway', 'basic-auth-password');
    t.is(fs.readFileSync(file, 'utf8'), stack.gateway.credentials.password);
    t.is(fs.statSync(file).mode & 0o777, 0o600);
    const again = gatewayCredentials(path.join(dataDir, 'gateway'));
    t.like(again, { user: 'admin', password: stack.gateway.credentials.password, generated: false });
  },
);

test.serial(
  "/system/logs: each process's lines with its instance, by tail and since, and followed as they come",
  async (t) => {
    const all = (await call('GET', '/system/logs?name=finalize&follow=false')).text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { instance: string; timestamp: string; text: string; name: string });
    t.true(all.length >= 1);
    t.true(
      all.every((e) => e.name === 'finalize' && e.instance === `finalize-${stack.gateway.processOf('finalize')!.pid}`),
    );
    t.true(all.some((e) => e.text.includes('function_listening')));
    const tail1 = (await call('GET', '/system/logs?name=finalize&follow=false&tail=1')).text
      .split('\n')
      .filter(Boolean);
    t.is(tail1.length, 1);
    const future = (
      await call(
        'GET',
        `/system/logs?name=finalize&follow=false&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
      )
    ).text;
    t.is(future, '');
    // follow: a new line (the function's answer to a call) arrives on the open stream.
    const since = new Date().toISOString();
    const res = await request(
      `${stack.gateway.url}/system/logs?name=init-execution&follow=true&since=${encodeURIComponent(since)}`,
      { headers: { authorization: auth } },
    );
    t.is(res.statusCode, 200);
    let got = '';
    const seen = new Promise<void>((resolve) => {
      res.body.on('data', (c: Buffer) => {
        got += c.toString();
        if (got.includes('run_given_up') || got.includes('"mode"') || got.includes('\n')) resolve();
      });
    });
    await call('POST', '/function/init-execution', {
      body: '{"mode":"resume","staleSeconds":86400}',
      headers: { 'content-type': 'application/json' },
      auth: false,
    });
    // init-execution logs nothing for an idle resume; the stack's own line is enough: ask a step that logs.
    await call('POST', '/function/init-execution', {
      body: '{"mode":"bulk","dryRun":true,"exchanges":["SW"],"asOf":"2026-11-20"}',
      headers: { 'content-type': 'application/json' },
      auth: false,
    });
    await Promise.race([
      seen,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no line followed in 60 s')), 60_000)),
    ]);
    res.body.destroy();
    const line = JSON.parse(got.split('\n')[0]!) as { name: string; text: string };
    t.is(line.name, 'init-execution');
    await stack.gateway.idle();
    await waitForAll();
  },
);

/** Waits until no run is running (the dry run above finishes its chain). */
async function waitForAll(): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = (await tdb.pool.query(`SELECT count(*)::int AS n FROM process_executions WHERE status = 'running'`))
      .rows[0] as { n: number };
    if (r.n === 0) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('a run is still running after 60 s');
}

test.serial(
  'the browser and the network stay out: a foreign Origin, a text/plain body, a callback elsewhere are refused and write nothing',
  async (t) => {
    const before = await rowCounts(tdb.pool);
    const origin = await call('POST', '/function/init-execution', {
      body: '{}',
      headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
      auth: false,
    });
    t.is(origin.status, 403);
    t.regex(JSON.parse(origin.text).reason, /web pages/);
    const crossSite = await call('POST', '/function/init-execution', {
      body: '',
      headers: { 'sec-fetch-site': 'cross-site' },
      auth: false,
    });
    t.is(crossSite.status, 403);
    const plain = await call('POST', '/function/init-execution', {
      body: '{}',
      headers: { 'content-type': 'text/plain' },
      auth: false,
    });
    t.is(plain.status, 415);
    t.regex(JSON.parse(plain.text).reason, /application\/json/);
    const form = await call('POST', '/function/init-execution', {
      body: 'mode=auto',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      auth: false,
    });
    t.is(form.status, 415);
    const asyncBefore = stack.gateway.stats().asyncCalls;
    const elsewhere = await call('POST', '/async-function/init-execution', {
      body: '{}',
      headers: { 'content-type': 'application/json', 'x-callback-url': 'http://169.254.169.254/latest/meta-data' },
      auth: false,
    });
    t.is(elsewhere.status, 400);
    t.regex(JSON.parse(elsewhere.text).reason, /X-Callback-Url/);
    t.is(stack.gateway.stats().asyncCalls, asyncBefore, 'not queued');
    // The gateway's own origin is fine (a page it served, were there one).
    const own = await call('GET', '/healthz', { headers: { origin: stack.gateway.url }, auth: false });
    t.is(own.status, 200);
    await stack.gateway.idle();
    t.deepEqual(await rowCounts(tdb.pool), before);
  },
);

/** A raw request, so that Expect and chunked bodies are sent as written. */
function raw(
  p: string,
  headers: Record<string, string>,
  send: (req: http.ClientRequest) => void,
): Promise<{ status: number; body: string; continued: boolean }> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${stack.gateway.url}${p}`);
    let continued = false;
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers });
    req.on('continue', () => {
      continued = true;
      send(req);
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, continued }));
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    if (!headers.expect) send(req);
  });
}

test.serial(
  'bodies: Expect: 100-continue, a limit enforced while the body streams, the same limit for sync and async',
  async (t) => {
    const big = Buffer.alloc(2_000_000, 'a');
    // Expect: 100-continue with a body over the limit: refused before the body is sent.
    const expect = await raw(
      '/function/finalize',
      { 'content-type': 'application/json', 'content-length': String(big.length), expect: '100-continue' },
      (r) => r.end(big),
    );
    t.is(expect.status, 413);
    t.false(expect.continued, 'no 100 Continue: the body was never sent');
    t.regex(JSON.parse(expect.body).reason, /limit is 262144/);
    // Expect: 100-continue with a small body: continued and answered by the function.
    const small = await raw(
      '/function/finalize',
      { 'content-type': 'application/json', 'content-length': '2', expect: '100-continue' },
      (r) => r.end('{}'),
    );
    t.true(small.continued);
    t.is(small.status, 400);
    // A chunked body (no length announced) that grows past the limit: 413 as soon as it does.
    const chunked = await raw(
      '/function/finalize',
      { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      (r) => {
        let sent = 0;
        const more = () => {
          while (sent < 4_000_000 && r.write(Buffer.alloc(65_536, 'b'))) sent += 65_536;
          if (sent < 4_000_000)
            r.once('drain', () => {
              sent += 65_536;
              more();
            });
          else r.end();
        };
        more();
      },
    );
    t.is(chunked.status, 413);
    // Async: the same limit, refused at the door instead of accepted and lost.
    const before = stack.gateway.stats().asyncCalls;
    const asyncBig = await call('POST', '/async-function/finalize', {
      body: big,
      headers: { 'content-type': 'application/json' },
      auth: false,
    });
    t.is(asyncBig.status, 413);
    t.is(stack.gateway.stats().asyncCalls, before);
  },
);

test.serial(
  'a body over the limit sent whole, without Expect: the client reads the 413 and its reason, not a reset',
  async (t) => {
    // 4.4 MB, as the chaos suite's hostile bodies: the door answers, reads the rest into nothing, then closes.
    for (const route of ['/function/finalize', '/async-function/finalize']) {
      const r = await postWholeBody(`${stack.gateway.url}${route}`, 4_400_000);
      t.is(r.status, 413, route);
      t.regex(JSON.parse(r.body).reason, /limit is 262144/, route);
    }
  },
);

test.serial(
  'async calls answer 202 with X-Call-Id, keep a given one, and POST the result to X-Callback-Url',
  async (t) => {
    const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    const cb = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.end();
      });
    });
    await new Promise<void>((r) => cb.listen(0, '127.0.0.1', r));
    const port = (cb.address() as { port: number }).port;
    const res = await request(`${stack.gateway.url}/async-function/finalize`, {
      method: 'POST',
      body: '{"executionId": "nope"}',
      headers: {
        'content-type': 'application/json',
        'x-call-id': 'my-call-1',
        'x-callback-url': `http://127.0.0.1:${port}/cb`,
      },
    });
    await res.body.dump();
    t.is(res.statusCode, 202);
    t.is(res.headers['x-call-id'], 'my-call-1');
    await stack.gateway.idle();
    for (let i = 0; i < 500 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    cb.close();
    t.is(got.length, 1);
    t.is(got[0]!.headers['x-function-status'], '400');
    t.is(got[0]!.headers['x-function-name'], 'finalize');
    t.is(got[0]!.headers['x-call-id'], 'my-call-1');
    t.regex(JSON.parse(got[0]!.body).reason, /executionId/);
    const anon = await request(`${stack.gateway.url}/async-function/finalize`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    await anon.body.dump();
    t.truthy(anon.headers['x-call-id']);
    await stack.gateway.idle();
  },
);

test.serial(
  'unknown functions are 404; namespaced names resolve; sync calls return the function status and JSON',
  async (t) => {
    const r404 = await request(`${stack.gateway.url}/function/nope`, { method: 'POST', body: '{}' });
    t.is(r404.statusCode, 404);
    await r404.body.dump();
    const bad = await request(`${stack.gateway.url}/function/collect-region.openfaas-fn`, {
      method: 'POST',
      body: '{"executionId":1,"region":"mars"}',
      headers: { 'content-type': 'application/json' },
    });
    t.is(bad.statusCode, 400);
    t.regex(String(bad.headers['content-type']), /application\/json/);
    t.regex(((await bad.body.json()) as { reason: string }).reason, /region must be one of us, lse, german, european/);
  },
);

test.serial('the chain runs end to end through the gateway, triggered like the cron-connector', async (t) => {
  await waitForAll();
  const res = await request(`${stack.gateway.url}/function/init-execution`, {
    method: 'POST',
    body: '',
    headers: { 'x-topic': 'cron-function', 'x-connector': 'cron-connector', 'x-call-id': 'cron-1' },
  });
  t.is(res.statusCode, 202);
  const { executionId } = (await res.body.json()) as { executionId: number };
  const second = await request(`${stack.gateway.url}/function/init-execution`, {
    method: 'POST',
    body: '{}',
    headers: { 'content-type': 'application/json' },
  });
  t.is(second.statusCode, 409);
  t.is(((await second.body.json()) as { executionId: number }).executionId, executionId);
  try {
    await waitForChain(tdb.pool, executionId, 180_000);
  } catch (err) {
    t.log(fs.readFileSync(stack.logFile!, 'utf8').split('\n').slice(-40).join('\n'));
    t.log(
      (
        await tdb.pool.query(
          'SELECT step, shard, status, attempts, error_message FROM pipeline_steps WHERE execution_id = $1',
          [executionId],
        )
      ).rows,
    );
    throw err;
  }
  await stack.gateway.idle();
  const s = await summarise(tdb.pool, executionId);
  t.is(s.status, 'success');
  t.is(s.totals.failed, 0);
  const symbols = stack.simulator!.symbols();
  const noDocument = symbols.filter((x) => !stack.simulator!.hasFundamentals(x)).length;
  t.is(
    s.totals.processed,
    2 * symbols.length - noDocument,
    'history and fundamentals of every asset (warrants have no document)',
  );
  t.is(s.totals.skipped, noDocument);
  // The summary counts assets and work items under their own names; every call is somewhere.
  t.deepEqual(s.regions.map((r) => r.region).sort(), ['european', 'german', 'lse', 'us']);
  t.is(
    s.regions.reduce((n, r) => n + r.assets, 0),
    symbols.length,
  );
  t.is(
    s.regions.reduce((n, r) => n + r.workItems, 0),
    2 * symbols.length,
  );
  t.is(s.regions.reduce((n, r) => n + r.apiCalls, 0) + s.callsOutsideRegions, s.totals.apiCalls);
  for (const step of s.steps) t.true(step.status !== 'done' || step.seconds !== null, `${step.step}: timed`);
  t.truthy(s.indicators && s.indicators.status === 'success' && s.indicators.calculated > 0);
  const trigger = (
    await tdb.pool.query('SELECT trigger_kind, call_id FROM process_executions WHERE execution_id = $1', [executionId])
  ).rows[0];
  t.deepEqual(trigger, { trigger_kind: 'cron', call_id: 'cron-1' });
  // invocationCount counts what the gateway delivered.
  const fns = JSON.parse((await call('GET', '/system/functions')).text) as Array<{
    name: string;
    invocationCount: number;
  }>;
  t.true(fns.find((f) => f.name === 'collect-region')!.invocationCount >= 4);
});

test.serial('logs are one JSON object per line and never carry the API key', (t) => {
  const text = fs.readFileSync(stack.logFile!, 'utf8');
  const lines = text.split('\n').filter((l) => l.trim());
  t.true(lines.length > 10);
  for (const l of lines) t.notThrows(() => JSON.parse(l), l.slice(0, 200));
  t.false(text.includes('sim-demo-key'));
});
