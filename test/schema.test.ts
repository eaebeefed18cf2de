/**
 * sql/schema.sql is the whole current schema: it equals what the migrations produce, and
 * applied to an empty database it produces that same schema again. The migrations are
 * applied once each, and an applied one is never edited unnoticed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import pg from 'pg';
import { readSchemaFile, schemaSql } from '../dev/schema.js';
import { migrate, migrationChecksum, sqlDir } from '../shared/store/migrate.js';
import { createTestDb } from './helpers/db.js';

test('sql/schema.sql equals the schema the migrations produce (npm run schema regenerates it)', async (t) => {
  const tdb = await createTestDb();
  try {
    const fromMigrations = await schemaSql(tdb.pool);
    t.is(readSchemaFile(sqlDir()), fromMigrations, 'sql/schema.sql is out of date: run npm run schema');
  } finally {
    await tdb.drop();
  }
});

test('sql/schema.sql applied to an empty database produces the same schema', async (t) => {
  const tdb = await createTestDb({ migrate: false });
  try {
    await tdb.pool.query(readSchemaFile(sqlDir()));
    t.is(await schemaSql(tdb.pool), readSchemaFile(sqlDir()));
  } finally {
    await tdb.drop();
  }
});

test("the schema's functions work from any search_path (an operator's psql)", async (t) => {
  const tdb = await createTestDb();
  const client = new pg.Client({ connectionString: tdb.url });
  await client.connect();
  try {
    await client.query('SET search_path = public');
    const progress = await client.query('SELECT * FROM financial_screener.get_processing_progress()');
    t.is(progress.rows.at(-1)?.region, 'all');
    const err = await t.throwsAsync(
      client.query(`SELECT * FROM financial_screener.reset_ticker_for_reprocessing('NOPE.US')`),
    );
    t.regex(err?.message ?? '', /no asset with symbol NOPE\.US/);
  } finally {
    await client.end();
    await tdb.drop();
  }
});

test("an operator's psql finds the views and functions without the schema prefix (the database's search_path)", async (t) => {
  const tdb = await createTestDb();
  const client = new pg.Client({ connectionString: tdb.url });
  await client.connect();
  try {
    const progress = await client.query('SELECT * FROM get_processing_progress()');
    t.is(progress.rows.at(-1)?.region, 'all');
    const err = await t.throwsAsync(client.query(`SELECT * FROM reset_ticker_for_reprocessing('NOPE.US', 'all')`));
    t.regex(err?.message ?? '', /no asset with symbol NOPE\.US/);
    t.deepEqual((await client.query('SELECT count(*)::int AS n FROM v_recent_executions')).rows, [{ n: 0 }]);
  } finally {
    await client.end();
    await tdb.drop();
  }
});

test('deleting an asset or a run removes what referred to it (triggers in place of foreign keys on the hot tables)', async (t) => {
  const tdb = await createTestDb();
  const q = async (sql: string, args: unknown[] = []) => (await tdb.pool.query(sql, args)).rows;
  const count = async (table: string, where: string, args: unknown[]) =>
    Number((await q(`SELECT count(*) AS n FROM ${table} WHERE ${where}`, args))[0]!.n);
  try {
    const [a, b] = (
      await q(
        `INSERT INTO assets (symbol, code, exchange, region) VALUES ('AAA.US', 'AAA', 'US', 'us'), ('BBB.US', 'BBB', 'US', 'us') RETURNING id`,
      )
    ).map((r) => Number(r.id));
    const run = Number(
      (
        await q(
          `INSERT INTO process_executions (process_name, trigger_kind, as_of) VALUES ('daily_pipeline', 'manual', '2026-11-20') RETURNING execution_id`,
        )
      )[0]!.execution_id,
    );
    for (const id of [a, b]) {
      await q(
        `INSERT INTO stock_prices (asset_id, date, open, high, low, close, adjusted_close, volume) VALUES ($1, '2026-11-20', 1, 1, 1, 1, 1, 1)`,
        [id],
      );
      await q(
        `INSERT INTO work_items (execution_id, asset_id, region, exchange, operation) VALUES ($1, $2, 'us', 'US', 'price_update')`,
        [run, id],
      );
      await q(
        `INSERT INTO asset_processing_details (execution_id, asset_id, operation, status) VALUES ($1, $2, 'price_update', 'success')`,
        [run, id],
      );
    }
    await q(
      `INSERT INTO api_calls (quota_day, endpoint, cost, duration_ms, execution_id) VALUES ('2026-11-20', 'eod', 1, 5, $1)`,
      [run],
    );
    await q(`DELETE FROM assets WHERE id = $1`, [a]);
    t.is(await count('stock_prices', 'asset_id = $1', [a]), 0);
    t.is(await count('work_items', 'asset_id = $1', [a]), 0);
    t.is(await count('asset_processing_details', 'asset_id = $1', [a]), 0);
    t.is(await count('stock_prices', 'asset_id = $1', [b]), 1, "the other asset's rows stay");
    await q(`DELETE FROM process_executions WHERE execution_id = $1`, [run]);
    t.is(await count('work_items', 'execution_id = $1', [run]), 0);
    t.is(await count('asset_processing_details', 'execution_id = $1', [run]), 0);
    t.is(await count('api_calls', 'execution_id IS NULL', []), 1, 'the call stays in the ledger, without its run');
  } finally {
    await tdb.drop();
  }
});

test('a migration edited after it was applied is refused with its name; one applied before checksums gets its own', async (t) => {
  const tdb = await createTestDb();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'screener-sql-'));
  try {
    for (const f of fs.readdirSync(sqlDir())) fs.copyFileSync(path.join(sqlDir(), f), path.join(dir, f));
    const rows = async () =>
      (
        await tdb.pool.query<{ name: string; checksum: string | null }>(
          'SELECT name, checksum FROM public.schema_migrations ORDER BY name',
        )
      ).rows;
    const all = await rows();
    t.true(
      all.length > 0 &&
        all.every((r) => r.checksum === migrationChecksum(fs.readFileSync(path.join(dir, r.name), 'utf8'))),
    );
    // Unchanged files: nothing to apply, nothing refused; a Windows checkout is the same file.
    const crlf = path.join(dir, all[2]!.name);
    fs.writeFileSync(crlf, fs.readFileSync(crlf, 'utf8').replace(/\n/g, '\r\n'));
    t.deepEqual((await migrate(tdb.pool, dir)).applied, []);
    // An edited one: refused, with its name and what to do, before anything else is applied.
    const edited = all[4]!.name;
    fs.appendFileSync(path.join(dir, edited), '\n-- an afterthought\n');
    fs.writeFileSync(path.join(dir, '999_new.sql'), 'CREATE TABLE financial_screener.should_not_exist (x int);');
    const err = await t.throwsAsync(migrate(tdb.pool, dir));
    t.regex(
      err!.message,
      new RegExp(
        `^sql/${edited} was changed after it was applied \\(checksum \\w{12} recorded, \\w{12} now\\): put it back`,
      ),
    );
    t.false(err!.message.includes('\n'));
    t.is((await tdb.pool.query(`SELECT to_regclass('financial_screener.should_not_exist') AS t`)).rows[0].t, null);
    // A database from before checksums: the files as they are now are taken as applied.
    await tdb.pool.query('UPDATE public.schema_migrations SET checksum = NULL');
    const r = await migrate(tdb.pool, dir);
    t.deepEqual(r.applied, ['999_new.sql']);
    t.true((await rows()).every((x) => x.checksum !== null));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await tdb.drop();
  }
});
