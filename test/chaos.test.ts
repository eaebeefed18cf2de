/**
 * The chaos suite's --short variant, one ava test per scenario, on real processes (local
 * gateway, six function processes, the simulator) and the suite's own PostgreSQL server
 * (a scenario restarts it, so it is never the one `npm test` shares between files).
 * Every invariant of dev/chaos/invariants.ts must find nothing. `npm run test:chaos`
 * runs the full variant (20 kills, more days) and prints the figures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { runScenario, type ScenarioResult, scenarios } from '../dev/chaos/scenarios.js';
import { formatReport, type OpenSuite, openSuite, summarise } from '../dev/chaos/suite.js';

let suite: OpenSuite | null = null;
const results: ScenarioResult[] = [];
const started = Date.now();
// The suite's data (function logs included) stays for a failed scenario's report, and goes when all passed.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'screener-chaos-test-'));
let failures = 0;

test.before(async (t) => {
  t.timeout(180_000);
  suite = await openSuite({ short: true, dataDir });
});

test.after.always(async () => {
  await suite?.close();
  if (failures === 0) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** What a failed scenario's function processes said: warnings, errors, failed deliveries, and the last lines. */
function logExcerpt(scenario: string): string {
  const file = path.join(dataDir, 'logs', `${scenario}.log`);
  if (!fs.existsSync(file)) return '(no log)';
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const notable = lines.filter((l) => /"level":"(warn|error)"|gateway_async_failed|unresponsive/.test(l)).slice(-25);
  return (
    [...notable, '--- last lines ---', ...lines.slice(-15)].map((l) => l.slice(0, 400)).join('\n') +
    `\n(whole log: ${file})`
  );
}

for (const s of scenarios(true)) {
  test.serial(`${s.name}: ${s.title}`, async (t) => {
    t.timeout(240_000);
    const r = await runScenario(s, suite!.ctx);
    results.push(r);
    for (const n of r.notes) t.log(n);
    const failed = r.checks.filter((c) => c.found > 0);
    for (const c of failed)
      t.log(
        `${c.name} [${c.kind}] found ${c.found}: ${c.detail}\n  ${c.examples
          .slice(0, 12)
          .map((e) => JSON.stringify(e).slice(0, 300))
          .join('\n  ')}`,
      );
    if (failed.length > 0 || r.error !== undefined) {
      failures++;
      t.log(logExcerpt(s.name));
    }
    t.is(r.error, undefined);
    t.true(r.checks.length >= 8, `${r.checks.length} checks ran`);
    t.deepEqual(
      failed.map((c) => c.name),
      [],
      'every invariant holds',
    );
    t.is(r.figures.runsCompleted, r.figures.runs, 'every run finished');
  });
}

test.serial('the figures add up: chaos happened, and nothing was duplicated, lost or overrun', (t) => {
  const report = summarise(results, {
    short: true,
    seed: suite!.ctx.seed,
    seconds: (Date.now() - started) / 1000,
    referenceSeconds: suite!.ctx.ref.seconds,
    logDir: suite!.logDir,
  });
  t.log(formatReport(report));
  const f = report.figures;
  t.is(f.scenariosRun, scenarios(true).length);
  t.true(f.invocationsDeliveredTwice > 10, 'duplicate deliveries happened');
  t.true(f.processesKilled >= 6, 'processes were killed');
  t.true(f.postgresRestarts >= 1, 'the database was restarted');
  t.true(f.faultsInjected > 20, 'API faults were injected');
  t.true(f.badInputsTried >= 6 * 50, 'bad inputs were tried');
  t.is(f.conflictsAnswered, 18, 'nine 409s per round of ten triggers');
  for (const k of [
    'duplicatesFound',
    'lostRowsFound',
    'wrongRowsFound',
    'quotaOverrunsFound',
    'keyLeaksFound',
    'booksMismatches',
    'writesByBadInputs',
    'stalledRuns',
  ] as const)
    t.is(f[k], 0, k);
});
