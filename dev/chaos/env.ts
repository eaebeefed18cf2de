/**
 * One chaos scenario's world: its own database (on the suite's PostgreSQL server), its own
 * EODHD simulator (fresh, deterministic, same clock as the reference), and the local
 * gateway running the functions of stack.yml as separate processes against them. Everything the
 * functions print and everything they answer is kept, for the key check.
 *
 * The driver talks to the functions only through the gateway, as the cron-connector and
 * an operator do; it reads the database to know when a run is over.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { request } from 'undici';
import { createPool } from '../../shared/platform/db.js';
import type { FunctionName } from '../../shared/platform/invoke.js';
import { migrate } from '../../shared/store/migrate.js';
import type { LocalPostgres } from '../embedded-postgres.js';
import { type DuplicateDelivery, type LocalGateway, startLocalGateway } from '../gateway/index.js';
import { type Simulator, startSimulator } from '../simulator/index.js';

export interface ChaosConfig {
  /** The suite's PostgreSQL server (restartable). */
  server: LocalPostgres;
  /** The simulator's key: checked for in every row, log line and answer at the end. */
  apiKey: string;
  /** The simulated day the first run collects (every scenario and the reference start there). */
  today: string;
  /** Folder for function logs (one file per scenario). */
  logDir: string;
  /** How long collect-region works before it continues itself (small: more continuations, more chances). */
  collectTimeBudgetMs: number;
  /** Work-item lease (the setting's minimum is 10 s): a killed replica's items come back after it. */
  workItemLeaseSeconds: number;
  /** Step leases are capped at this (PIPELINE_STEP_LEASE_MAX_SECONDS): a killed step can be claimed again after it. */
  stepLeaseMaxSeconds: number;
  requestsPerMinute: number;
  /** The EODHD client's headers and body timeouts (EODHD_HEADERS/BODY_TIMEOUT_MS): a request
   * whose process died is settled against the API's count once twice this (and 5 s) is over. */
  apiTimeoutMs: number;
  /** How long a run may take before the scenario calls it stalled. */
  runTimeoutMs: number;
  verbose: boolean;
}

export interface EnvOptions {
  duplicateDelivery?: DuplicateDelivery;
  ackWaitMs?: number;
}

