/**
 * The chaos scenarios. Each one gets a fresh world (database, simulator, gateway and six
 * function processes), runs the same days as the clean reference while something goes
 * wrong, and ends by checking the invariants (dev/chaos/invariants.ts) on what is left.
 */
import http from 'node:http';
import { FUNCTION_NAMES, type FunctionName } from '../../shared/platform/invoke.js';
import { mulberry32 } from '../simulator/hash.js';
import { FAULT_KINDS, type FaultKind } from '../simulator/index.js';
import { type BadInput, badInputsFor, screenBadInputs } from './bad-inputs.js';
import { type ChaosConfig, type EnvOptions, ScenarioEnv, setSettings } from './env.js';
import {
  apiKeyNowhere,
  apiLedgerBoundsApi,
  apiLedgerMatchesApi,
  type Check,
  comparePrices,
  noDuplicateDetails,
  noDuplicatePrices,
  nothingWritten,
  oneChildRunPerRun,
  pricesBySymbol,
  quotaNotOverrun,
  runInvariants,
  runTotalsMatchDetails,
  tableFingerprints,
} from './invariants.js';
import type { Reference } from './reference.js';

export interface ScenarioFigures {
  runs: number;
  runsCompleted: number;
  asyncCalls: number;
  deliveries: number;
  duplicated: number;
  killed: number;
  faults: number;
  badInputs: number;
  pgRestarts: number;
  lostCalls: number;
  redriven: number;
  /** Requests whose outcome no process wrote (it died, the database was away), settled by the API's count. */
  settledRequests: number;
  settledReserved: number;
  settledAttributed: number;
  conflicts: number;
}

export interface ScenarioResult {
  name: string;
  title: string;
  seconds: number;
  figures: ScenarioFigures;
  checks: Check[];
  notes: string[];
  error?: string;
}

export interface SuiteContext {
  cfg: ChaosConfig;
  ref: Reference;
  short: boolean;
  seed: number;
  /** Re-drive cadence of the resume driver, and how idle a step must be. */
  resumeEveryMs: number;
  staleSeconds: number;
  keepDatabases: boolean;
}

export interface Scenario {
  name: string;
  title: string;
  run(ctx: SuiteContext, r: ScenarioRecorder): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The simulator's seeded generator: the same seed kills the same way. */
const rng = mulberry32;

function emptyFigures(): ScenarioFigures {
  return {
    runs: 0,
    runsCompleted: 0,
    asyncCalls: 0,
    deliveries: 0,
    duplicated: 0,
    killed: 0,
    faults: 0,
    badInputs: 0,
    pgRestarts: 0,
    lostCalls: 0,
    redriven: 0,
    settledRequests: 0,
    settledReserved: 0,
    settledAttributed: 0,
    conflicts: 0,
  };
}

/** What a scenario accumulates: its environment, runs, figures, checks and notes. */
export class ScenarioRecorder {
  env: ScenarioEnv | null = null;
  readonly runIds: number[] = [];
  readonly figures = emptyFigures();
  readonly checks: Check[] = [];
  readonly notes: string[] = [];
  day = 0;

  constructor(
    readonly name: string,
    readonly ctx: SuiteContext,
  ) {}

  async start(opts: EnvOptions = {}): Promise<ScenarioEnv> {
    this.env = await ScenarioEnv.start(this.name, this.ctx.cfg, opts);
    return this.env;
  }

  add(...checks: Check[]): void {
    this.checks.push(...checks);
  }

  note(text: string): void {
    this.notes.push(text);
    this.env?.log(text);
  }

