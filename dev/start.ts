/**
 * `npm start`: one daily run on this machine. Applies the schema, triggers init-execution
 * the way the cron-connector does, waits for the chain to finish and prints a summary.
 * Run again: the simulator's clock moves to the next trading day and the run brings
 * prices up to it.
 *
 *   npm start -- [--universe sample|full|synthetic:N] [--plan free|eod-only|all-in-one] [--symbols A.US,B.LSE]
 *                [--data-dir DIR] [--timeout-minutes N] [--requests-per-minute N] [--json]
 *                [--bad-ticks none|default|kind=rate,...] [--corrections none|default|RATE]
 *
 * --plan: the simulator's EODHD plan (default all-in-one); the summary says what the plan
 * leaves out. --symbols: a watchlist run (the free plan, 20 calls a day, gets a default one).
 *
 * --requests-per-minute raises the simulator's per-minute limit and the pipeline's
 * eodhd_requests_per_minute setting together (default: the real API's 1000), for this run
 * only (the setting is put back afterwards), so that a full-universe load can be measured in
 * less than the hour it takes at the real rate.
 *
 * --bad-ticks and --corrections: the simulator's bad ticks and late corrections of first
 * prints (default 'default' for both, as EODHD's data has them; 'none' for clean data).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { errorText } from '../shared/platform/log.js';
import { loadSettings, setSetting } from '../shared/store/settings.js';
import { startLocalStack } from './local-stack.js';
import { formatSummary, summarise, waitForChain } from './run-report.js';
import {
  type BadTicksOption,
  type CorrectionsOption,
  isUniverseOption,
  PLAN_NAMES,
  parseBadTicksArg,
  parseCorrectionsArg,
  parseUniverse,
} from './simulator/index.js';
import { isPlanName } from './simulator/plans.js';
import { watchlistOf } from './watchlist.js';

const { values } = parseArgs({
  options: {
    universe: { type: 'string', default: 'sample' },
    'data-dir': { type: 'string' },
    'timeout-minutes': { type: 'string', default: '120' },
    json: { type: 'boolean', default: false },
    'requests-per-minute': { type: 'string' },
    plan: { type: 'string', default: 'all-in-one' },
    symbols: { type: 'string' },
    'bad-ticks': { type: 'string', default: 'default' },
    corrections: { type: 'string', default: 'default' },
  },
});
if (!isPlanName(values.plan)) {
  console.error(`--plan must be one of ${PLAN_NAMES.join(', ')}, not ${values.plan}`);
  process.exit(2);
}
const plan = values.plan;
let badTicks: BadTicksOption;
let corrections: CorrectionsOption;
try {
  badTicks = parseBadTicksArg(values['bad-ticks']!);
  corrections = parseCorrectionsArg(values.corrections!);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
let symbols: string[] | null;
try {
  symbols = watchlistOf(values.symbols, plan);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
if (!isUniverseOption(values.universe)) {
  console.error(`--${parseUniverse(values.universe)}`);
  process.exit(2);
}
const universe = values.universe;
const rpm = values['requests-per-minute'] === undefined ? null : Number(values['requests-per-minute']);
if (rpm !== null && !(Number.isInteger(rpm) && rpm > 0)) {
  console.error('--requests-per-minute must be a positive whole number');
  process.exit(2);
}
// Each plan keeps its own data (a free plan's watchlist and a full load do not mix).
const dataDir = path.resolve(
  values['data-dir'] ?? path.join('.data', plan === 'all-in-one' ? universe : `${universe}-${plan}`),
);

const t0 = Date.now();
console.log(
  `Starting: database, ${process.env.EODHD_API_KEY ? 'EODHD API' : `EODHD simulator (${universe} universe, ${plan} plan)`}, gateway and the functions of stack.yml (data in ${dataDir})`,
);
if (symbols)
  console.log(
    `Watchlist: ${symbols.join(' ')}${values.symbols ? '' : " (the free plan's default; --symbols to choose)"}`,
  );
let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({
    dataDir,
    functionLog: 'file',
    advanceDays: 1,
    simulator: {
      universe,
      plan,
      today: new Date().toISOString().slice(0, 10),
      badTicks,
      corrections,
      ...(rpm ? { perMinuteLimit: Math.ceil(rpm / 0.9) } : {}),
    },
  });
} catch (err) {
  console.error(`npm start could not start: ${errorText(err)}`);
  process.exit(1);
}
// The flag is for this run only: the data folder's own setting is put back at the end.
const keptRpm = rpm ? (await loadSettings(stack.pool)).eodhd_requests_per_minute : null;
if (rpm) await setSetting(stack.pool, 'eodhd_requests_per_minute', rpm);
let code = 0;
try {
  if (stack.simulator) {
    console.log(
      `Simulated trading day: ${stack.simulator.lastTradingDay()} (API at ${stack.simulator.url}; ${
        stack.simulator.universeSource === 'files'
          ? 'the real tickers of the ticker files'
          : universe.startsWith('synthetic:')
            ? `a synthetic universe of ${stack.simulator.symbols().length} generated listings`
            : "a generated universe of the real one's shape: no ticker files in ../shared or SHARED_DIR"
      })`,
    );
  }
  console.log(`Gateway ${stack.gateway.url}; function logs in ${stack.logFile}`);
  // What the cron-connector sends (an empty POST with its two headers), or a watchlist run.
  const res = await request(`${stack.gateway.url}/function/init-execution`, {
    method: 'POST',
    body: symbols ? JSON.stringify({ symbols }) : '',
    headers: symbols
      ? { 'content-type': 'application/json', 'x-call-id': `npm-start-${Date.now()}` }
      : { 'x-topic': 'cron-function', 'x-connector': 'cron-connector', 'x-call-id': `npm-start-${Date.now()}` },
  });
  let answer = (await res.body.json()) as { executionId?: number; error?: string; reason?: string };
  if (res.statusCode === 409 && answer.executionId) {
    // A run left over from an interrupted start: re-drive it rather than start another.
    console.log(`Run ${answer.executionId} is still open (${answer.reason}); resuming it.`);
    const r = await request(`${stack.gateway.url}/function/init-execution`, {
      method: 'POST',
      body: JSON.stringify({ mode: 'resume', staleMinutes: 0 }),
      headers: { 'content-type': 'application/json' },
    });
    await r.body.dump();
  } else if (res.statusCode !== 202 || !answer.executionId) {
    throw new Error(`init-execution answered ${res.statusCode}: ${JSON.stringify(answer)}`);
  }
  const executionId = answer.executionId!;
  console.log(
    `Run ${executionId} opened; waiting for the chain (init-execution -> discover-delta -> check-quota -> collect-region -> finalize -> calc-indicators)`,
  );
  // What resume-runs does on the cluster every 10 minutes: re-drive steps whose
  // invocation was lost (here every minute, for steps idle for 2 minutes).
  const resume = setInterval(() => {
    request(`${stack.gateway.url}/function/init-execution`, {
      method: 'POST',
      body: JSON.stringify({ mode: 'resume', staleMinutes: 2 }),
      headers: { 'content-type': 'application/json' },
    })
      .then(async (r) => {
        const b = (await r.body.json()) as { redriven?: unknown[] };
        if (b.redriven && b.redriven.length > 0) console.log(`  resume: re-drove ${JSON.stringify(b.redriven)}`);
      })
      .catch(() => {});
  }, 60_000);
  try {
    await waitForChain(stack.pool, executionId, Number(values['timeout-minutes']) * 60_000, (line) =>
      console.log(line),
    );
  } finally {
    clearInterval(resume);
  }
  await stack.gateway.idle();
  const summary = await summarise(stack.pool, executionId);
  console.log('');
  console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  console.log(`\nDone in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
  if (summary.status === 'failed') code = 1;
  answer = {};
} catch (err) {
  console.error(`npm start failed: ${errorText(err)}`);
  if (stack.logFile) console.error(`See ${stack.logFile}`);
  code = 1;
} finally {
  if (keptRpm !== null) await setSetting(stack.pool, 'eodhd_requests_per_minute', keptRpm).catch(() => {});
  await stack.close();
}
process.exit(code);
