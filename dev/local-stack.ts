/**
 * The pipeline on one machine: a database (DATABASE_URL, or an embedded PostgreSQL), the
 * EODHD API (EODHD_API_KEY, or the offline simulator), the schema, and the local gateway
 * running the functions of stack.yml. Used by `npm start`, `npm run serve` and the tests.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { checkDatabase, databaseUrlProblem } from '../shared/platform/database-problem.js';
import { createPool } from '../shared/platform/db.js';
import type { FunctionName } from '../shared/platform/invoke.js';
import { migrate } from '../shared/store/migrate.js';
import { lockDataDir } from './data-dir-lock.js';
import { type LocalPostgres, startLocalPostgres } from './embedded-postgres.js';
import { type LocalGateway, startLocalGateway } from './gateway/index.js';
import { type Simulator, type SimulatorOptions, startSimulator } from './simulator/index.js';

export interface LocalStackOptions {
  /** Folder for the embedded database, the simulator's clock and the function logs. */
  dataDir: string;
  gatewayPort?: number;
  simulator?: SimulatorOptions;
  /** Advance the simulator's clock by this many trading days when it resumes from its state file. */
  advanceDays?: number;
  functionLog?: 'stdout' | 'file';
  env?: Record<string, string>;
  functionEnv?: Partial<Record<FunctionName | 'resume-runs' | 'status' | 'screen', Record<string, string>>>;
  /** Run stack.yml's schedules, as the cron-connector does (npm run serve). */
  cron?: boolean;
  /** Settings of the embedded PostgreSQL server, as -c name=value pairs (the bench's shared_buffers). */
  postgresFlags?: string[];
  /** Liveness of the function processes (default: checked every 10 s, restarted after 3 unanswered checks). */
  liveness?: { intervalMs: number; misses: number };
}

export interface LocalStack {
  databaseUrl: string;
  pool: pg.Pool;
  gateway: LocalGateway;
  simulator: Simulator | null;
  apiBaseUrl: string;
  logFile: string | null;
  close(): Promise<void>;
}

/**
 * Starts everything, or throws an error of one line that says what to do (the data folder
 * in use, the database unreachable or its URL malformed), leaving nothing running.
 */
export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  fs.mkdirSync(o.dataDir, { recursive: true });
  const unlock = lockDataDir(o.dataDir);
  // What has started so far, stopped in reverse order if a later part fails.
  const started: Array<() => Promise<void>> = [async () => unlock()];
  try {
    return await start(o, started, unlock);
  } catch (err) {
    for (const stop of started.reverse()) await stop().catch(() => {});
    throw err;
  }
}

async function start(
  o: LocalStackOptions,
  started: Array<() => Promise<void>>,
  unlock: () => void,
): Promise<LocalStack> {
  let localPg: LocalPostgres | null = null;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    localPg = await startLocalPostgres({
      dataDir: path.join(o.dataDir, 'pg'),
      persistent: true,
      quiet: true,
      extraFlags: o.postgresFlags,
    });
    started.push(() => localPg!.stop());
    databaseUrl = localPg.url;
  }
  const problem = databaseUrlProblem(databaseUrl);
  if (problem) throw new Error(problem);
  const pool = createPool(databaseUrl, 5);
  started.push(() => pool.end());
  await checkDatabase(pool, databaseUrl);
  await migrate(pool);
  const screenUrl = await readerLogin(pool, databaseUrl);

  let simulator: Simulator | null = null;
  let apiKey: string = process.env.EODHD_API_KEY ?? '';
  let apiBaseUrl = process.env.EODHD_BASE_URL ?? 'https://eodhd.com/api';
  if (!apiKey) {
    const stateFile = path.join(o.dataDir, 'simulator.json');
    const resumed = fs.existsSync(stateFile);
    simulator = await startSimulator({ stateFile, ...o.simulator });
    started.push(() => simulator!.close());
    if (resumed && o.advanceDays) simulator.advanceTradingDays(o.advanceDays);
    apiKey = o.simulator?.apiKey ?? 'sim-demo-key';
    apiBaseUrl = simulator.url;
  }

  let logFile: string | null = null;
  let logStream: fs.WriteStream | null = null;
  if (o.functionLog === 'file') {
    logFile = path.join(o.dataDir, 'functions.log');
    logStream = fs.createWriteStream(logFile, { flags: 'a' });
    started.push(() => new Promise<void>((r) => logStream!.end(() => r())));
  }
  const gateway = await startLocalGateway({
    port: o.gatewayPort,
    env: {
      DATABASE_URL: databaseUrl,
      EODHD_API_KEY: apiKey,
      EODHD_BASE_URL: apiBaseUrl,
      SECRETS_DIR: path.join(o.dataDir, 'no-secrets'),
      ...(o.env ?? {}),
    },
    // The screen logs in as a member of screener_readers (sql/029), as on the cluster.
    functionEnv: { ...o.functionEnv, screen: { DATABASE_URL: screenUrl, ...(o.functionEnv?.screen ?? {}) } },
    onLog: logStream ? (_fn, line) => logStream!.write(line + '\n') : undefined,
    cron: o.cron ?? false,
    // The admin password of /system/* is generated once and kept beside the data.
    authDir: path.join(o.dataDir, 'gateway'),
    liveness: o.liveness,
  });
  return {
    databaseUrl,
    pool,
    gateway,
    simulator,
    apiBaseUrl,
    logFile,
    close: async () => {
      await gateway.close();
      await pool.end();
      if (simulator) await simulator.close();
      if (localPg) await localPg.stop();
      if (logStream) await new Promise<void>((r) => logStream!.end(() => r()));
      unlock();
    },
  };
}

/**
 * The screen's login: a member of screener_readers (sql/029) named after the database (roles
 * belong to the server, which tests share), with a new password at each start. A server
 * where the pipeline's login may not create roles keeps the pipeline's URL for the screen,
 * said once.
 */
export async function readerLogin(pool: pg.Pool, databaseUrl: string): Promise<string> {
  const u = new URL(databaseUrl);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
  const role = `screener_screen_${createHash('sha256').update(database).digest('hex').slice(0, 12)}`;
  const password = randomBytes(18).toString('hex');
  try {
    // Identifiers and the password are made here (hex), never taken from outside.
    await pool.query(`DO $$
      BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN
          ALTER ROLE ${role} LOGIN PASSWORD '${password}';
        ELSE
          CREATE ROLE ${role} LOGIN PASSWORD '${password}';
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        ALTER ROLE ${role} LOGIN PASSWORD '${password}';
      END $$`);
    await pool.query(`GRANT screener_readers TO ${role}`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.warn(
      `the screen reads with the pipeline's login: no read-only login could be made (${message}); create one IN ROLE screener_readers`,
    );
    return databaseUrl;
  }
  u.username = role;
  u.password = password;
  return u.toString();
}
