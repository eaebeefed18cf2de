/**
 * sql/schema.sql is the whole current schema: it equals what the migrations produce, and
 * applied to an empty database it produces that same schema again.
 */
import test from 'ava';
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