  /**
   * One day: move the simulator's clock (after the first day), open a run (or let
   * `open` do it), let `during` misbehave while it runs, wait for the whole chain, then
   * check the run's invariants and the day's API ledger.
   */
  async runDay(opts: {
    resume: boolean;
    /** Opens the run and returns its id (default: one cron trigger). */
    open?: (env: ScenarioEnv) => Promise<number>;
    during?: (env: ScenarioEnv, executionId: number, over: () => boolean) => Promise<void>;
    /** Resume may be turned on to finish a run that stalled without it (recorded as a failed check). */
    mustCompleteWithoutResume?: boolean;
    before?: (env: ScenarioEnv) => Promise<void>;
  }): Promise<number> {
    const env = this.env!;
    if (this.day > 0) env.sim.advanceTradingDays(1);
    this.day++;
    if (opts.before) await opts.before(env);
    if (opts.resume) env.startResume(this.ctx.resumeEveryMs, this.ctx.staleSeconds);
    const id = opts.open ? await opts.open(env) : await env.openRun();
    this.runIds.push(id);
    this.figures.runs++;
    let over = false;
    const chaos = opts.during
      ? opts
          .during(env, id, () => over)
          .catch((err) => {
            this.note(`chaos driver failed: ${String(err)}`);
          })
      : Promise.resolve();
    const started = Date.now();
    let completed = await env.waitForRun(id);
    over = true;
    await chaos;
    if (!completed && opts.mustCompleteWithoutResume) {
      this.add({
        name: 'runCompletesWithoutResume',
        kind: 'liveness',
        found: 1,
        detail: `run ${id} did not finish without the resume driver`,
        examples: await env.stepsOf(id),
      });
      env.startResume(this.ctx.resumeEveryMs, this.ctx.staleSeconds);
      completed = await env.waitForRun(id);
    } else if (opts.mustCompleteWithoutResume) {
      this.add({
        name: 'runCompletesWithoutResume',
        kind: 'liveness',
        found: 0,
        detail: `run ${id} finished with no re-drive`,
        examples: [],
      });
    }
    env.stopResume();
    if (completed) this.figures.runsCompleted++;
    this.add({
      name: 'runCompletes',
      kind: 'liveness',
      found: completed ? 0 : 1,
      detail: `run ${id} and its indicator step ${completed ? `finished in ${((Date.now() - started) / 1000).toFixed(1)} s` : `did not finish in ${this.ctx.cfg.runTimeoutMs / 1000} s`}`,
      examples: completed ? [] : await env.stepsOf(id),
    });
    // Let stray copies (duplicates, re-drives) end before the books are read.
    await Promise.race([env.gateway.idle(), sleep(30_000)]);
    await sleep(200);
    const [run] = await env.q<{ status: string; quota_day: string | null }>(
      'SELECT status, quota_day::text AS quota_day FROM process_executions WHERE execution_id = $1',
      [id],
    );
    env.log(`run ${id}: ${run?.status}`);
    this.add(...(await runInvariants(env.pool, id)));
    const usage = env.sim.usage();
    const quotaDay = run?.quota_day ?? usage.date;
    if (quotaDay !== usage.date) this.note(`run ${id} charged quota day ${quotaDay}, the API's day is ${usage.date}`);
    // Before anything is settled the ledger bounds what the API charged; once the resume
    // sweep has settled requests whose process died against the API's count, it equals it.
    this.add(await apiLedgerBoundsApi(env.pool, usage.date, usage.calls));
    await env.settleUnknownCalls();
    this.add(await apiLedgerMatchesApi(env.pool, usage.date, usage.calls));
    this.add(await apiLedgerBoundsApi(env.pool, usage.date, usage.calls));
    this.add(await quotaNotOverrun(env.pool, usage.date, usage.calls));
    // The run's API total follows its ledger through the settlement.
    this.add(await runTotalsMatchDetails(env.pool, id));
    return id;
  }

