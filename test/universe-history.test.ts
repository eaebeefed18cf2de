/**
 * The universe as it was: a listing that vanishes keeps its row and its days, so that
 * universe_on(D) answers who was listed on D (a company delisted later is in it, one listed
 * later is not). EODHD's delisted lists are read monthly, within the day's budget and only
 * when the plan has the lists, and their names are recorded, marked, and never planned.
 */

import test from 'ava';
import { inProcessPipeline } from '../dev/in-process.js';
import { recordAnswer } from '../shared/store/api-plan.js';
import { TEST_TODAY, withWorld } from './helpers/world.js';

const DELISTED_CALLS = `SELECT count(*)::int AS n FROM api_calls WHERE endpoint = 'exchange-symbol-list-delisted'`;

test("a delisted asset is still in a past day's universe; the delisted lists are read once a month", async (t) => {
  await withWorld({ universe: 'sample' }, async ({ tdb, sim }) => {
    const q = async <T>(sql: string, args: unknown[] = []) => (await tdb.pool.query(sql, args)).rows as T[];
    const n = async (sql: string, args: unknown[] = []) => (await q<{ n: number }>(sql, args))[0]!.n;
    const on = async (day: string) =>
      new Set((await q<{ symbol: string }>('SELECT symbol FROM universe_on($1)', [day])).map((r) => r.symbol));
    const asOf = async (id: number) =>
      (await q<{ d: string }>('SELECT as_of::text AS d FROM process_executions WHERE execution_id = $1', [id]))[0]!.d;
    const p = await inProcessPipeline(tdb.pool, sim.url);
    const { delisted } = sim.anchors();

    // A dry run reads nothing, the delisted lists neither.
    await p.run({ dryRun: true });
    t.is(await n(DELISTED_CALLS), 0, 'a dry run fetches no delisted list');
    t.is(await n('SELECT count(*)::int AS n FROM delisted_list_reads'), 0);

    const day1 = await asOf(await p.run());
    t.is(day1, TEST_TODAY);
    t.is(await n(DELISTED_CALLS), 10, 'one delisted list per exchange, booked in the ledger');
    const reads = await q<{ exchange: string; read_on: string; listed: number; added: number }>(
      'SELECT exchange, read_on::text AS read_on, listed, added FROM delisted_list_reads ORDER BY exchange',
    );
    t.is(reads.length, 10);
    for (const r of reads) t.is(r.read_on, day1, r.exchange);
    // The names delisted before the pipeline started: recorded, marked, inactive, no state, never planned.
    const names = await q<{
      symbol: string;
      is_active: boolean;
      delisted_source: string;
      delisted_on: string | null;
      delisted_confirmed_on: string;
      has_state: boolean;
    }>(
      `SELECT a.symbol, a.is_active, a.delisted_source, a.delisted_on::text AS delisted_on,
              a.delisted_confirmed_on::text AS delisted_confirmed_on,
              EXISTS (SELECT 1 FROM asset_processing_state s WHERE s.asset_id = a.id) AS has_state
         FROM assets a WHERE a.source = 'delisted_list'`,
    );
    t.true(names.length > 0, 'names from the delisted lists are recorded');
    t.is(
      names.length,
      reads.reduce((s, r) => s + r.added, 0),
      'the reads count what they added',
    );
    for (const a of names) {
      t.false(a.is_active, a.symbol);
      t.is(a.delisted_source, 'delisted_list', a.symbol);
      t.is(a.delisted_on, null, `${a.symbol}: the delisted list carries no date`);
      t.is(a.delisted_confirmed_on, day1, a.symbol);
      t.false(a.has_state, `${a.symbol} has no processing state`);
    }
    const dayOne = await on(day1);
    t.false(
      names.some((a) => dayOne.has(a.symbol)),
      'an undated delisting is in no day universe',
    );
    t.true(dayOne.has(delisted), `${delisted} is listed on ${day1}`);

    // A name known only from a delisted list that a list gives again is a normal listed asset;
    // a listing that comes back after a gap is listed throughout (its gap is no delisting).
    const [back, gap] = (
      await q<{ symbol: string }>(
        `SELECT symbol FROM assets WHERE is_active AND source = 'list' AND symbol <> $1 ORDER BY symbol LIMIT 2`,
        [delisted],
      )
    ).map((r) => r.symbol) as [string, string];
    await tdb.pool.query(
      `UPDATE assets SET is_active = false, source = 'delisted_list', delisted_source = 'delisted_list',
              delisted_confirmed_on = $2, listed_from = NULL WHERE symbol = $1`,
      [back, day1],
    );
    await tdb.pool.query(
      `DELETE FROM asset_processing_state WHERE asset_id = (SELECT id FROM assets WHERE symbol = $1)`,
      [back],
    );
    await tdb.pool.query(
      `UPDATE assets SET is_active = false, delisted_on = $2::date, delisted_source = 'vanished' WHERE symbol = $1`,
      [gap, day1],
    );

    // The next days bring the sample's forced delisting; no delisted list is read again.
    let lastSeen: string | null = null;
    let today = day1;
    for (let i = 0; i < 5 && lastSeen === null; i++) {
      sim.advanceTradingDays(1);
      today = await asOf(await p.run());
      const r = (
        await q<{ is_active: boolean; last_seen: string; delisted_on: string | null; delisted_source: string | null }>(
          `SELECT is_active, last_seen::text AS last_seen, delisted_on::text AS delisted_on, delisted_source
             FROM assets WHERE symbol = $1`,
          [delisted],
        )
      )[0]!;
      if (!r.is_active) {
        lastSeen = r.last_seen;
        const next = new Date(Date.parse(`${r.last_seen}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
        t.is(r.delisted_on, next, 'delisted the day after it was last seen');
        t.is(r.delisted_source, 'vanished');
      }
    }
    t.truthy(lastSeen, `the delisting of ${delisted} was seen`);
    // The forced new listing exists once the clock has passed its day.
    const { listed } = sim.anchors();
    t.truthy(listed, 'the sample has a new listing by now');
    t.is(await n(DELISTED_CALLS), 10, 'no delisted list read again within the month');
    const past = await on(lastSeen!);
    const now = await on(today);
    t.true(past.has(delisted), `${delisted} is in ${lastSeen}'s universe`);
    t.false(now.has(delisted), `${delisted} is not in ${today}'s universe`);
    t.true(now.has(listed), `${listed} is in ${today}'s universe`);
    t.false((await on(day1)).has(listed), `${listed}, listed later, is not in ${day1}'s universe`);

    const backRow = (
      await q<{
        is_active: boolean;
        source: string;
        delisted_source: string | null;
        listed_from: string;
        planned: number;
      }>(
        `SELECT a.is_active, a.source, a.delisted_source, a.listed_from::text AS listed_from,
                (SELECT count(*)::int FROM work_items w WHERE w.asset_id = a.id) AS planned
           FROM assets a WHERE a.symbol = $1`,
        [back],
      )
    )[0]!;
    t.true(backRow.is_active, `${back} listed again`);
    t.is(backRow.source, 'list');
    t.is(backRow.delisted_source, null);
    t.true(backRow.planned > 0, `${back} is planned like any listed asset`);
    t.true(now.has(back));
    const gapRow = (
      await q<{ is_active: boolean; delisted_on: string | null }>(
        `SELECT is_active, delisted_on::text AS delisted_on FROM assets WHERE symbol = $1`,
        [gap],
      )
    )[0]!;
    t.true(gapRow.is_active, `${gap} listed again`);
    t.is(gapRow.delisted_on, null, 'a gap is not a delisting');
    t.true((await on(day1)).has(gap) && now.has(gap), `${gap} is listed throughout`);

    // Never planned, never counted as the live universe.
    t.is(
      await n(
        `SELECT count(*)::int AS n FROM work_items w JOIN assets a ON a.id = w.asset_id WHERE a.source = 'delisted_list'`,
      ),
      0,
      'no work for a name from a delisted list',
    );
    t.is(
      await n(`SELECT active_assets::int AS n FROM get_processing_progress() WHERE region = 'all'`),
      await n(`SELECT count(*)::int AS n FROM assets WHERE is_active AND source <> 'benchmark'`),
      'the progress counts the listed assets only (no delisted name, no benchmark index)',
    );
    t.is(
      await n('SELECT sum(active_assets)::int AS n FROM v_exchange_freshness'),
      await n(`SELECT count(*)::int AS n FROM assets WHERE is_active AND source <> 'benchmark'`),
      'the status page counts the listed assets only',
    );

    // A month later: each list again, once; the delisting seen is confirmed by EODHD's list.
    sim.setClock(`${new Date(Date.parse(`${day1}T21:30:00Z`) + 31 * 86_400_000).toISOString().slice(0, 10)}T21:30:00Z`);
    const later = await asOf(await p.run());
    t.is(await n(DELISTED_CALLS), 20, 'every delisted list read again 30+ days later');
    t.is(await n('SELECT count(*)::int AS n FROM delisted_list_reads WHERE read_on = $1', [later]), 10);
    const confirmed = (
      await q<{ delisted_on: string; delisted_source: string; delisted_confirmed_on: string }>(
        `SELECT delisted_on::text AS delisted_on, delisted_source, delisted_confirmed_on::text AS delisted_confirmed_on
           FROM assets WHERE symbol = $1`,
        [delisted],
      )
    )[0]!;
    t.is(confirmed.delisted_confirmed_on, later, 'EODHD confirms the delisting');
    t.is(confirmed.delisted_source, 'vanished', 'its day stays the one the pipeline saw');
    t.true((await on(lastSeen!)).has(delisted), `${delisted} is still in ${lastSeen}'s universe`);
    await p.run();
    t.is(await n(DELISTED_CALLS), 20, 'the second run of the month reads none');
  });
});

test("no delisted list is read when the day's budget is spent on prices", async (t) => {
  // 200 calls a day: less than the sample's price updates alone.
  await withWorld({ universe: 'sample', dailyLimit: 200 }, async ({ tdb, sim }) => {
    const p = await inProcessPipeline(tdb.pool, sim.url);
    const id = await p.run();
    const calls = (await tdb.pool.query<{ n: number }>(DELISTED_CALLS)).rows[0]!.n;
    t.is(calls, 0);
    t.is((await tdb.pool.query('SELECT 1 FROM delisted_list_reads')).rowCount, 0);
    t.is((await tdb.pool.query(`SELECT 1 FROM assets WHERE source = 'delisted_list'`)).rowCount, 0);
    const result = (
      await tdb.pool.query<{ result: { delistedLists: { due: string[]; skipped: string | null } } }>(
        `SELECT result FROM pipeline_steps WHERE execution_id = $1 AND step = 'discover-delta'`,
        [id],
      )
    ).rows[0]!.result;
    t.is(result.delistedLists.due.length, 10);
    t.regex(result.delistedLists.skipped ?? '', /budget/);
  });
});

test('no delisted list is read when the plan lacks the lists', async (t) => {
  await withWorld({ universe: 'sample' }, async ({ tdb, sim }) => {
    // The plan refused the lists today (a 403): nothing asks again before the next quota day.
    await recordAnswer(tdb.pool, sim.url, 'symbol_list', TEST_TODAY, 'not_in_plan', 'refused by the plan');
    const p = await inProcessPipeline(tdb.pool, sim.url);
    await p.run();
    t.is(
      (
        await tdb.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM api_calls WHERE endpoint LIKE 'exchange-symbol-list%'`,
        )
      ).rows[0]!.n,
      0,
    );
    t.is((await tdb.pool.query('SELECT 1 FROM delisted_list_reads')).rowCount, 0);
  });
});

test('a watchlist naming a name from a delisted list makes it an asset to price, no longer marked delisted', async (t) => {
  await withWorld({ universe: 'sample' }, async ({ tdb, sim }) => {
    const q = async <T>(sql: string, args: unknown[] = []) => (await tdb.pool.query(sql, args)).rows as T[];
    const p = await inProcessPipeline(tdb.pool, sim.url);
    await p.run({ exchanges: ['US'] });
    const name = (
      await q<{ symbol: string }>(`SELECT symbol FROM assets WHERE source = 'delisted_list' ORDER BY symbol LIMIT 1`)
    )[0]?.symbol;
    t.truthy(name, 'the US delisted list gave a name the pipeline did not know');
    const id = await p.run({ symbols: [name!] });
    const row = (
      await q<{ is_active: boolean; source: string; delisted_source: string | null; planned: string[] }>(
        `SELECT a.is_active, a.source, a.delisted_source,
                array(SELECT w.operation FROM work_items w WHERE w.asset_id = a.id AND w.execution_id = $2) AS planned
           FROM assets a WHERE a.symbol = $1`,
        [name, id],
      )
    )[0]!;
    t.true(row.is_active);
    t.is(row.source, 'watchlist');
    t.is(row.delisted_source, null);
    t.true(row.planned.includes('history_load'), `${name}: ${row.planned.join(', ')}`);
  });
});
