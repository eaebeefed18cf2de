/**
 * The pipeline on one machine: a database (DATABASE_URL, or an embedded PostgreSQL), the
 * EODHD API (EODHD_API_KEY, or the offline simulator), the schema, and the local gateway
 * running the six functions. Used by `npm start`, `npm run serve` and the tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { createPool } from '../shared/db.js';
import { migrate } from '../shared/migrate.js';
import type { FunctionName } from '../shared/invoke.js';
import { startLocalPostgres, type LocalPostgres } from './embedded-postgres.js';
import { startLocalGateway, type LocalGateway } from './gateway/index.js';
import { startSimulator, type Simulator, type SimulatorOptions } from './simulator/index.js';

export interface LocalStackOptions {
  /** Folder for the embedded database, the simulator's clock and the function logs. */
  dataDir: string;
  gatewayPort?: number;
  simulator?: SimulatorOptions;
  /** Advance the simulator's clock by this many trading days when it resumes from its state file. */
  advanceDays?: number;
  functionLog?: 'stdout' | 'file';
  env?: Record<string, string>;
  functionEnv?: Partial<Record<FunctionName | 'resume-runs', Record<string, string>>>;
  /** Run stack.yml's schedules, as the cron-connector does (npm run serve). */
  cron?: boolean;
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

export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  fs.mkdirSync(o.dataDir, { recursive: true });
  let localPg: LocalPostgres | null = null;
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    localPg = await startLocalPostgres({ dataDir: path.join(o.dataDir, 'pg'), persistent: true, quiet: true });
    databaseUrl = localPg.url;
  }
  const pool = createPool(databaseUrl, 5);
  await migrate(pool);

  let simulator: Simulator | null = null;
  let apiKey: string = process.env.EODHD_API_KEY ?? "";
  let apiBaseUrl = process.env.EODHD_BASE_URL ?? 'https://eodhd.com/api';
  if (!apiKey) {
    const stateFile = path.join(o.dataDir, 'simulator.json');
    const resumed = fs.existsSync(stateFile);
    simulator = await startSimulator({ stateFile, ...o.simulator });
    if (resumed && o.advanceDays) simulator.advanceTradingDays(o.advanceDays);
    apiKey = o.simulator?.apiKey ?? 'sim-demo-key';
    apiBaseUrl = simulator.url;
  }

  let logFile: string | null = null;
  let logStream: fs.WriteStream | null = null;
  if (o.functionLog === 'file') {
    logFile = path.join(o.dataDir, 'functions.log');
    logStream = fs.createWriteStream(logFile, { flags: 'a' });
  }
  const gateway = await startLocalGateway({
    port: o.gatewayPort,
    env: { DATABASE_URL: databaseUrl, EODHD_API_KEY: apiKey, EODHD_BASE_URL: apiBaseUrl, SECRETS_DIR: path.join(o.dataDir, 'no-secrets'), ...(o.env ?? {}) },
    functionEnv: o.functionEnv,
    onLog: logStream ? (_fn, line) => logStream!.write(line + '\n') : undefined,
    cron: o.cron ?? false,
    // The admin password of /system/* is generated once and kept beside the data.
    authDir: path.join(o.dataDir, 'gateway'),
    liveness: o.liveness,
  });
  return {
    databaseUrl, pool, gateway, simulator, apiBaseUrl, logFile,
    close: async () => {
      await gateway.close();
      await pool.end();
      if (simulator) await simulator.close();
      if (localPg) await localPg.stop();
      if (logStream) await new Promise<void>((r) => logStream!.end(() => r()));
    },
  };
}
