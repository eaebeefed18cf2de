/** A fresh, migrated database for one test file, on the server `npm test` provides. */
import './quiet-logs.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPool } from '../../shared/platform/db.js';
import { migrate } from '../../shared/store/migrate.js';

export interface TestDb {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url)
    throw new Error('no database for tests: run them with `npm test` (it starts PostgreSQL) or set DATABASE_URL');
  return url;
}

/** A fresh database (migrated, unless told otherwise). */
export async function createTestDb(opts: { migrate?: boolean } = {}): Promise<TestDb> {
  const base = serverUrl();
  const name = `screener_test_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const url = u.toString();
  const pool = createPool(url, 10);
  if (opts.migrate !== false) await migrate(pool);
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/** Row counts of every table the pipeline writes: "nothing was written" means these did not change. */
export async function rowCounts(pool: pg.Pool): Promise<Record<string, number>> {
  const tables = [
    'assets',
    'stock_prices',
    'fundamentals',
    'technical_indicators',
    'process_executions',
    'asset_processing_state',
    'asset_processing_details',
    'pipeline_steps',
    'work_items',
    'api_calls',
    'api_quota_days',
    'pipeline_settings',
    'bulk_eod_rows',
  ];
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`)).rows[0]!.n;
  return out;
}
