/**
 * The status function, through the local gateway after a real run: the JSON an operator's
 * script reads, its bounded inputs, the reset action, and the page as a real headless
 * Chromium shows it (Debian's chromium driven by playwright-core), with its actions.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { chromium } from 'playwright-core';
import { request } from 'undici';
import { type LocalStack, startLocalStack } from '../dev/local-stack.js';
import { waitForChain } from '../dev/run-report.js';
import type { Status } from '../shared/observe/status.js';
import { createTestDb, rowCounts, type TestDb } from './helpers/db.js';
import { until } from './helpers/until.js';

const BROWSER = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let tdb: TestDb;
let stack: LocalStack;
let dataDir: string;
let runId: number;
const FAILING = 'MSFT.US';

test.before(async () => {
  tdb = await createTestDb();
  process.env.DATABASE_URL = tdb.url;
  delete process.env.EODHD_API_KEY;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'screener-status-'));
  stack = await startLocalStack({
    dataDir,
    functionLog: 'file',
    simulator: { universe: 'sample', today: '2026-11-20', perMinuteLimit: 100_000 },
  });
  await tdb.pool.query(`UPDATE pipeline_settings SET value = '60000' WHERE key = 'eodhd_requests_per_minute'`);
  const res = await request(`${stack.gateway.url}/function/init-execution`, { method: 'POST' });
  runId = ((await res.body.json()) as { executionId: number }).executionId;
  await waitForChain(tdb.pool, runId, 5 * 60_000);
  await stack.gateway.idle();
  // A ticker that failed three times, as collect-region leaves one.
  await tdb.pool.query(
    `UPDATE asset_processing_state s SET consecutive_failures = 3, last_error_message = 'HTTP 500 from eod', last_error_at = now()
       FROM assets a WHERE a.id = s.asset_id AND a.symbol = $1`,
    [FAILING],
  );
});
test.after.always(async () => {
  await stack?.close();
  await tdb?.drop();
});

async function get(query = '', accept = 'application/json') {
  const res = await request(`${stack.gateway.url}/function/status${query}`, { headers: { accept } });
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
}
/** The gateway's admin user and password: what `faas-cli login` uses, given to status as its basic-auth secrets. */
const operator = () =>
  `Basic ${Buffer.from(`${stack.gateway.credentials.user}:${stack.gateway.credentials.password}`).toString('base64')}`;

async function post(body: string, type = 'application/json', authorization: string | null = operator()) {
  const res = await request(`${stack.gateway.url}/function/status`, {
    method: 'POST',
    body,
    headers: { 'content-type': type, ...(authorization === null ? {} : { authorization }) },
  });
  return {
    status: res.statusCode,
    headers: res.headers,
    json: (await res.body.json()) as Record<string, unknown>,
  };
}

test.serial(
  'GET answers the runs with their steps, the quota, coverage, freshness and failing tickers as JSON',
  async (t) => {
    const a = await get();
    t.is(a.status, 200);
    t.regex(a.type, /json/);
    const s = JSON.parse(a.text) as Status;
    t.deepEqual(
      s.runs.map((r) => [r.execution_id, r.status]),
      [[runId, 'success']],
      'daily runs only: the indicator run is beside it, not among them',
    );
    const run = s.runs[0]!;
    t.is(run.indicator_status, 'success');
    t.deepEqual(run.steps.map((x) => `${x.step}${x.shard ? `/${x.shard}` : ''}:${x.status}`).sort(), [
      'calc-indicators:done',
      'check-quota:done',
      'collect-region/european:done',
      'collect-region/german:done',
      'collect-region/lse:done',
      'collect-region/us:done',
      'discover-delta:done',
      'finalize:done',
      'init-execution:done',
    ]);
    t.true(run.steps.every((x) => x.seconds !== null && x.attempts >= 0));
    t.true((s.quota.today?.used ?? 0) >= run.api_calls_used, JSON.stringify(s.quota.days));
    t.is(s.quota.plan?.daily_rate_limit, 100_000);
    t.is(s.freshness.length, 10, 'all 10 exchange codes');
    t.true(s.freshness.every((f) => f.prices_through !== null && f.without_prices === 0));
    t.true(
      s.freshness.every((f) => /^\d{4}-\d{2}-\d{2}$/.test(f.last_session) && typeof f.sessions_behind === 'number'),
    );
    t.deepEqual(
      s.failing.map((f) => [f.symbol, f.consecutive_failures]),
      [[FAILING, 3]],
    );
    t.is(s.progress.at(-1)?.region, 'all');
  },
);

