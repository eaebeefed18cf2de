/**
 * Applies the numbered files of sql/ in order, each once, each in its own transaction,
 * under an advisory lock so that two processes starting together never apply one twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { refillFundamentalColumns } from './fundamentals.js';

const MIGRATION_LOCK = 727_001;

export function sqlDir(): string {
  if (process.env.SQL_DIR) return path.resolve(process.env.SQL_DIR);
  // dist/shared/migrate.js -> <root>/sql, and shared/migrate.ts -> <root>/sql alike.
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const candidate of [path.resolve(here, '..', '..', 'sql'), path.resolve(here, '..', 'sql')]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`no sql/ folder found near ${here}`);
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
  refilledFundamentals: number;
}

function migrationFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort();
}

/** The migrations of sql/ that the database has not applied (all of them on an empty one). */
export async function pendingMigrations(q: pg.Pool, dir = sqlDir()): Promise<string[]> {
  const table = (await q.query<{ t: string | null }>(`SELECT to_regclass('public.schema_migrations')::text AS t`))
    .rows[0];
  if (!table?.t) return migrationFiles(dir);
  const done = new Set(
    (await q.query<{ name: string }>('SELECT name FROM public.schema_migrations')).rows.map((r) => r.name),
  );
  return migrationFiles(dir).filter((f) => !done.has(f));
}

export async function migrate(pool: pg.Pool, dir = sqlDir()): Promise<MigrationResult> {
  const files = migrationFiles(dir);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS public.schema_migrations (
      name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await client.query<{ name: string }>('SELECT name FROM public.schema_migrations')).rows.map((r) => r.name),
    );
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = fs.readFileSync(path.join(dir, file), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO public.schema_migrations (name) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      applied.push(file);
    }
    // Data a new mapping reads differently: filled again from what is stored.
    const refilled = await refillFundamentalColumns(client);
    return { applied, alreadyApplied: done.size, refilledFundamentals: refilled };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}