  /** The end of every scenario: duplicates, prices against the reference, the key. */
  async finish(): Promise<void> {
    const env = this.env!;
    const pool = env.pool;
    this.add(await noDuplicatePrices(pool), await noDuplicateDetails(pool), await oneChildRunPerRun(pool));
    const stored = await pricesBySymbol(pool);
    const reference = this.ctx.ref.prices[this.day - 1]!;
    const notClean = new Set(
      (
        await env.q<{ symbol: string }>(
          `
      SELECT DISTINCT a.symbol FROM work_items w JOIN assets a ON a.id = w.asset_id
       WHERE w.execution_id = ANY($1::bigint[]) AND w.status <> 'done'`,
          [this.runIds],
        )
      ).map((r) => r.symbol),
    );
    // Assets whose work did not all end done may hold history fetched on a later day (its
    // adjusted_close is then as of that day): they are compared on the unadjusted columns.
    const storedForCompare = new Map(
      [...stored].map(([s, bars]) => [
        s,
        notClean.has(s)
          ? bars.map((b) => ({
              ...b,
              adjusted_close: reference.get(s)?.find((x) => x.date === b.date)?.adjusted_close ?? b.adjusted_close,
            }))
          : bars,
      ]),
    );
    const complete = [...reference.keys()].filter((s) => !notClean.has(s));
    this.add(...comparePrices(storedForCompare, reference, complete));
    this.add(await apiKeyNowhere(pool, this.ctx.cfg.apiKey, [...env.logs, ...env.answers]));
    const g = env.gateway.stats();
    // A function process that exited without being killed crashed (an unhandled error).
    const crashLines = env.logs.filter((l) => /Unhandled|uncaught|heap out of memory|^\s*throw /i.test(l));
    this.add({
      name: 'noProcessCrashed',
      kind: 'liveness',
      found: Math.max(0, g.restarts - g.killed),
      detail: `${g.restarts} function process exits, ${g.killed} of them our kills`,
      examples: crashLines.slice(0, 5),
    });
    this.figures.asyncCalls += g.asyncCalls;
    this.figures.deliveries += g.delivered;
    this.figures.duplicated += g.duplicated;
    this.figures.killed += g.killed;
    this.figures.lostCalls += g.dropped;
    this.figures.redriven += env.redriven.length;
    this.figures.pgRestarts += env.pgRestarts;
    this.figures.faults += Object.values(env.sim.faultsInjected()).reduce((a, b) => a + b, 0);
    // Settled by the resume sweep during the runs and at the end of each day.
    const [settled] = await env.q<{ n: number; reserved: number; attributed: number }>(`
      SELECT count(*)::int AS n, coalesce(sum(reserved), 0)::int AS reserved, coalesce(sum(cost), 0)::int AS attributed
        FROM api_calls WHERE outcome = 'reconciled'`);
    this.figures.settledRequests += settled!.n;
    this.figures.settledReserved += settled!.reserved;
    this.figures.settledAttributed += settled!.attributed;
    if (notClean.size > 0)
      this.note(
        `${notClean.size} assets had work that did not end done (failed, deferred or skipped): compared on their unadjusted columns only`,
      );
    if (g.failedDeliveries > 0)
      this.note(`${g.failedDeliveries} async deliveries failed (5xx or the process died): lost, as on OpenFaaS CE`);
  }
}

// --- 1. duplicate delivery ---------------------------------------------------------------------

function duplicates(mode: 'sequential' | 'concurrent'): Scenario {
  return {
    name: `duplicates-${mode}`,
    title:
      mode === 'sequential'
        ? 'every async call delivered twice, one after the other'
        : 'every async call delivered twice at the same time',
    run: async (ctx, r) => {
      await r.start({ duplicateDelivery: mode });
      const days = ctx.short && mode === 'sequential' ? 1 : 2;
      for (let d = 0; d < days; d++) await r.runDay({ resume: false, mustCompleteWithoutResume: true });
    },
  };
}

// --- 2. processes killed ---------------------------------------------------------------------

const kills = (target: number, losses: number): Scenario => ({
  name: 'kill',
  title: `a random function process SIGKILLed at a random point, ${target} times; ${losses} accepted async calls lost; resume re-drives`,
  run: async (ctx, r) => {
    await r.start();
    const next = rng(ctx.seed * 7 + 1);
    let killed = 0;
    let busyKills = 0;
    let lost = 0;
    const byFunction: Record<string, number> = {};
    // The run's progress: items ended and steps done. A kill waits for it to move after
    // the previous one, so kills land at points spread over the run rather than on a
    // run that is still waiting for the last victim's lease.
    const progressOf = async (e: ScenarioEnv, id: number) => {
      const [p] = await e
        .q<{ sig: string }>(
          `
        SELECT (SELECT count(*) FROM work_items WHERE execution_id = $1 AND status IN ('done', 'failed', 'deferred', 'skipped'))::text || '/' ||
               (SELECT count(*) FROM pipeline_steps WHERE execution_id = $1 AND status = 'done')::text AS sig`,
          [id],
          5_000,
        )
        .catch(() => [{ sig: '?' }]);
      return p?.sig ?? '?';
    };
    const servedKill = new Set<FunctionName>();
    // Until every step has died in the middle of a call once, no function takes more than
    // its share of the kills: they spread over every phase of the runs (collection is most
    // of a run's time and would otherwise take them all). Then the rest go where the work is.
    const steps = FUNCTION_NAMES.filter((f) => f !== 'init-execution');
    const share = (fn: FunctionName) =>
      steps.every((f) => servedKill.has(f))
        ? target
        : Math.max(1, Math.ceil(target * (fn === 'collect-region' ? 0.5 : fn === 'init-execution' ? 0.1 : 0.2)));
    const monkey = async (e: ScenarioEnv, id: number, over: () => boolean) => {
      let last = await progressOf(e, id);
      let first = true;
      while (!over() && (killed < target || lost < losses)) {
        // After a kill, wait (up to 5 s) for the run to move again, then a moment more.
        if (!first) {
          for (let waited = 0; waited < 5000 && !over(); waited += 100) {
            const now = await progressOf(e, id);
            if (now !== last) {
              last = now;
              break;
            }
            await sleep(100);
          }
          await sleep(next() * 150);
        }
        first = false;
        if (over()) break;
        // After the first kill and half-way, the queue also loses the next accepted call
        // (whichever it is: a step's hand-over, a continuation, a re-drive).
        if (lost < losses && killed >= (lost === 0 ? 1 : Math.ceil(target / 2))) {
          e.gateway.loseNextAsync(1);
          lost++;
          e.log('the next async call will be lost');
        }
        if (killed >= target) continue;
        // Wait (up to 3 s) until some function is serving a call, then choose among those:
        // first one that has not yet died in the middle of a call, then mostly by how many
        // calls each serves; kill it a random moment later (within a short step's call).
        let busy: FunctionName[] = [];
        for (let waited = 0; waited < 3000 && !over(); waited += 5) {
          busy = FUNCTION_NAMES.filter(
            (f) =>
              e.gateway.activeCalls(f) > 0 &&
              (byFunction[f] ?? 0) < share(f) &&
              (f !== 'init-execution' || next() < 0.05),
          );
          if (busy.length > 0) break;
          await sleep(5);
        }
        if (over()) break;
        const uncovered = busy.filter((f) => !servedKill.has(f));
        let fn: FunctionName;
        if (uncovered.length > 0) fn = uncovered[Math.floor(next() * uncovered.length)]!;
        else if (busy.length > 0) {
          const w = busy.map((f) => e.gateway.activeCalls(f));
          let x = next() * w.reduce((a, b) => a + b, 0);
          fn = busy[w.findIndex((v) => (x -= v) < 0)] ?? busy[0]!;
        } else {
          const open = FUNCTION_NAMES.filter((f) => (byFunction[f] ?? 0) < share(f));
          fn = open[Math.floor(next() * open.length)] ?? 'collect-region';
        }
        if (busy.length > 0) await sleep(next() * (fn === 'collect-region' ? 1200 : 30));
        const serving = e.gateway.activeCalls(fn);
        if (e.gateway.kill(fn)) {
          killed++;
          if (serving > 0) {
            busyKills++;
            servedKill.add(fn);
          }
          byFunction[fn] = (byFunction[fn] ?? 0) + 1;
          last = await progressOf(e, id);
          e.log(`SIGKILL ${fn} (${killed}/${target}; it was serving ${serving} calls)`);
        }
      }
    };
    // Two days (--short: one), and a third (second) when not every kill has happened yet.
    const days = ctx.short ? 1 : 2;
    for (let d = 0; d < Math.min(ctx.ref.prices.length, days + 1); d++) {
      if (d >= days && killed >= target && lost >= losses) break;
      await r.runDay({ resume: true, during: monkey });
    }
    r.note(
      `killed: ${JSON.stringify(byFunction)}, ${busyKills} of them while serving calls (${[...servedKill].join(', ')}); accepted async calls lost: ${lost}`,
    );
    if (killed < target) r.note(`only ${killed} of ${target} kills happened while runs were active`);
  },
});

// --- 3. PostgreSQL restarted -----------------------------------------------------------------

const pgRestart = (days: number): Scenario => ({
  name: 'postgres-restart',
  title:
    'PostgreSQL restarted in the middle of each run (a crash on day 1, a fast shutdown on day 2); resume re-drives',
  run: async (ctx, r) => {
    await r.start();
    const next = rng(ctx.seed * 13 + 5);
    for (let d = 0; d < days; d++) {
      const crash = d === 0;
      await r.runDay({
        resume: true,
        during: async (env, id, over) => {
          if (crash) {
            // The middle of collection: a third of the items ended.
            for (;;) {
              if (over()) return;
              const p = await env.progress(id).catch(() => null);
              if (p && p.total > 0 && p.ended >= p.total * (0.2 + next() * 0.3)) break;
              await sleep(50);
            }
          } else {
            await sleep(200 + next() * 1200);
            if (over()) return;
          }
          await env.restartDatabase({ immediate: crash, downMs: crash ? 2000 : 1000 });
        },
      });
    }
  },
});

// --- 4. API faults -------------------------------------------------------------------------------

const FAULTS: FaultKind[] = ['429', '500', '502', '503', 'malformed', 'truncated', 'slow', 'slow-body', 'timeout'];

const apiFaults = (): Scenario => ({
  name: 'api-faults',
  title: `10% of API requests fail (${FAULTS.join(', ')}; slow 300 ms, timeout 400 ms); day 2 on a quota below its needs`,
  run: async (ctx, r) => {
    const env = await r.start();
    for (const k of FAULTS)
      if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`the simulator has no fault ${k}`);
    env.sim.setFaults({ rate: 0.1, kinds: FAULTS, seed: ctx.seed, slowMs: 300, timeoutMs: 400 });
    await r.runDay({ resume: true });
    // Day 2: the day's limit (quota - buffer) is 60% of what the clean run needed, so
    // the budget defers work and concurrent replicas press against the reservation.
    const need = ctx.ref.calls[1] ?? 1000;
    const buffer = 50;
    const limit = Math.max(150, Math.floor(need * 0.6));
    await r.runDay({
      resume: true,
      before: async (e) => {
        await setSettings(e.pool, { eodhd_daily_quota: limit + buffer, eodhd_quota_buffer: buffer });
        e.sim.setFaults({ rate: 0.1, kinds: FAULTS, seed: ctx.seed + 1, slowMs: 300, timeoutMs: 400 });
      },
    });
    r.note(`day 2: quota ${limit + buffer}, buffer ${buffer} (limit ${limit}) against the clean run's ${need} calls`);
    env.sim.setFaults({});
  },
});

