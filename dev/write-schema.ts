/**
 * `npm run schema`: writes sql/schema.sql, the whole current schema, from a database the
 * migrations were just applied to (an embedded PostgreSQL, or a fresh database on the
 * server of DATABASE_URL).
 */

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import { createPool } from '../shared/platform/db.js';
import { migrate, sqlDir } from '../shared/store/migrate.js';
import { startLocalPostgres } from './embedded-postgres.js';
import { schemaFile, schemaSql } from './schema.js';

const server = process.env.DATABASE_URL ? null : await startLocalPostgres({ quiet: true });
const base = process.env.DATABASE_URL ?? server!.url;
const name = `screener_schema_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const u = new URL(base);
u.pathname = `/${name}`;
const pool = createPool(u.toString(), 2);
try {
  await migrate(pool);
  const text = await schemaSql(pool);
  fs.writeFileSync(schemaFile(sqlDir()), text);
  console.log(`${schemaFile(sqlDir())}: ${text.split('\n').length} lines`);
} finally {
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  await server?.stop();
}
