/**
 * The chaos suite: its own PostgreSQL server (it is restarted by a scenario, so never a
 * shared one), a clean reference run, then every scenario in turn, each in its own
 * database with its own simulator, gateway and function processes. The report adds up
 * the figures and every check; it passes when every check found nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalPostgres } from '../embedded-postgres.js';
import type { ChaosConfig } from './env.js';
import type { Check, CheckKind } from './invariants.js';
import { buildReference } from './reference.js';
import {
  runScenario,
  type Scenario,
  type ScenarioFigures,
  type ScenarioResult,
  type SuiteContext,
  scenarios,
} from './scenarios.js';

export interface SuiteOptions {
  short: boolean;
  seed?: number;
  /** Only the scenarios whose name contains one of these. */
  only?: string[];
  /** Folder for function logs and the PostgreSQL data (default: a temporary one, removed unless kept). */
  dataDir?: string;
  keep?: boolean;
  verbose?: boolean;
  /** Called as each scenario ends. */
  onScenario?: (r: ScenarioResult) => void;
}

export interface SuiteFigures {
  scenariosRun: number;
  runsCompleted: number;
  runsStarted: number;
  invocationsDeliveredTwice: number;
  processesKilled: number;
  faultsInjected: number;
  badInputsTried: number;
  postgresRestarts: number;
  asyncCallsLost: number;
  stepsRedriven: number;
  conflictsAnswered: number;
  checksRun: number;
  checksFailed: number;
  duplicatesFound: number;
  lostRowsFound: number;
  wrongRowsFound: number;
  quotaOverrunsFound: number;
  keyLeaksFound: number;
  booksMismatches: number;
  writesByBadInputs: number;
  stalledRuns: number;
  /** API requests whose outcome no process wrote (it died, the database was away), settled against the API's count. */
  requestsSettledByApiCount: number;
  /** Calls those requests had reserved, and what of it the API's count attributed to them. */
  callsReservedBySettled: number;
  callsAttributedToSettled: number;
}

export interface SuiteReport {
  ok: boolean;
  short: boolean;
  seed: number;
  seconds: number;
  referenceSeconds: number;
  figures: SuiteFigures;
  scenarios: ScenarioResult[];
  failed: Array<{ scenario: string; check: Check }>;
  logDir: string;
}

const KIND_FIGURE: Record<CheckKind, keyof SuiteFigures> = {
  duplicates: 'duplicatesFound',
  lost: 'lostRowsFound',
  wrong: 'wrongRowsFound',
  overrun: 'quotaOverrunsFound',
  leak: 'keyLeaksFound',
  books: 'booksMismatches',
  written: 'writesByBadInputs',
  liveness: 'stalledRuns',
};

export interface OpenSuite {
  ctx: SuiteContext;
  scenarios: Scenario[];
  logDir: string;
  close(): Promise<void>;
}

/**
 * The suite's world without its scenarios: its PostgreSQL server and the clean reference.
 * runSuite() runs every scenario on it; the ava test (test/chaos.test.ts) one per test.
 */
