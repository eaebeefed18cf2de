/**
 * `npm run test:chaos`: the pipeline on real processes (local gateway, one process per
 * function, embedded PostgreSQL, EODHD simulator) under duplicate delivery, killed
 * processes, a restarted database, API faults, simultaneous triggers and hostile input,
 * each scenario ending with the invariants of dev/chaos/invariants.ts. Prints the
 * figures; exits 1 when any invariant was violated.
 *
 *   npm run test:chaos -- [--short] [--json] [--seed N] [--only NAME[,NAME]] [--keep] [--data-dir DIR] [--verbose]
 *
 * --short: the CI version (fewer kills and days, same kinds of chaos), about 2 minutes.
 * --only: scenarios whose name contains one of the words (duplicates, kill, postgres,
 * api-faults, triggers, bad-inputs). --keep: keep the data folder (function logs, one
 * file per scenario) and the scenarios' databases.
 */
import { parseArgs } from 'node:util';
import { formatReport, runSuite } from './suite.js';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    seed: { type: 'string' },
    only: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (seed !== undefined && !Number.isInteger(seed)) {
  console.error('--seed must be a whole number');
  process.exit(2);
}
let code = 0;
try {
  const report = await runSuite({
    short: values.short,
    seed,
    only: values.only
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    keep: values.keep,
    dataDir: values['data-dir'],
    verbose: values.verbose,
    onScenario: values.json
      ? undefined
      : (r) => {
          const failed = r.checks.filter((c) => c.found > 0).length;
          console.error(
            `${failed === 0 ? 'ok  ' : 'FAIL'} ${r.name} (${r.seconds.toFixed(1)} s, ${r.checks.length} checks${failed ? `, ${failed} failed` : ''})`,
          );
        },
  });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  code = report.ok ? 0 : 1;
} catch (err) {
  console.error(`chaos suite failed to run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  code = 2;
}
process.exit(code);
