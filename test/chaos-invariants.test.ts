/**
 * The invariants the chaos suite ends every scenario with hold after a clean run, and each
 * one catches the violation it is there for: a check that cannot fail proves nothing.
 */
import test from 'ava';
import {
  apiKeyNowhere,
  apiLedgerBoundsApi,
  apiLedgerMatchesApi,
  type Bar,
  cleanAssets,
  comparePrices,
  noDuplicateDetails,
  noDuplicatePrices,
  nothingWritten,
  oneChildRunPerRun,
  pricesBySymbol,
  quotaNotOverrun,
  runInvariants,
  runTotalsMatchDetails,
  tableFingerprints,
  workItemsEnded,
} from '../dev/chaos/invariants.js';
import { inProcessPipeline } from '../dev/in-process.js';
import type { Simulator } from '../dev/simulator/index.js';
import type { TestDb } from './helpers/db.js';
import { closeWorld, openWorld } from './helpers/world.js';

const KEY = 'inv-test-key-9f3a1c77';
let tdb: TestDb;
let sim: Simulator;
let id: number;
let reference: Map<string, Bar[]>;

test.before(async () => {
  ({ tdb, sim } = await openWorld({ apiKey: KEY }));
  const p = await inProcessPipeline(tdb.pool, sim.url, { apiKey: KEY });
  id = await p.run({ exchanges: ['SW', 'LS'] });
  reference = await pricesBySymbol(tdb.pool);
});
test.after.always(() => closeWorld(tdb, sim));

const q = (sql: string, args: unknown[] = []) => tdb.pool.query(sql, args);

test.serial('after a clean run every invariant holds', async (t) => {
  const checks = [
    ...(await runInvariants(tdb.pool, id)),
    await noDuplicatePrices(tdb.pool),
    await apiLedgerMatchesApi(tdb.pool, sim.usage().date, sim.usage().calls),
    await apiLedgerBoundsApi(tdb.pool, sim.usage().date, sim.usage().calls),
    await quotaNotOverrun(tdb.pool, sim.usage().date, sim.usage().calls),
    ...comparePrices(await pricesBySymbol(tdb.pool), reference, await cleanAssets(tdb.pool, [id])),
    await apiKeyNowhere(tdb.pool, KEY, ['{"event":"ok","url":"https://x/api/eod/A.US?api_token=***"}']),
  ];
  for (const c of checks) t.is(c.found, 0, `${c.name}: ${c.detail} ${JSON.stringify(c.examples)}`);
  t.true(reference.size > 10);
  t.true((await cleanAssets(tdb.pool, [id])).length > 10);
});

test.serial('each invariant catches its violation', async (t) => {
  const calls = sim.usage().calls;
  const day = sim.usage().date;
  t.is((await apiLedgerMatchesApi(tdb.pool, day, calls + 3)).found, 3, 'a charged call missing from the ledger');
  t.true((await apiLedgerBoundsApi(tdb.pool, day, calls - 1)).found > 0, 'a ledger row the API never charged');
  await q('UPDATE api_quota_days SET reserved_calls = reserved_calls + 5 WHERE quota_day = $1', [day]);
  t.is((await apiLedgerBoundsApi(tdb.pool, day, calls)).found, 5, 'a day counter that does not equal its ledger');
  await q('UPDATE api_quota_days SET reserved_calls = reserved_calls - 5 WHERE quota_day = $1', [day]);
  t.true((await quotaNotOverrun(tdb.pool, day, calls, calls - 1)).found > 0, 'more calls than quota - buffer');
  t.is(
    (await apiKeyNowhere(tdb.pool, KEY, [`{"error":"GET /api/eod/X?api_token=${KEY}"}`])).found,
    1,
    'the key in a log line',
  );
  t.is(
    (await apiKeyNowhere(tdb.pool, KEY, ['{"url":"/api/eod/X?api_token=abc123"}'])).found,
    1,
    'an unredacted api_token',
  );

  const [sym, bars] = [...reference.entries()].find(([, b]) => b.length > 100)!;
  const stored = await pricesBySymbol(tdb.pool);
  const lost = new Map(stored);
  lost.set(sym, bars.slice(1));
  const [right, complete] = comparePrices(lost, reference, [sym]);
  t.is(right.found, 0);
  t.is(complete.found, 1, 'a lost bar of an asset whose work ended done');
  const wrong = new Map(stored);
  wrong.set(
    sym,
    bars.map((b, i) => (i === 5 ? { ...b, close: b.close + 0.01 } : b)),
  );
  t.is(comparePrices(wrong, reference, [])[0].found, 1, 'a wrong bar');

  const before = await tableFingerprints(tdb.pool);
  await q(`UPDATE pipeline_settings SET updated_at = updated_at + interval '1 second' WHERE key = 'us_venues'`);
  const changed = nothingWritten('x', before, await tableFingerprints(tdb.pool));
  t.deepEqual(
    changed.examples.map((e) => (e as { table: string }).table),
    ['pipeline_settings'],
    'a changed row',
  );

  await q(
    `INSERT INTO asset_processing_details (execution_id, asset_id, operation, status)
           SELECT execution_id, asset_id, operation, status FROM asset_processing_details WHERE execution_id = $1 AND operation <> 'indicator_calc' LIMIT 1`,
    [id],
  );
  t.is((await noDuplicateDetails(tdb.pool, [id])).found, 1, 'an operation recorded twice');
  t.true((await runTotalsMatchDetails(tdb.pool, id)).found > 0, 'totals that no longer match the details');

  await q(
    `UPDATE work_items SET status = 'claimed' WHERE id = (SELECT min(id) FROM work_items WHERE execution_id = $1)`,
    [id],
  );
  t.is((await workItemsEnded(tdb.pool, id)).found, 1, 'a work item left claimed');
  t.false((await cleanAssets(tdb.pool, [id])).length === reference.size, 'its asset is no longer clean');

  await q(
    `INSERT INTO process_executions (process_name, trigger_kind, parameters, as_of, parent_execution_id, status)
           VALUES ('calc_indicators', 'chain', '{}', '2026-11-20', $1, 'success')`,
    [id],
  );
  t.is((await oneChildRunPerRun(tdb.pool, [id])).found, 1, 'a second indicator run for one daily run');

  await q(`ALTER TABLE stock_prices DROP CONSTRAINT stock_prices_pkey`);
  await q(`INSERT INTO stock_prices SELECT * FROM stock_prices LIMIT 2`);
  t.is((await noDuplicatePrices(tdb.pool)).found, 2, 'an (asset, date) stored twice');
  await q(
    `INSERT INTO api_calls (quota_day, endpoint, target, cost, duration_ms, error) VALUES ($1, 'eod', 'X', 0, 1, $2)`,
    [day, `boom api_token=${KEY}`],
  );
  t.is((await apiKeyNowhere(tdb.pool, KEY)).found, 1, 'the key in a row');
});
