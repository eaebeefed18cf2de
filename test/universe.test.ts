/**
 * The universe sync writes only what the lists say is new: a listing that did not change
 * keeps its row (no new row version a day), a new listing is added, a vanished one made
 * inactive with the day it was last seen, and each exchange's read is recorded once.
 */

import test from 'ava';
import { inProcessPipeline } from '../dev/in-process.js';
import { withWorld } from './helpers/world.js';

test('a normal day rewrites no unchanged listing; new and vanished listings are written with their days', async (t) => {
  await withWorld({ universe: 'sample' }, async ({ tdb, sim }) => {
    const q = async <T>(sql: string, args: unknown[] = []) => (await tdb.pool.query(sql, args)).rows as T[];
    const p = await inProcessPipeline(tdb.pool, sim.url);
    const { delisted } = sim.anchors();
    const asOf = async (id: number) =>
      (await q<{ d: string }>('SELECT as_of::text AS d FROM process_executions WHERE execution_id = $1', [id]))[0]!.d;
    const reads = async () =>
      new Map(
        (
          await q<{ exchange: string; read_on: string; listed: number }>(
            'SELECT exchange, read_on::text AS read_on, listed FROM exchange_list_reads',
          )
        ).map((r) => [r.exchange, r]),
      );
    // A row's physical place changes with every new version of it.
    const places = async () =>
      new Map(
        (await q<{ symbol: string; ctid: string }>('SELECT symbol, ctid::text AS ctid FROM assets')).map((r) => [
          r.symbol,
          r.ctid,
        ]),
      );

    const day1 = await p.run();
    const read1 = await reads();
    t.is(read1.size, 10, 'every exchange read');
    for (const [exchange, r] of read1) {
      t.is(r.read_on, await asOf(day1), exchange);
      const active = await q<{ n: number }>(
        "SELECT count(*)::int AS n FROM assets WHERE exchange = $1 AND is_active AND source = 'list'",
        [exchange],
      );
      t.is(r.listed, active[0]!.n, `${exchange}: listed = active assets`);
    }

    // The next days bring the sample's forced new listing and delisting.
    let before = await places();
    let readBefore = read1;
    let sawListed = false;
    let sawDelisted = false;
    for (let day = 0; day < 4 && !(sawListed && sawDelisted); day++) {
      sim.advanceTradingDays(1);
      const id = await p.run();
      const today = await asOf(id);
      const after = await places();
      const rewritten = [...before].filter(([s, place]) => after.get(s) !== undefined && after.get(s) !== place);
      const rows = new Map(
        (
          await q<{ symbol: string; is_active: boolean; first_seen: string; last_seen: string }>(
            'SELECT symbol, is_active, first_seen::text AS first_seen, last_seen::text AS last_seen FROM assets',
          )
        ).map((r) => [r.symbol, r]),
      );
      const read = await reads();
      for (const [s] of rewritten) {
        const r = rows.get(s)!;
        // Rewritten only because it vanished (and is now inactive) or changed.
        t.true(!r.is_active || r.last_seen === today, `${s} rewritten without news`);
      }
      t.true(rewritten.length <= 5, `${rewritten.length} of ${before.size} rows rewritten`);
      for (const [s, r] of rows) {
        if (!before.has(s)) {
          t.is(r.first_seen, today, `${s} added today`);
          t.is(r.last_seen, today);
        }
      }
      const d = rows.get(delisted);
      if (d && !d.is_active && !sawDelisted) {
        sawDelisted = true;
        const exchange = delisted.slice(delisted.lastIndexOf('.') + 1);
        t.is(d.last_seen, readBefore.get(exchange)!.read_on, 'a vanished listing was last seen by the read before');
      }
      // The forced new listing exists once the clock has passed its day.
      const listed = sim.anchors().listed;
      if (listed && rows.get(listed)?.is_active) sawListed = true;
      for (const [exchange, r] of read) t.is(r.read_on, today, exchange);
      before = after;
      readBefore = read;
    }
    t.true(sawListed, `the new listing ${sim.anchors().listed} was added`);
    t.true(sawDelisted, `the delisting ${delisted} was seen`);
  });
});