export interface Answer {
  status: number;
  text: string;
  json: Record<string, unknown> | null;
  headers: Record<string, string>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ScenarioEnv {
  readonly answers: string[] = [];
  readonly redriven: Array<{ executionId: number; step: string; shard?: string }> = [];
  resumeCalls = 0;
  pgRestarts = 0;
  private resumeTimer: NodeJS.Timeout | null = null;
  private resumeBusy = false;
  private logStream: fs.WriteStream;

  private constructor(
    readonly name: string,
    readonly cfg: ChaosConfig,
    readonly dbName: string,
    readonly dbUrl: string,
    readonly pool: pg.Pool,
    readonly sim: Simulator,
    readonly gateway: LocalGateway,
    /** Every line the function processes (and the gateway) printed. */
    readonly logs: string[],
    logStream: fs.WriteStream,
  ) {
    this.logStream = logStream;
  }

  static async start(name: string, cfg: ChaosConfig, opts: EnvOptions = {}): Promise<ScenarioEnv> {
    const dbName = `chaos_${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${Date.now().toString(36)}`;
    const dbUrl = await createDatabase(cfg.server.url, dbName);
    const pool = createPool(dbUrl, 5);
    await migrate(pool);
    await setSettings(pool, {
      eodhd_requests_per_minute: cfg.requestsPerMinute,
      work_item_lease_seconds: cfg.workItemLeaseSeconds,
      item_retry_delay_seconds: 1,
      // The indicator history's first backfill (the sample: ~350,000 asset-sessions, a minute
      // or more of calc-indicators on a busy machine) in small shares: a scenario checks what
      // deliveries, kills and restarts do to a run within its time limit, and a share still
      // runs the history's writes under them.
      indicator_history_sessions_per_run: 20_000,
    });
    const sim = await startSimulator({
      universe: 'sample',
      today: cfg.today,
      perMinuteLimit: Math.ceil(cfg.requestsPerMinute / 0.9),
      apiKey: cfg.apiKey,
    });
    fs.mkdirSync(cfg.logDir, { recursive: true });
    const logStream = fs.createWriteStream(path.join(cfg.logDir, `${name}.log`), { flags: 'w' });
    const lines: string[] = [];
    const gateway = await startLocalGateway({
      env: {
        DATABASE_URL: dbUrl,
        EODHD_API_KEY: cfg.apiKey,
        EODHD_BASE_URL: sim.url,
        SECRETS_DIR: path.join(cfg.logDir, 'no-secrets'),
        COLLECT_TIME_BUDGET_MS: String(cfg.collectTimeBudgetMs),
        PIPELINE_STEP_LEASE_MAX_SECONDS: String(cfg.stepLeaseMaxSeconds),
        PG_POOL_MAX: '8',
        EODHD_HEADERS_TIMEOUT_MS: String(cfg.apiTimeoutMs),
        EODHD_BODY_TIMEOUT_MS: String(cfg.apiTimeoutMs),
      },
      onLog: (fn, line) => {
        lines.push(line);
        logStream.write(`${fn}\t${line}\n`);
      },
      duplicateDelivery: opts.duplicateDelivery,
      ackWaitMs: opts.ackWaitMs,
    });
    return new ScenarioEnv(name, cfg, dbName, dbUrl, pool, sim, gateway, lines, logStream);
  }

  log(message: string): void {
    this.logStream.write(`driver\t${JSON.stringify({ ts: new Date().toISOString(), event: 'chaos', message })}\n`);
    if (this.cfg.verbose) process.stderr.write(`  [${this.name}] ${message}\n`);
  }

  /** A query that rides out a database restart (retried while the server is away). */
  async q<T = Record<string, unknown>>(sql: string, args: unknown[] = [], patienceMs = 60_000): Promise<T[]> {
    const deadline = Date.now() + patienceMs;
    for (;;) {
      try {
        return (await this.pool.query(sql, args)).rows as T[];
      } catch (err) {
        if (Date.now() > deadline || !isConnectionError(err)) throw err;
        await sleep(200);
      }
    }
  }

  /** POST to a function through the gateway (sync route), keeping the answer for the key check. */
  async call(
    fn: FunctionName | string,
    body: string | Buffer,
    opts: { method?: string; headers?: Record<string, string>; async?: boolean } = {},
  ): Promise<Answer> {
    const res = await request(`${this.gateway.url}/${opts.async ? 'async-function' : 'function'}/${fn}`, {
      method: (opts.method ?? 'POST') as 'POST',
      body: opts.method === 'GET' || opts.method === 'HEAD' ? undefined : body,
      // JSON, as the chain and curl -H 'Content-Type: application/json' send it, unless the call says otherwise.
      headers: { ...(body.length > 0 ? { 'content-type': 'application/json' } : {}), ...(opts.headers ?? {}) },
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
    const text = await res.body.text();
    this.answers.push(text);
    let json: Record<string, unknown> | null = null;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      /* not JSON */
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
    return { status: res.statusCode, text, json, headers };
  }

  /** What the cron-connector sends: an empty POST with its headers. */
  async trigger(body = ''): Promise<Answer> {
    return this.call('init-execution', body, {
      headers: {
        'x-topic': 'cron-function',
        'x-connector': 'cron-connector',
        'x-call-id': `chaos-${this.name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
    });
  }

  /** Opens a run (202 expected) and returns its id. */
  async openRun(body = ''): Promise<number> {
    const a = await this.trigger(body);
    const id = a.json?.executionId;
    if (a.status !== 202 || typeof id !== 'number')
      throw new Error(`${this.name}: init-execution answered ${a.status}: ${a.text.slice(0, 300)}`);
    this.log(`run ${id} opened`);
    return id;
  }

  /**
   * What resume-runs does on the cluster (every 10 minutes, staleMinutes 15), sped up:
   * every everyMs, re-drive steps idle for staleSeconds. Calls that fail (the function
   * was just killed) are simply made again next time, as a cron would.
   */
  startResume(everyMs: number, staleSeconds: number): void {
    this.stopResume();
    this.resumeTimer = setInterval(() => {
      if (this.resumeBusy) return;
      this.resumeBusy = true;
      this.resumeCalls++;
      this.call('init-execution', JSON.stringify({ mode: 'resume', staleSeconds }))
        .then((a) => {
          const r = (a.json?.redriven ?? []) as Array<{ executionId: number; step: string; shard?: string }>;
          if (r.length > 0) {
            this.redriven.push(...r);
            this.log(`resume re-drove ${JSON.stringify(r)}`);
          }
        })
        .catch(() => {
          /* the gateway or the function is restarting: next time */
        })
        .finally(() => {
          this.resumeBusy = false;
        });
    }, everyMs);
    this.resumeTimer.unref();
  }

  /**
   * What resume-runs does for API requests whose outcome no process wrote (it died, or the
   * database was away): once they are past their deadline, one resume call settles them
   * against the API's count. Waits for the deadlines (at most maxWaitMs); null when there
   * was nothing to settle.
   */
  async settleUnknownCalls(
    maxWaitMs = 60_000,
  ): Promise<{ calls: number; reserved: number; attributed: number } | null> {
    const until = Date.now() + maxWaitMs;
    for (;;) {
      const [r] = await this.q<{ waiting: number; wait_ms: number }>(`
        SELECT count(*)::int AS waiting, coalesce(ceil(extract(epoch FROM max(deadline_at) - now()) * 1000), 0)::int AS wait_ms
          FROM api_calls WHERE outcome IN ('sent', 'no_answer')`);
      this.log(`requests of unknown outcome: ${r?.waiting ?? 0}, the last deadline in ${r?.wait_ms ?? 0} ms`);
      if (!r || r.waiting === 0) return null;
      if (r.wait_ms < 0 || Date.now() + r.wait_ms > until) break;
      await sleep(r.wait_ms + 100);
    }
    const a = await this.call('init-execution', JSON.stringify({ mode: 'resume', staleSeconds: 86_400 }));
    const settled = a.json?.apiCallsSettled as
      | { calls: number; reserved: number; attributed: number }
      | null
      | undefined;
    if (a.status !== 200) throw new Error(`${this.name}: resume answered ${a.status}: ${a.text.slice(0, 300)}`);
    this.log(`resume settled ${JSON.stringify(settled)}`);
    return settled ?? null;
  }

  stopResume(): void {
    if (this.resumeTimer) clearInterval(this.resumeTimer);
    this.resumeTimer = null;
  }

  /**
   * Waits until the run has finished and its indicator step is done (the whole chain).
   * False when it did not within the timeout (stalled).
   */
  async waitForRun(executionId: number, timeoutMs = this.cfg.runTimeoutMs): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const [r] = await this.q<{ status: string; calc: string | null }>(
          `SELECT e.status, (SELECT status FROM pipeline_steps s WHERE s.execution_id = e.execution_id AND s.step = 'calc-indicators') AS calc
             FROM process_executions e WHERE e.execution_id = $1`,
          [executionId],
          5_000,
        );
        if (r && r.status !== 'running' && (r.calc === 'done' || (r.status === 'failed' && r.calc === null)))
          return true;
      } catch {
        /* the server is restarting */
      }
      await sleep(250);
    }
    return false;
  }

  /** Share of the run's collection items that have ended (for choosing "the middle of a run"). */
  async progress(executionId: number): Promise<{ ended: number; total: number; step: string | null }> {
    const [r] = await this.q<{ ended: number; total: number; step: string | null }>(
      `
      SELECT count(*) FILTER (WHERE w.status IN ('done', 'failed', 'deferred', 'skipped'))::int AS ended, count(*)::int AS total,
             (SELECT current_step FROM process_executions WHERE execution_id = $1) AS step
        FROM work_items w WHERE w.execution_id = $1`,
      [executionId],
      5_000,
    );
    return r!;
  }

  /** The steps of a run as they stand (for a stalled run's report). */
  async stepsOf(executionId: number): Promise<unknown[]> {
    return this.q(
      `SELECT step, shard, status, attempts, lease_expires_at > now() AS leased, error_message FROM pipeline_steps WHERE execution_id = $1 ORDER BY created_at, step, shard`,
      [executionId],
    );
  }

  async restartDatabase(opts: { immediate?: boolean; downMs?: number }): Promise<void> {
    this.log(
      `PostgreSQL ${opts.immediate ? 'crash (SIGQUIT)' : 'fast shutdown (SIGINT)'}, down ${opts.downMs ?? 0} ms`,
    );
    await this.cfg.server.restart(opts);
    this.pgRestarts++;
    this.log('PostgreSQL is back');
  }

  async close(keepDatabase = false): Promise<void> {
    this.stopResume();
    await this.gateway.close();
    await this.sim.close();
    await this.pool.end().catch(() => {});
    await new Promise<void>((r) => this.logStream.end(() => r()));
    if (!keepDatabase) await dropDatabase(this.cfg.server.url, this.dbName).catch(() => {});
  }
}

export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 08xxx connection exceptions.
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03'].includes(code) ||
    code.startsWith('08') ||
    /Connection terminated|connection timeout|ECONNREFUSED|the database system is (starting|shutting) up|Client has encountered a connection error|terminating connection/i.test(
      e?.message ?? '',
    )
  );
}

export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Writes settings straight into pipeline_settings (jsonb), whatever keys the settings module knows today. */
export async function setSettings(pool: pg.Pool, values: Record<string, unknown>): Promise<void> {
  for (const [key, value] of Object.entries(values)) {
    await pool.query(
      `INSERT INTO pipeline_settings (key, value, description) VALUES ($1, $2::jsonb, $1)
                      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [key, JSON.stringify(value)],
    );
  }
}
