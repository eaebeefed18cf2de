/**
 * sql/schema.sql is the whole current schema: it equals what the migrations produce, and
 * applied to an empty database it produces that same schema again.
 */
import test from 'ava';
import pg from 'pg';
import { readSchemaFile, schemaSql } from '../dev/schema.js';
import { sqlDir } from '../shared/migrate.js';
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