// --- 5. simultaneous triggers ---------------------------------------------------------------------

const triggers = (n: number): Scenario => ({
  name: 'triggers',
  title: `${n} simultaneous triggers: sync on day 1, async with callbacks on day 2; one run opens, ${n - 1} get 409 with its id`,
  run: async (_ctx, r) => {
    await r.start();
    const conflictsCheck = (name: string, statuses: number[], ids: Array<unknown>): number => {
      const opened = statuses.filter((s) => s === 202).length;
      const conflicts = statuses.filter((s) => s === 409).length;
      const openedId = ids[statuses.indexOf(202)];
      const wrongIds = ids.filter((id, i) => statuses[i] === 409 && id !== openedId).length;
      const found = Math.abs(opened - 1) + (n - 1 - conflicts) + wrongIds;
      r.add({
        name,
        kind: 'duplicates',
        found,
        detail: `${n} triggers: ${opened} opened a run, ${conflicts} got 409 (${wrongIds} with another id)`,
        examples: found ? statuses.map((s, i) => ({ status: s, executionId: ids[i] })) : [],
      });
      r.figures.conflicts += conflicts;
      if (typeof openedId !== 'number')
        throw new Error(`${name}: no trigger opened a run: ${JSON.stringify(statuses)}`);
      return openedId;
    };
    // Day 1: ten cron triggers at once through the sync route.
    await r.runDay({
      resume: false,
      open: async (env) => {
        const answers = await Promise.all(Array.from({ length: n }, () => env.trigger()));
        return conflictsCheck(
          'oneRunPerTrigger(sync)',
          answers.map((a) => a.status),
          answers.map((a) => a.json?.executionId),
        );
      },
    });
    // Day 2: ten async triggers (the cron-connector's asynchronous mode), answers by callback.
    await r.runDay({
      resume: false,
      open: async (env) => {
        const got: Array<{ status: number; executionId: unknown }> = [];
        const cb = http.createServer((req, res) => {
          let body = '';
          req.on('data', (c) => (body += c));
          req.on('end', () => {
            env.answers.push(body);
            let id: unknown = null;
            try {
              id = (JSON.parse(body) as { executionId?: unknown }).executionId;
            } catch {
              /* not JSON */
            }
            got.push({ status: Number(req.headers['x-function-status']), executionId: id });
            res.end();
          });
        });
        await new Promise<void>((ok) => cb.listen(0, '127.0.0.1', ok));
        const url = `http://127.0.0.1:${(cb.address() as { port: number }).port}/cb`;
        try {
          const accepted = await Promise.all(
            Array.from({ length: n }, (_, i) =>
              env.call('init-execution', '', {
                async: true,
                headers: {
                  'x-callback-url': url,
                  'x-call-id': `chaos-async-trigger-${i}`,
                  'x-topic': 'cron-function',
                  'x-connector': 'cron-connector',
                },
              }),
            ),
          );
          if (accepted.some((a) => a.status !== 202))
            throw new Error(`async triggers: ${accepted.map((a) => a.status).join(',')}`);
          for (let i = 0; i < 200 && got.length < n; i++) await sleep(50);
        } finally {
          cb.close();
        }
        return conflictsCheck(
          'oneRunPerTrigger(async)',
          got.map((g) => g.status),
          got.map((g) => g.executionId),
        );
      },
    });
    const [daily] = await r.env!.q<{ n: number }>(
      `SELECT count(*)::int AS n FROM process_executions WHERE process_name = 'daily_pipeline'`,
    );
    r.add({
      name: 'runsOpened',
      kind: 'duplicates',
      found: Math.abs(daily!.n - 2),
      detail: `${daily!.n} daily runs for two rounds of ${n} triggers`,
      examples: [],
    });
  },
});