test.serial(
  'metrics: the status function reads the quota and the last run, each function counts its own work',
  async (t) => {
    const metrics = async (fn: string) => {
      const res = await request(`${stack.gateway.url}/function/${fn}/metrics`);
      t.is(res.statusCode, 200, fn);
      t.regex(String(res.headers['content-type']), /text\/plain/);
      return res.body.text();
    };
    const value = (text: string, series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? null : Number(line.slice(series.length + 1));
    };
    const s = JSON.parse((await get()).text) as Status;
    const status = await metrics('status');
    t.is(value(status, 'screener_quota_used_calls{function="status"}'), s.quota.today?.used ?? -1);
    t.is(value(status, 'screener_quota_left_calls{function="status"}'), s.quota.today?.calls_left ?? -1);
    t.is(value(status, 'screener_last_run_status{status="success",function="status"}'), 1);
    t.is(value(status, 'screener_exchange_assets_behind{exchange="XETRA",function="status"}'), 0);
    // Sessions are counted to this machine's clock: the simulator's world is in the past.
    const xetra = s.freshness.find((f) => f.exchange === 'XETRA')!;
    t.is(value(status, 'screener_exchange_sessions_behind{exchange="XETRA",function="status"}'), xetra.sessions_behind);
    t.true((value(status, 'screener_invocations_total{status="2xx",function="status"}') ?? 0) >= 1);
    const collect = await metrics('collect-region');
    const eod = value(collect, 'screener_api_requests_total{endpoint="eod",status="200",function="collect-region"}');
    t.true((eod ?? 0) > 0, 'collect-region counted its eod requests');
    t.true((value(collect, 'screener_rows_written_total{table="stock_prices",function="collect-region"}') ?? 0) > 1000);
    t.regex(collect, /screener_invocation_duration_seconds_bucket/);
  },
);

test.serial('bad input is a 400 with the reason and writes nothing; an unknown symbol is a 404', async (t) => {
  const before = await rowCounts(tdb.pool);
  for (const q of ['?runs=0', '?runs=101', '?runs=abc', '?failing=-1', '?limit=5']) {
    const a = await get(q);
    t.is(a.status, 400, q);
    t.truthy((JSON.parse(a.text) as { reason?: string }).reason, q);
  }
  for (const body of [
    '{"action":"drop"}',
    '{"action":"reset"}',
    '{"action":"reset","symbol":"AAPL"}',
    '{"action":"reset","symbol":"AAPL.US","scope":"everything"}',
    '{"action":"reset","symbol":"AAPL.US","extra":1}',
    '{"action":"confirm","symbol":"AAPL.US"}',
    '{"action":"drop","symbol":"AAPL.US","date":"2026-13-01"}',
    '{"action":"confirm","symbol":"AAPL.US","date":"2026-11-20","check":"nope"}',
    '{"action":"quarantine","symbol":"AAPL.US","date":"2026-11-20"}',
    '[]',
  ]) {
    const a = await post(body);
    t.is(a.status, 400, body);
  }
  t.is((await post('action=reset&symbol=AAPL.US', 'application/x-www-form-urlencoded')).status, 415);
  t.is((await post('{"action":"reset","symbol":"NOPE.US"}')).status, 404);
  // No finding to decide on that day: 404 with where to look.
  const none = await post('{"action":"confirm","symbol":"AAPL.US","date":"2026-11-20"}');
  t.is(none.status, 404);
  t.regex(String(none.json.reason), /v_data_quality/);
  t.deepEqual(await rowCounts(tdb.pool), before);
});

