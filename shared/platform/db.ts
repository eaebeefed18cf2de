/**
 * The database is the state machine. One pool per process; every statement runs with
 * search_path set to the pipeline's schema, so SQL beside each operation stays short.
 */
import pg from 'pg';
import { databaseUrl } from './config.js';

export const SCHEMA = 'financial_screener';

// Dates stay 'YYYY-MM-DD' strings (no time-zone shifts); bigints are numbers (ids and
// counts stay far below 2^53).
pg.types.setTypeParser(pg.types.builtins.DATE, (v: string) => v);
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v: string) => Number(v));

export type Db = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient;

let shared: pg.Pool | undefined;

export function createPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    options: `-c search_path=${SCHEMA},public`,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: process.env.FUNCTION_NAME ?? 'screener-pipeline',
  });
  // A dropped idle connection (database restarted) must not crash the process.
  pool.on('error', () => {});
  return pool;
}

/** The process's pool, created on first use from the database-url secret. */
export function db(): pg.Pool {
  if (!shared) shared = createPool(databaseUrl(), Number(process.env.PG_POOL_MAX ?? 10));
  return shared;
}

export async function closeDb(): Promise<void> {
  const p = shared;
  shared = undefined;
  if (p) await p.end();
}

// Connection failures, and PostgreSQL's "shutting down / starting up / cannot connect now".
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** Whether an error says the database is away (worth retrying later), not that a statement is wrong. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(
    e.message ?? '',
  );
}

/** Runs fn in one transaction: everything it writes lands together or not at all. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  // The pool listens for errors only on idle clients: a checked-out one whose connection
  // dies (the database restarted) would emit an unhandled 'error' and crash the process,
  // and every other invocation it was serving with it. The statement in flight fails
  // anyway; a broken client is then released with its error, so the pool drops it.
  // The listener goes on in connect's callback, which the pool calls as it hands the
  // client over: with the promise form it would go on a microtask later, after the rest
  // of the network read that freed the client (a FATAL in it found no listener).
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  const client = await new Promise<pg.PoolClient>((resolve, reject) => {
    pool.connect((err, c) => {
      if (err || !c) return reject(err ?? new Error('the pool gave no client'));
      c.on('error', onError);
      resolve(c);
    });
  });
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: unknown) => {
      broken ??= e instanceof Error ? e : new Error(String(e));
    });
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}
