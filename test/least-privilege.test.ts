/**
 * The functions' database role (sql/012_function_role.sql): a login that is a member of
 * screener_functions runs the whole chain, and can change no schema: no DROP, CREATE,
 * ALTER, TRUNCATE, and no COPY ... PROGRAM.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type pg from 'pg';
import { inProcessPipeline } from '../dev/in-process.js';
import { readerLogin } from '../dev/local-stack.js';
import type { Simulator } from '../dev/simulator/index.js';
import { createPool } from '../shared/platform/db.js';
import { runScreen } from '../shared/screen/run-screen.js';
import { parseScreenBody } from '../shared/screen/screen-request.js';
import { showTicker } from '../shared/screen/ticker.js';
import { migrate } from '../shared/store/migrate.js';
import type { TestDb } from './helpers/db.js';
import { closeWorld, openWorld } from './helpers/world.js';

let tdb: TestDb;
let sim: Simulator;
let fn: pg.Pool;
const role = `screener_fn_${randomBytes(4).toString('hex')}`;

test.before(async () => {
  ({ tdb, sim } = await openWorld());
  const password = randomBytes(12).toString('hex');
  await tdb.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' IN ROLE screener_functions`);
  const u = new URL(tdb.url);
  u.username = role;
  u.password = password;
  fn = createPool(u.toString(), 10);
});
test.after.always(async () => {
  await fn?.end();
  await tdb?.pool.query(`DROP ROLE IF EXISTS ${role}`);
  await closeWorld(tdb, sim);
});

test.serial('as the functions role the whole chain runs, and the status views and reset answer', async (t) => {
  // Settings are rows: the function role writes them as the steps do.
  const p = await inProcessPipeline(fn, sim.url);
  const id = await p.run();
  const run = (await fn.query('SELECT status FROM process_executions WHERE execution_id = $1', [id])).rows[0];
  t.is(run.status, 'success');
  t.true((await fn.query('SELECT count(*)::int AS n FROM stock_prices')).rows[0].n > 1000);
  t.is((await fn.query(`SELECT * FROM get_processing_progress()`)).rows.at(-1).region, 'all');
  t.is((await fn.query(`SELECT * FROM reset_ticker_for_reprocessing('AAPL.US', 'prices')`)).rowCount, 1);
  t.true((await fn.query('SELECT count(*)::int AS n FROM public.schema_migrations')).rows[0].n > 0);
});

test.serial('as the functions role no schema can be changed and no program run', async (t) => {
  const denied = async (sql: string) => {
    const err = await t.throwsAsync(fn.query(sql), undefined, sql);
    t.is((err as { code?: string } | undefined)?.code, '42501', `${sql}: ${err?.message}`);
  };
  await denied('DROP TABLE stock_prices');
  await denied('TRUNCATE stock_prices');
  await denied('ALTER TABLE assets ADD COLUMN x int');
  await denied('CREATE TABLE financial_screener.x (id int)');
  await denied('CREATE SCHEMA x');
  await denied('DROP FUNCTION get_processing_progress()');
  await denied(`COPY (SELECT 1) TO PROGRAM 'true'`);
  await denied('DELETE FROM public.schema_migrations');
  t.is(
    (await tdb.pool.query(`SELECT to_regclass('financial_screener.stock_prices')::text AS t`)).rows[0].t,
    'stock_prices',
  );
});

test.serial(
  'as a screener_readers login a screen answers, and every write, DDL and other table is denied',
  async (t) => {
    const reader = createPool(await readerLogin(tdb.pool, tdb.url), 2);
    t.teardown(() => reader.end());
    const parsed = parseScreenBody({ filters: [['rsi_14', '>', 0]], sort: 'market_cap.desc', limit: 5 });
    if (!parsed.ok) throw new Error(parsed.reason);
    const answer = await runScreen(reader, parsed.value);
    t.true(answer.total > 0, 'the screen answers as a reader');
    const asOf = await runScreen(reader, { ...parsed.value, asOf: answer.asOf, includeStale: true });
    t.true(asOf.total >= answer.total);
    const page = await showTicker(reader, 'AAPL.US', { html: true });
    t.is(page.status, 200, 'a ticker page answers as a reader');
    const denied = async (sql: string) => {
      const err = await t.throwsAsync(reader.query(sql), undefined, sql);
      t.is((err as { code?: string } | undefined)?.code, '42501', `${sql}: ${err?.message}`);
    };
    // Every table it can see: no INSERT, UPDATE or DELETE (nor TRUNCATE).
    const visible = (
      await reader.query<{ t: string; k: string; c: string }>(
        `SELECT c.relname AS t, c.relkind AS k, (SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped
                  AND attidentity = '' AND attgenerated = '' ORDER BY attnum LIMIT 1) AS c
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'financial_screener' AND c.relkind IN ('r', 'p', 'v')
          AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1`,
      )
    ).rows;
    t.deepEqual(
      visible.map((r) => r.t),
      [
        'asset_processing_state',
        'assets',
        'corporate_actions',
        'currency_units',
        'exchange_calendars',
        'exchange_holidays',
        'fundamentals',
        'fx_rates',
        'indicator_history',
        'pipeline_settings',
        'price_quality_findings',
        'stock_prices',
        'technical_indicators',
        'v_fundamentals_as_known',
        'v_ticker_processing_history',
      ],
      'exactly what a screen and a ticker page read',
    );
    // A view is refused as no table may be written through it (55000, 42809) or as denied.
    const refused = async (sql: string) => {
      const err = await t.throwsAsync(reader.query(sql), undefined, sql);
      t.true(
        ['42501', '55000', '42809'].includes((err as { code?: string } | undefined)?.code ?? ''),
        `${sql}: ${err?.message}`,
      );
    };
    for (const { t: table, k, c } of visible) {
      if (k === 'v') {
        for (const sql of [
          `INSERT INTO ${table} DEFAULT VALUES`,
          `UPDATE ${table} SET ${c} = ${c}`,
          `DELETE FROM ${table}`,
          `TRUNCATE ${table}`,
        ])
          await refused(sql);
        continue;
      }
      await denied(`INSERT INTO ${table} DEFAULT VALUES`);
      await denied(`UPDATE ${table} SET ${c} = ${c}`);
      await denied(`DELETE FROM ${table}`);
      await denied(`TRUNCATE ${table}`);
    }
    // Nothing else: other tables, DDL, the schema's other functions.
    await denied('SELECT count(*) FROM api_calls');
    await denied('SELECT count(*) FROM process_executions');
    await denied('SELECT count(*) FROM asset_processing_details');
    await denied('SELECT count(*) FROM fundamentals_versions');
    await denied('CREATE TABLE financial_screener.x (id int)');
    await denied('DROP TABLE assets');
    await denied('ALTER TABLE assets ADD COLUMN x int');
    await denied('CREATE INDEX ON assets (name)');
    await denied('CREATE SCHEMA x');
    await denied(`SELECT * FROM reset_ticker_for_reprocessing('AAPL.US', 'prices')`);
    await denied('SELECT ensure_indicator_history_year(2099)');
    await denied('SELECT * FROM get_processing_progress()');
    await denied(`COPY (SELECT 1) TO PROGRAM 'true'`);
    t.is((await reader.query(`SELECT fx_rate('USD', current_date) AS r`)).rows[0].r, 1, 'fx_rate is its one function');
  },
);

test.serial(
  'the migrations apply as the owner of the database without superuser (as screener_migrate does)',
  async (t) => {
    const owner = `screener_mig_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const db = `${owner}_db`;
    await tdb.pool.query(`CREATE ROLE ${owner} LOGIN PASSWORD '${password}'`);
    await tdb.pool.query(`CREATE DATABASE ${db} OWNER ${owner}`);
    const u = new URL(tdb.url);
    u.username = owner;
    u.password = password;
    u.pathname = `/${db}`;
    const pool = createPool(u.toString(), 2);
    t.teardown(async () => {
      await pool.end();
      await tdb.pool.query(`DROP DATABASE IF EXISTS ${db}`);
      await tdb.pool.query(`DROP ROLE IF EXISTS ${owner}`);
    });
    const r = await migrate(pool);
    t.true(r.applied.length > 10);
    const grants = await pool.query(
      `SELECT count(*)::int AS n FROM information_schema.role_table_grants
      WHERE grantee = 'screener_functions' AND table_schema = 'financial_screener' AND privilege_type = 'INSERT'`,
    );
    t.true(grants.rows[0].n > 10, 'the functions role can write the tables of this database too');
  },
);