test.serial(
  "operators only where it matters: a write without the credential is a 401 that says how, with the gateway's login it is done",
  async (t) => {
    const before = await rowCounts(tdb.pool);
    const body = JSON.stringify({ action: 'reset', symbol: FAILING });
    const none = await post(body, 'application/json', null);
    t.is(none.status, 401);
    t.regex(
      String(none.headers['www-authenticate']),
      /^Bearer realm=/,
      'the challenge reaches the caller through the gateway',
    );
    t.regex(String(none.json.reason), /Authorization: Bearer/);
    const wrong = await post(body, 'application/json', `Basic ${Buffer.from('admin:guess').toString('base64')}`);
    t.is(wrong.status, 401);
    for (const b of [
      { action: 'start-run', dryRun: true },
      { action: 'run-step', step: 'finalize', executionId: runId },
      { action: 'drop', symbol: FAILING, date: '2026-11-20' },
    ])
      t.is((await post(JSON.stringify(b), 'application/json', null)).status, 401, JSON.stringify(b));
    t.deepEqual(await rowCounts(tdb.pool), before, 'nothing written');
    const state = await tdb.pool.query(
      `SELECT s.consecutive_failures FROM asset_processing_state s JOIN assets a ON a.id = s.asset_id WHERE a.symbol = $1`,
      [FAILING],
    );
    t.is(state.rows[0].consecutive_failures, 3, 'the ticker is still failing');
    // The gateway's password alone, as a bearer token (what the page's field sends), is an operator's too.
    const bearer = await post(
      JSON.stringify({ action: 'run-step', step: 'finalize', executionId: runId }),
      'application/json',
      `Bearer ${stack.gateway.credentials.password}`,
    );
    t.is(bearer.status, 202, JSON.stringify(bearer.json));
    t.like(bearer.json, { invoked: 'finalize', executionId: runId });
    await stack.gateway.idle();
  },
);

// Prometheus' own linter (Debian's prometheus package; .ci/run installs it); without it the
// test is reported as skipped.
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => fs.existsSync(p));
(PROMTOOL ? test.serial : test.serial.skip)("every function's /metrics passes promtool check metrics", async (t) => {
  for (const fn of [
    'status',
    'init-execution',
    'discover-delta',
    'check-quota',
    'collect-region',
    'finalize',
    'calc-indicators',
  ]) {
    const res = await request(`${stack.gateway.url}/function/${fn}/metrics`);
    const text = await res.body.text();
    t.is(res.statusCode, 200, fn);
    const r = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    t.is(r.status, 0, `${fn}: ${r.stdout}${r.stderr}`);
    t.is(`${r.stdout}${r.stderr}`.trim(), '', fn);
    if (fn === 'status')
      t.regex(text, /screener_data_quality_open\{check="unit_slip",severity="error",function="status"\} 0/);
  }
});

// Without a browser on the machine (apt-get install chromium, or CHROMIUM_PATH) the page
// test is reported as skipped, not passed; .ci/run installs it.
const withBrowser = fs.existsSync(BROWSER) ? test.serial : test.serial.skip;

