/**
 * Applies the numbered files of sql/ in order, each once, each in its own transaction,
 * under an advisory lock so that two processes starting together never apply one twice.
 * Each applied file's checksum is recorded: a file edited after it was applied is refused
 * (its change would never reach a database that has it), with the file's name.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { errorText } from '../platform/log.js';
import { refillFundamentalColumns } from './fundamentals.js';

const MIGRATION_LOCK = 727_001;

export function sqlDir(): string {
  if (process.env.SQL_DIR) return path.resolve(process.env.SQL_DIR);
  // dist/shared/store/migrate.js, shared/store/migrate.ts and a bundle in dist/ -> <root>/sql alike.
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of [3, 2, 1]) {
    const candidate = path.resolve(here, ...Array<string>(up).fill('..'), 'sql');
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

/** A migration's checksum: sha256 of its text, line endings folded (a Windows checkout is the same file). */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

export async function migrate(pool: pg.Pool, dir = sqlDir()): Promise<MigrationResult> {
  const files = migrationFiles(dir);
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS public.schema_migrations (
      name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    await client.query('ALTER TABLE public.schema_migrations ADD COLUMN IF NOT EXISTS checksum text');
    const done = new Map(
      (
        await client.query<{ name: string; checksum: string | null }>(
          'SELECT name, checksum FROM public.schema_migrations',
        )
      ).rows.map((r) => [r.name, r.checksum]),
    );
    const texts = new Map(files.map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
    // Applied files first: an edited one stops everything before anything new is applied.
    for (const [file, recorded] of done) {
      const text = texts.get(file);
      if (text === undefined) continue;
      const now = migrationChecksum(text);
      if (recorded === null)
        // Applied before checksums were kept: what is there now is taken as what was applied.
        await client.query('UPDATE public.schema_migrations SET checksum = $2 WHERE name = $1', [file, now]);
      else if (recorded !== now)
        throw new Error(
          `sql/${file} was changed after it was applied (checksum ${recorded.slice(0, 12)} recorded, ${now.slice(0, 12)} now): put it back as it was and make the change a new migration`,
        );
    }
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = texts.get(file)!;
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO public.schema_migrations (name, checksum) VALUES ($1, $2)', [
          file,
          migrationChecksum(sql),
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${errorText(err)}`);
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
