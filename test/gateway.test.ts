/**
 * The local gateway speaks OpenFaaS's HTTP contract, and the whole chain runs through it
 * with every function in its own process, triggered as the cron-connector does.
 */
import test from 'ava';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { request } from 'undici';
import { startLocalStack, type LocalStack } from '../dev/local-stack.js';
import { summarise, waitForChain } from '../dev/run-report.js';
import { createTestDb, type TestDb } from './helpers/db.js';

let tdb: TestDb;
let stack: LocalStack;
const logs: string[] = [];

test.before(async () => {
  tdb = await createTestDb();
  process.env.DATABASE_URL = tdb.url;
  delete process.env.EODHD_API_KEY;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'screener-gw-'));
  stack = await startLocalStack({
    dataDir, functionLog: 'file',
    simulator: { universe: 'sample', today: '2026-11-20', perMinuteLimit: 100_000 },
  });
  await tdb.pool.query(`UPDATE pipeline_settings SET value = '60000' WHERE key = 'eodhd_requests_per_minute'`);
});
test.after.always(async () => {
  if (stack) {
    if (stack.logFile && fs.existsSync(stack.logFile)) logs.push(...fs.readFileSync(stack.logFile, 'utf8').split('\n'));
    await stack.close();
  }
  await tdb?.drop();
});

test.serial('async calls answer 202 with X-Call-Id, keep a given one, and POST the result to X-Callback-Url', async (t) => {
  const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const cb = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => { got.push({ headers: req.headers, body }); res.end(); });
  });
  await new Promise<void>((r) => cb.listen(0, '127.0.0.1', r));
  const port = (cb.address() as { port: number }).port;
  const res = await request(`${stack.gateway.url}/async-function/finalize`, {
    method: 'POST', body: '{"executionId": "nope"}',
    headers: { 'x-call-id': 'my-call-1', 'x-callback-url': `http://127.0.0.1:${port}/cb` },
  });
  await res.body.dump();
  t.is(res.statusCode, 202);
  t.is(res.headers['x-call-id'], 'my-call-1');
  await stack.gateway.idle();
  for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  cb.close();
  t.is(got.length, 1);
  t.is(got[0]!.headers['x-function-status'], '400');
  t.is(got[0]!.headers['x-function-name'], 'finalize');
  t.is(got[0]!.headers['x-call-id'], 'my-call-1');
  t.regex(JSON.parse(got[0]!.body).reason, /executionId/);
  const anon = await request(`${stack.gateway.url}/async-function/finalize`, { method: 'POST', body: '{}' });
  await anon.body.dump();
  t.truthy(anon.headers['x-call-id']);
});

test.serial('unknown functions are 404; namespaced names resolve; sync calls return the function status and JSON', async (t) => {
  const r404 = await request(`${stack.gateway.url}/function/nope`, { method: 'POST', body: '{}' });
  t.is(r404.statusCode, 404);
  await r404.body.dump();
  const bad = await request(`${stack.gateway.url}/function/collect-region.openfaas-fn`, { method: 'POST', body: '{"executionId":1,"region":"mars"}' });
  t.is(bad.statusCode, 400);
  t.regex(String(bad.headers['content-type']), /application\/json/);
  t.regex(((await bad.body.json()) as { reason: string }).reason, /region must be one of us, lse, german, european/);
  const list = await request(`${stack.gateway.url}/system/functions`);
  t.is(((await list.body.json()) as unknown[]).length, 6);
});

test.serial('the chain runs end to end through the gateway, triggered like the cron-connector', async (t) => {
  const res = await request(`${stack.gateway.url}/function/init-execution`, {
    method: 'POST', body: '', headers: { 'x-topic': 'cron-function', 'x-connector': 'cron-connector', 'x-call-id': 'cron-1' },
  });
  t.is(res.statusCode, 202);
  const { executionId } = (await res.body.json()) as { executionId: number };
  const second = await request(`${stack.gateway.url}/function/init-execution`, { method: 'POST', body: '{}' });
  t.is(second.statusCode, 409);
  t.is(((await second.body.json()) as { executionId: number }).executionId, executionId);
  try {
    await waitForChain(tdb.pool, executionId, 120_000);
  } catch (err) {
    t.log(fs.readFileSync(stack.logFile!, 'utf8').split('\n').slice(-40).join('\n'));
    t.log((await tdb.pool.query('SELECT step, shard, status, attempts, error_message FROM pipeline_steps WHERE execution_id = $1', [executionId])).rows);
    throw err;
  }
  await stack.gateway.idle();
  const s = await summarise(tdb.pool, executionId);
  t.is(s.status, 'success');
  t.is(s.totals.failed, 0);
  const symbols = stack.simulator!.symbols();
  const noDocument = symbols.filter((x) => !stack.simulator!.hasFundamentals(x)).length;
  t.is(s.totals.processed, 2 * symbols.length - noDocument, 'history and fundamentals of every asset (warrants have no document)');
  t.is(s.totals.skipped, noDocument);
  t.deepEqual(s.regions.map((r) => r.region).filter((r) => r !== 'account').sort(), ['european', 'german', 'lse', 'us']);
  t.truthy(s.indicators && s.indicators.status === 'success' && s.indicators.calculated > 0);
  t.is(s.totals.apiCalls, stack.simulator!.usage().calls);
  const trigger = (await tdb.pool.query('SELECT trigger_kind, call_id FROM process_executions WHERE execution_id = $1', [executionId])).rows[0];
  t.deepEqual(trigger, { trigger_kind: 'cron', call_id: 'cron-1' });
});

test.serial('logs are one JSON object per line and never carry the API key', (t) => {
  const text = fs.readFileSync(stack.logFile!, 'utf8');
  const lines = text.split('\n').filter((l) => l.trim());
  t.true(lines.length > 10);
  for (const l of lines) t.notThrows(() => JSON.parse(l), l.slice(0, 200));
  t.false(text.includes('sim-demo-key'));
});
