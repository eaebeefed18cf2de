/**
 * The screen's pages in a real browser (Chromium through playwright-core), served by the
 * screen function behind the local gateway after a simulated run: a preset applied, a sort,
 * a second page, the CSV, a ticker's page with its chart; no script error and nothing the
 * page's policy blocked. Each page's screenshot is written to the data folder (docs/ holds
 * copies: docs/screen-page.png, docs/ticker-page.png).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { chromium, type Page } from 'playwright-core';
import { request } from 'undici';
import { type LocalStack, startLocalStack } from '../dev/local-stack.js';
import { waitForChain } from '../dev/run-report.js';
import type { ScreenAnswer } from '../shared/screen/contract.js';
import { createTestDb, type TestDb } from './helpers/db.js';

const BROWSER = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let tdb: TestDb;
let stack: LocalStack;
let dataDir: string;

test.before(async () => {
  tdb = await createTestDb();
  process.env.DATABASE_URL = tdb.url;
  delete process.env.EODHD_API_KEY;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'screener-screen-'));
  stack = await startLocalStack({
    dataDir,
    functionLog: 'file',
    simulator: { universe: 'sample', today: '2026-11-20', perMinuteLimit: 100_000 },
  });
  await tdb.pool.query(`UPDATE pipeline_settings SET value = '60000' WHERE key = 'eodhd_requests_per_minute'`);
  const res = await request(`${stack.gateway.url}/function/init-execution`, { method: 'POST' });
  const runId = ((await res.body.json()) as { executionId: number }).executionId;
  await waitForChain(tdb.pool, runId, 5 * 60_000);
  await stack.gateway.idle();
});
test.after.always(async () => {
  await stack?.close();
  await tdb?.drop();
});

/** The screen's JSON answer to a query string, through the gateway. */
async function screenJson(query: string): Promise<ScreenAnswer> {
  const res = await request(`${stack.gateway.url}/function/screen${query}`, {
    headers: { accept: 'application/json' },
  });
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${await res.body.text()}`);
  return (await res.body.json()) as ScreenAnswer;
}

/** The symbols of the page's result table, in order. */
async function tableSymbols(page: Page): Promise<string[]> {
  return page.locator('#results tbody tr td:first-child').allTextContents();
}

// Without Chromium (.ci/run installs Debian's) the test is reported as skipped, not passed.
const withBrowser = fs.existsSync(BROWSER) ? test.serial : test.serial.skip;

withBrowser('the screen page: a preset, a sort, a second page, the CSV, a ticker page with its chart', async (t) => {
  const browser = await chromium.launch({
    executablePath: BROWSER,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });

  // The bare page: the default screen of the last session.
  const res = await page.goto(`${stack.gateway.url}/function/screen`);
  t.is(res?.status(), 200);
  t.regex(res?.headers()['content-security-policy'] ?? '', /script-src 'nonce-/);
  const all = await screenJson('');
  t.true(all.total > 100, `the sample's listings are screened (${all.total})`);
  t.regex(
    (await page.locator('#rows').first().textContent()) ?? '',
    new RegExp(`of ${all.total.toLocaleString('en-US')}`),
  );

  // A preset applied from the form (the one that passes most of the sample's listings), rows a
  // page set to 20: the table is the function's answer to the same query.
  const presets = (
    (await (await request(`${stack.gateway.url}/function/screen?presets`)).body.json()) as {
      presets: Array<{ name: string }>;
    }
  ).presets;
  const totals = await Promise.all(
    presets.map(async (p) => ({ name: p.name, total: (await screenJson(`?preset=${p.name}&limit=1`)).total })),
  );
  t.log(`presets on the sample: ${totals.map((x) => `${x.name} ${x.total}`).join(', ')}`);
  const preset = totals.sort((a, b) => b.total - a.total)[0]!;
  t.true(preset.total > 0, 'a preset passes some of the sample');
  await page.locator('select[name=preset]').selectOption(preset.name);
  await page.locator('input[name=limit]').fill('20');
  await page.getByRole('button', { name: 'Screen' }).click();
  await page.waitForURL(new RegExp(`preset=${preset.name}`));
  const applied = await screenJson(`?preset=${preset.name}&limit=20`);
  t.true((await tableSymbols(page)).length > 0);
  t.deepEqual(
    await tableSymbols(page),
    applied.data.map((r) => String(r.symbol)),
    `the ${preset.name} preset, as the JSON answers it`,
  );

  // Back to every listing, 20 a page, sorted by a column's header: 1-day change, highest first.
  await page.goto(`${stack.gateway.url}/function/screen?limit=20&columns=change_1d_pct,rsi_14,market_cap`);
  await page.locator('#results th a', { hasText: /^change_1d_pct$/ }).click();
  await page.waitForURL(/sort=change_1d_pct\.desc/);
  const sorted = await screenJson('?limit=20&columns=change_1d_pct,rsi_14,market_cap&sort=change_1d_pct.desc');
  t.deepEqual(
    await tableSymbols(page),
    sorted.data.map((r) => String(r.symbol)),
  );
  const changes = sorted.data.map((r) => r.change_1d_pct).filter((v): v is number => typeof v === 'number');
  t.deepEqual(
    changes,
    [...changes].sort((a, b) => b - a),
    'highest first',
  );
  t.is(await page.locator('#results th[aria-sort=descending]').count(), 1, 'the sorted column is marked');

  // The second page: rows 21-40 of the same order, none of the first page's.
  const firstPage = await tableSymbols(page);
  await page.locator('a[rel=next]').first().click();
  await page.waitForURL(/offset=20/);
  const second = await screenJson(
    '?limit=20&columns=change_1d_pct,rsi_14,market_cap&sort=change_1d_pct.desc&offset=20',
  );
  t.deepEqual(
    await tableSymbols(page),
    second.data.map((r) => String(r.symbol)),
  );
  t.false(
    (await tableSymbols(page)).some((s) => firstPage.includes(s)),
    'no row of the first page on the second',
  );
  t.regex((await page.locator('#rows').first().textContent()) ?? '', /^rows 21-40 of /);
  await page.screenshot({ path: path.join(dataDir, 'screen-page.png'), fullPage: true });

  // The CSV link: the same rows with a header row.
  const csvHref = await page.locator('#csv').getAttribute('href');
  t.truthy(csvHref);
  const csvUrl = new URL(csvHref!, page.url());
  const csv = await request(csvUrl);
  t.is(csv.statusCode, 200);
  t.regex(String(csv.headers['content-type']), /text\/csv/);
  const lines = (await csv.body.text()).trim().split(/\r?\n/);
  t.is(lines[0], 'symbol,exchange,name,change_1d_pct,rsi_14,market_cap');
  const csvAnswer = await screenJson(`?${csvUrl.searchParams.toString().replace(/(^|&)format=csv/, '')}`);
  t.is(lines.length - 1, csvAnswer.data.length, 'a line per row');
  t.true(lines[1]!.startsWith(`${csvAnswer.data[0]!.symbol},`));

  // The curl line carries the page's own origin (filled in by the page's script).
  t.regex(
    (await page.locator('#curl').textContent()) ?? '',
    new RegExp(`^curl -s '${stack.gateway.url}/function/screen\\?`),
  );

  // A bad filter from the form: the page again, with the reason, answered 400.
  const bad = await page.goto(`${stack.gateway.url}/function/screen?f1_field=pe_ratoi&f1_op=%3C&f1_value=15`);
  t.is(bad?.status(), 400);
  t.regex((await page.locator('#error').textContent()) ?? '', /pe_ratio/);

  // A ticker's page from a symbol of the table: its chart and its tables.
  await page.goto(`${stack.gateway.url}/function/screen?limit=20&sort=market_cap.desc`);
  const symbol = (await tableSymbols(page))[0]!;
  await page.locator('#results tbody tr').first().locator('a').first().click();
  await page.waitForURL(new RegExp(`/function/screen/ticker/${symbol.replace('.', '\\.')}$`));
  t.regex(await page.title(), new RegExp(symbol.replace('.', '\\.')));
  t.true((await page.locator('svg path').count()) >= 3, 'the close and its averages are drawn');
  t.true((await page.locator('svg rect').count()) > 100, 'volume bars under the chart');
  t.true((await page.locator('form button', { hasText: 'reset' }).count()) >= 1, 'its reset button');
  await page.screenshot({ path: path.join(dataDir, 'ticker-page.png'), fullPage: true });
  t.log(`screenshots: ${dataDir}/screen-page.png, ${dataDir}/ticker-page.png`);

  t.deepEqual(errors, [], 'no script errors and nothing the page policy blocked');
});