export async function openSuite(
  o: Pick<SuiteOptions, 'short' | 'seed' | 'only' | 'dataDir' | 'keep' | 'verbose'>,
): Promise<OpenSuite> {
  const seed = o.seed ?? 20261120;
  const list = scenarios(o.short).filter((s) => !o.only?.length || o.only.some((x) => s.name.includes(x)));
  if (list.length === 0)
    throw new Error(
      `no scenario matches --only ${o.only?.join(',')}; scenarios: ${scenarios(o.short)
        .map((s) => s.name)
        .join(', ')}`,
    );
  const base = o.dataDir ? path.resolve(o.dataDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'screener-chaos-'));
  fs.mkdirSync(base, { recursive: true });
  // As root, PostgreSQL runs as the postgres user, which must reach base/pg/data.
  if (process.getuid?.() === 0) fs.chmodSync(base, 0o755);
  const logDir = path.join(base, 'logs');
  // Durable commits: a scenario crashes the server, and what it acknowledged must survive.
  const server = await startLocalPostgres({
    dataDir: path.join(base, 'pg', 'data'),
    persistent: o.keep ?? false,
    quiet: true,
    durableCommits: true,
  });
  const close = async () => {
    await server.stop().catch(() => {});
    if (!o.keep && !o.dataDir) fs.rmSync(base, { recursive: true, force: true });
  };
  try {
    const cfg: ChaosConfig = {
      server,
      apiKey: `chaos-key-${seed.toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
      today: '2026-11-20',
      logDir,
      collectTimeBudgetMs: 2500,
      workItemLeaseSeconds: 10,
      stepLeaseMaxSeconds: 4,
      requestsPerMinute: 60_000,
      apiTimeoutMs: 3000,
      runTimeoutMs: o.short ? 100_000 : 200_000,
      verbose: o.verbose ?? false,
    };
    // Every scenario runs two days at most (--short: the kill scenario one), the kill
    // scenario one more when its kills are not all done yet.
    const ref = await buildReference(cfg, o.short ? 2 : 3);
    if (ref.statuses.some((s) => s !== 'success'))
      throw new Error(`the clean reference run did not succeed: ${ref.statuses.join(', ')}`);
    const ctx: SuiteContext = {
      cfg,
      ref,
      short: o.short,
      seed,
      resumeEveryMs: 1000,
      staleSeconds: 3,
      keepDatabases: o.keep ?? false,
    };
    return { ctx, scenarios: list, logDir: o.keep || o.dataDir ? logDir : '(removed; --keep keeps it)', close };
  } catch (err) {
    await close();
    throw err;
  }
}

export async function runSuite(o: SuiteOptions): Promise<SuiteReport> {
  const started = Date.now();
  const suite = await openSuite(o);
  const results: ScenarioResult[] = [];
  try {
    for (const s of suite.scenarios) {
      if (o.verbose) process.stderr.write(`scenario ${s.name}: ${s.title}\n`);
      const r = await runScenario(s, suite.ctx);
      results.push(r);
      o.onScenario?.(r);
    }
  } finally {
    await suite.close();
  }
  return summarise(results, {
    short: o.short,
    seed: suite.ctx.seed,
    seconds: (Date.now() - started) / 1000,
    referenceSeconds: suite.ctx.ref.seconds,
    logDir: suite.logDir,
  });
}

/** The suite's figures that are sums of one scenario figure each. */
const SUMMED_FIGURES: Array<[keyof SuiteFigures, keyof ScenarioFigures]> = [
  ['runsCompleted', 'runsCompleted'],
  ['runsStarted', 'runs'],
  ['invocationsDeliveredTwice', 'duplicated'],
  ['processesKilled', 'killed'],
  ['faultsInjected', 'faults'],
  ['badInputsTried', 'badInputs'],
  ['postgresRestarts', 'pgRestarts'],
  ['asyncCallsLost', 'lostCalls'],
  ['stepsRedriven', 'redriven'],
  ['conflictsAnswered', 'conflicts'],
  ['requestsSettledByApiCount', 'settledRequests'],
  ['callsReservedBySettled', 'settledReserved'],
  ['callsAttributedToSettled', 'settledAttributed'],
];

export function summarise(
  results: ScenarioResult[],
  meta: { short: boolean; seed: number; seconds: number; referenceSeconds: number; logDir: string },
): SuiteReport {
  const f: SuiteFigures = {
    scenariosRun: results.length,
    runsCompleted: 0,
    runsStarted: 0,
    invocationsDeliveredTwice: 0,
    processesKilled: 0,
    faultsInjected: 0,
    badInputsTried: 0,
    postgresRestarts: 0,
    asyncCallsLost: 0,
    stepsRedriven: 0,
    conflictsAnswered: 0,
    checksRun: 0,
    checksFailed: 0,
    duplicatesFound: 0,
    lostRowsFound: 0,
    wrongRowsFound: 0,
    quotaOverrunsFound: 0,
    keyLeaksFound: 0,
    booksMismatches: 0,
    writesByBadInputs: 0,
    stalledRuns: 0,
    requestsSettledByApiCount: 0,
    callsReservedBySettled: 0,
    callsAttributedToSettled: 0,
  };
  const failed: Array<{ scenario: string; check: Check }> = [];
  for (const r of results) {
    for (const [total, figure] of SUMMED_FIGURES) f[total] += r.figures[figure];
    for (const c of r.checks) {
      f.checksRun++;
      if (c.found > 0) {
        f.checksFailed++;
        (f[KIND_FIGURE[c.kind]] as number) += c.found;
        failed.push({ scenario: r.name, check: c });
      }
    }
  }
  return {
    ok: f.checksFailed === 0,
    short: meta.short,
    seed: meta.seed,
    seconds: meta.seconds,
    referenceSeconds: meta.referenceSeconds,
    figures: f,
    scenarios: results,
    failed,
    logDir: meta.logDir,
  };
}

function table(rows: string[][], header: string[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    '  ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatReport(r: SuiteReport): string {
  const f = r.figures;
  const out: string[] = [];
  out.push(
    `Chaos suite${r.short ? ' (--short)' : ''}, seed ${r.seed}: ${r.ok ? 'PASSED' : 'FAILED'} in ${r.seconds.toFixed(1)} s (clean reference ${r.referenceSeconds.toFixed(1)} s)`,
  );
  out.push('');
  out.push('Scenarios:');
  out.push(
    table(
      r.scenarios.map((s) => [
        s.name,
        s.seconds.toFixed(1),
        `${s.figures.runsCompleted}/${s.figures.runs}`,
        String(s.figures.deliveries),
        String(s.figures.duplicated),
        String(s.figures.killed),
        String(s.figures.faults),
        String(s.figures.badInputs),
        String(s.figures.redriven),
        String(s.checks.length),
        String(s.checks.filter((c) => c.found > 0).length),
      ]),
      [
        'scenario',
        'seconds',
        'runs',
        'deliveries',
        'twice',
        'killed',
        'faults',
        'bad inputs',
        're-driven',
        'checks',
        'failed',
      ],
    ),
  );
  out.push('');
  out.push('Figures:');
  const rows: Array<[string, number, boolean]> = [
    ['scenarios run', f.scenariosRun, false],
    ['runs completed (of started)', f.runsCompleted, false],
    ['invocations delivered twice', f.invocationsDeliveredTwice, false],
    ['processes killed (SIGKILL)', f.processesKilled, false],
    ['PostgreSQL restarts', f.postgresRestarts, false],
    ['accepted async calls lost', f.asyncCallsLost, false],
    ['steps re-driven by resume', f.stepsRedriven, false],
    ['API faults injected', f.faultsInjected, false],
    ['bad inputs tried', f.badInputsTried, false],
    ['409s answered to extra triggers', f.conflictsAnswered, false],
    ['invariant checks run', f.checksRun, false],
    ['duplicates found', f.duplicatesFound, true],
    ['lost rows found', f.lostRowsFound, true],
    ['wrong rows found', f.wrongRowsFound, true],
    ['quota overruns found', f.quotaOverrunsFound, true],
    ['API key leaks found', f.keyLeaksFound, true],
    ['books not balancing', f.booksMismatches, true],
    ['bad inputs not cleanly refused', f.writesByBadInputs, true],
    ['stalled runs', f.stalledRuns, true],
    ['requests of unknown outcome settled by the API count', f.requestsSettledByApiCount, false],
    ['  calls they had reserved', f.callsReservedBySettled, false],
    ['  calls the API count gave them', f.callsAttributedToSettled, false],
  ];
  out.push(
    table(
      rows.map(([label, v, mustBeZero]) => [
        label,
        label.startsWith('runs completed') ? `${v}/${f.runsStarted}` : String(v),
        mustBeZero ? (v === 0 ? 'ok' : 'FAIL') : '',
      ]),
      ['figure', 'value', ''],
    ),
  );
  for (const s of r.scenarios) {
    if (s.notes.length === 0 && !s.error) continue;
    out.push('');
    out.push(`${s.name}: ${s.title}`);
    for (const n of s.notes) out.push(`  - ${n}`);
    if (s.error) out.push(`  ! ${s.error.split('\n').slice(0, 6).join('\n    ')}`);
  }
  if (r.failed.length > 0) {
    out.push('');
    out.push('Failed checks:');
    for (const { scenario, check } of r.failed) {
      out.push(`  ${scenario} / ${check.name} [${check.kind}]: ${check.found} — ${check.detail}`);
      for (const e of check.examples.slice(0, 3)) out.push(`      ${JSON.stringify(e).slice(0, 400)}`);
    }
  }
  out.push('');
  out.push(`Function logs: ${r.logDir}`);
  return out.join('\n');
}