withBrowser(
  'the page, in a real Chromium: the grid, the chart, coverage, a ticker reset and a run started from it',
  async (t) => {
    const browser = await chromium.launch({
      executablePath: BROWSER,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // (Failed loads are the form's own 4xx answers and the favicon: not errors of the page.)
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) errors.push(m.text());
    });
    const res = await page.goto(`${stack.gateway.url}/function/status`);
    t.is(res?.status(), 200);
    t.regex(res?.headers()['content-type'] ?? '', /text\/html/);
    t.regex(
      res?.headers()['content-security-policy'] ?? '',
      /script-src 'nonce-/,
      "the page's policy reaches the browser",
    );
    t.is(await page.title(), 'Financial Screener pipeline: status');
    // The grid: one row per run, a cell per step, coloured by its state.
    const rows = page.locator('table.grid tbody tr');
    t.is(await rows.count(), 1);
    t.is(await rows.first().locator('td.cell.done').count(), 9);
    t.regex((await rows.first().locator('td.run').textContent()) ?? '', /success/);
    // The quota chart: a bar per quota day.
    t.true((await page.locator('svg rect.used').count()) >= 1);
    t.regex((await page.locator('#summary').textContent()) ?? '', /100,000 calls a day/);
    // Coverage per region and freshness per exchange.
    // Exchanges with their names beside EODHD's codes.
    const freshness = page.locator('h2:has-text("Freshness per exchange") + table');
    t.is(await freshness.getByRole('cell', { name: 'Xetra (XETRA)', exact: true }).count(), 1);
    t.is(await freshness.getByRole('cell', { name: 'Euronext Paris (PA)', exact: true }).count(), 1);
    // Data quality: each exchange's quarantine, and the quarantined bars (none in this clean run).
    const quarantine = page.locator('h2:has-text("Data quality") + p + table');
    t.is(await quarantine.getByRole('cell', { name: 'Xetra (XETRA)', exact: true }).count(), 1);
    // Links to the screen page and to each symbol's ticker page (the screen function's, a sibling).
    t.is(await page.locator('nav a').getAttribute('href'), 'screen');
    t.is(await page.getByRole('link', { name: FAILING, exact: true }).getAttribute('href'), `screen/ticker/${FAILING}`);
    t.regex((await page.locator('h3:has-text("Quarantined bars") + p').textContent()) ?? '', /No quarantined bars/);
    // Reset the failing ticker from its row: without the operator credential the function
    // refuses and the page shows its line; with the gateway's password in the field it is done.
    const failingRow = page.locator('tr', { hasText: FAILING });
    await failingRow.getByRole('button', { name: 'reset' }).click();
    await page.locator('#reset-out', { hasText: /^401 / }).waitFor({ timeout: 30_000 });
    t.regex((await page.locator('#reset-out').textContent()) ?? '', /operator/);
    const still = await tdb.pool.query(
      `SELECT s.consecutive_failures FROM asset_processing_state s JOIN assets a ON a.id = s.asset_id WHERE a.symbol = $1`,
      [FAILING],
    );
    t.is(still.rows[0].consecutive_failures, 3, 'refused: nothing written');
    await page.locator('#operator-credential').fill(stack.gateway.credentials.password);
    await failingRow.getByRole('button', { name: 'reset' }).click();
    await page.locator('#reset-out', { hasText: /^200 / }).waitFor({ timeout: 30_000 });
    t.false(page.url().includes(stack.gateway.credentials.password), 'the credential is never in a URL');
    const state = await tdb.pool.query(
      `SELECT s.consecutive_failures FROM asset_processing_state s JOIN assets a ON a.id = s.asset_id WHERE a.symbol = $1`,
      [FAILING],
    );
    t.is(state.rows[0].consecutive_failures, 0, 'the reset reached the database');
    // Start a dry run from the form: the status function checks the credential, then opens it
    // as init-execution does.
    const form = page.locator('form:has(input[name=action][value="start-run"])');
    await form.locator('select[name=mode]').selectOption('incremental');
    await form.locator('input[value=XETRA]').check();
    await form.locator('input[name=dryRun]').check();
    await form.getByRole('button', { name: 'start run' }).click();
    await page.locator('#run-out', { hasText: /^202 / }).waitFor({ timeout: 30_000 });
    const opened = JSON.parse(((await page.locator('#run-out').textContent()) ?? '').replace(/^202 /, '')) as {
      executionId: number;
    };
    const params = await tdb.pool.query('SELECT parameters FROM process_executions WHERE execution_id = $1', [
      opened.executionId,
    ]);
    t.like(params.rows[0].parameters, { mode: 'incremental', exchanges: ['XETRA'], dryRun: true });
    await waitForChain(tdb.pool, opened.executionId, 5 * 60_000);
    // A bad value from the form is refused by the function with its reason.
    await form.locator('input[name=symbols]').fill('not-a-symbol');
    await form.getByRole('button', { name: 'start run' }).click();
    await page.locator('#run-out', { hasText: /^400 / }).waitFor({ timeout: 30_000 });
    t.regex((await page.locator('#run-out').textContent()) ?? '', /CODE\.EXCHANGE/);
    // Re-run a step of the first run from its form: invoked as the chain invokes it (a finished
    // step answers its stored result).
    const stepForm = page.locator('form:has(input[name=action][value="run-step"])');
    await stepForm.locator('select[name=executionId]').selectOption(String(runId));
    await stepForm.locator('select[name=step]').selectOption('finalize');
    await stepForm.getByRole('button', { name: 're-run' }).click();
    await page.locator('#step-out', { hasText: /^202 / }).waitFor({ timeout: 30_000 });
    t.regex((await page.locator('#step-out').textContent()) ?? '', /"invoked":"finalize"/);
    await stack.gateway.idle();
    // After a reload the grid shows both runs.
    await page.reload();
    await until(async () => (await page.locator('table.grid tbody tr').count()) === 2, 'the second run in the grid');
    const shot = path.join(dataDir, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.true(fs.statSync(shot).size > 20_000, 'a screenshot of the page');
    t.log(`screenshot: ${shot}`);
    t.deepEqual(errors, [], 'no script errors and nothing the page policy blocked');
  },
);