// --- 6. hostile inputs ----------------------------------------------------------------------------------

const badInputs = (): Scenario => ({
  name: 'bad-inputs',
  title:
    'at least 50 malformed or hostile inputs per function, on an empty database and after a run: 4xx with a reason, no row changed',
  run: async (_ctx, r) => {
    const env = await r.start();
    const barrage = async (phase: string) => {
      await Promise.race([env.gateway.idle(), sleep(30_000)]);
      const before = await tableFingerprints(env.pool);
      const asyncBefore = env.gateway.stats().asyncCalls;
      let notRejected = 0;
      let noReason = 0;
      let messageOnlyCount = 0;
      const bad: unknown[] = [];
      const messageOnly: unknown[] = [];
      // The chain's functions, and the screen (read-only: its own corpus).
      const targets: Array<[string, BadInput[]]> = [
        ...FUNCTION_NAMES.map((fn): [string, BadInput[]] => [fn, badInputsFor(fn)]),
        ['screen', screenBadInputs()],
      ];
      for (const [fn, inputs] of targets) {
        for (const input of inputs) {
          r.figures.badInputs++;
          const a = await env.call(`${fn}${input.query ?? ''}`, input.body, {
            method: input.method ?? 'POST',
            headers: { 'content-type': 'application/json', ...input.headers },
          });
          const reason = a.json?.reason;
          const message = a.json?.message;
          if (!(a.status >= 400 && a.status < 500) || a.json === null) {
            notRejected++;
            if (bad.length < 8) bad.push({ fn, what: input.what, status: a.status, answer: a.text.slice(0, 200) });
          } else if (typeof reason !== 'string' || reason.length < 6) {
            // README: "bad input is a 400 with a reason". The template's own refusals (a body
            // over its limit) explain under `message` instead: reported, not failed.
            if (typeof message === 'string' && message.length >= 6) {
              if (messageOnly.length < 3)
                messageOnly.push({ fn, what: input.what, status: a.status, answer: a.text.slice(0, 160) });
              messageOnlyCount++;
            } else {
              noReason++;
              if (bad.length < 8) bad.push({ fn, what: input.what, status: a.status, answer: a.text.slice(0, 200) });
            }
          }
        }
      }
      await Promise.race([env.gateway.idle(), sleep(30_000)]);
      const after = await tableFingerprints(env.pool);
      r.add({
        name: `badInputsRejected(${phase})`,
        kind: 'written',
        found: notRejected,
        detail: `every bad input answered 4xx with a JSON body`,
        examples: bad,
      });
      r.add({
        name: `badInputsGiveReason(${phase})`,
        kind: 'written',
        found: noReason,
        detail: "every 4xx says why (under `reason`, or the template's `message`)",
        examples: bad,
      });
      if (messageOnlyCount > 0)
        r.note(
          `${phase}: ${messageOnlyCount} refusals explain under \`message\`, not \`reason\` (the template's body-size limit, templates/node20-ts/server.ts), e.g. ${JSON.stringify(messageOnly[0])}`,
        );
      r.add(nothingWritten(`badInputsWriteNothing(${phase})`, before, after));
      const invoked = env.gateway.stats().asyncCalls - asyncBefore;
      r.add({
        name: `badInputsInvokeNothing(${phase})`,
        kind: 'written',
        found: invoked,
        detail: 'no async invocation followed a bad input',
        examples: [],
      });
    };
    await barrage('empty database');
    await r.runDay({ resume: false });
    await barrage('after a run');
  },
});

export function scenarios(short: boolean): Scenario[] {
  return [
    duplicates('sequential'),
    duplicates('concurrent'),
    kills(short ? 6 : 20, 2),
    pgRestart(short ? 1 : 2),
    apiFaults(),
    triggers(10),
    badInputs(),
  ];
}

export async function runScenario(s: Scenario, ctx: SuiteContext): Promise<ScenarioResult> {
  const started = Date.now();
  const r = new ScenarioRecorder(s.name, ctx);
  let error: string | undefined;
  try {
    await s.run(ctx, r);
    await r.finish();
  } catch (err) {
    error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    r.add({
      name: 'scenarioRan',
      kind: 'liveness',
      found: 1,
      detail: 'the scenario ran to its end',
      examples: [error.slice(0, 500)],
    });
  } finally {
    await r.env?.close(ctx.keepDatabases).catch(() => {});
  }
  return {
    name: s.name,
    title: s.title,
    seconds: (Date.now() - started) / 1000,
    figures: r.figures,
    checks: r.checks,
    notes: r.notes,
    error,
  };
}
