/**
 * The data-quality loop end to end, against the simulator's bad ticks and late corrections
 * (injected on demand): the day's run finds what the API sent wrong and quarantines the
 * errors (indicators and v_screener leave them out); the next day's re-read of the previous
 * session replaces the bars the API has corrected since, records the corrections and clears
 * their findings, and what is still quarantined is asked once more; what the API never
 * corrects stays for an operator, who drops it, and no re-read brings it back.
 */
import test from 'ava';
import { type InProcessPipeline, inProcessPipeline } from '../dev/in-process.js';
import type { Simulator } from '../dev/simulator/index.js';
import { statusAction } from '../shared/observe/status.js';
import { StatusAction } from '../shared/platform/input.js';
import type { TestDb } from './helpers/db.js';
import { closeWorld, openWorld, TEST_TODAY } from './helpers/world.js';

let tdb: TestDb;
let sim: Simulator;
let p: InProcessPipeline;
const DAY = TEST_TODAY;
const SLIP = 'AAPL.US'; // x100, corrected the next day
const ORDER = 'MSFT.US'; // high below low, never corrected
let SPIKE = ''; // +/-60% for a day, corrected the next day
let VOLUME = ''; // volume x200 (a warning), never corrected
let LATE = ''; // a clean first print whose close and volume EODHD corrects the next day

const one = async <T>(sql: string, params: unknown[] = []): Promise<T> =>
  (await tdb.pool.query(sql, params)).rows[0] as T;
const findings = async (symbol: string) =>
  (
    await tdb.pool.query<{ check: string; severity: string; status: string; reasked: boolean }>(
      `SELECT f.check_name AS check, f.severity, f.status, f.reasked_at IS NOT NULL AS reasked
         FROM price_quality_findings f JOIN assets a ON a.id = f.asset_id
        WHERE a.symbol = $1 AND f.date = $2 ORDER BY f.check_name`,
      [symbol, DAY],
    )
  ).rows;
const storedBar = (symbol: string) =>
  one<{ close: number; volume: number; high: number; low: number } | undefined>(
    `SELECT p.close, p.volume, p.high, p.low FROM stock_prices p JOIN assets a ON a.id = p.asset_id
      WHERE a.symbol = $1 AND p.date = $2`,
    [symbol, DAY],
  );

let day1 = 0;
let day2 = 0;

test.before(async () => {
  ({ tdb, sim } = await openWorld());
  p = await inProcessPipeline(tdb.pool, sim.url);
  const us = sim.symbols().filter((s) => s.endsWith('.US') && s !== SLIP && s !== ORDER);
  [SPIKE, VOLUME, LATE] = [us[3]!, us[5]!, us[7]!];
  sim.injectBadTick(SLIP, DAY, 'unit_x100', { correctedAfterDays: 1 });
  sim.injectBadTick(ORDER, DAY, 'ohlc_order', { correctedAfterDays: null });
  sim.injectBadTick(SPIKE, DAY, 'spike', { correctedAfterDays: 1 });
  sim.injectBadTick(VOLUME, DAY, 'volume_spike', { correctedAfterDays: null });
  const truth = sim.trueHistory(LATE, DAY, DAY)[0]!;
  sim.injectCorrection(LATE, DAY, {
    close: truth.close * 1.01,
    volume: Math.round(truth.volume * 0.8),
    correctedAfterDays: 1,
  });
  day1 = await p.run();
});
test.after.always(async () => {
  await closeWorld(tdb, sim);
});

test.serial(
  'day 1: each bad tick is found and the errors quarantined, to be asked again by the next run',
  async (t) => {
    t.deepEqual(await findings(SLIP), [{ check: 'unit_slip', severity: 'error', status: 'open', reasked: false }]);
    t.deepEqual(await findings(ORDER), [{ check: 'ohlc_order', severity: 'error', status: 'open', reasked: false }]);
    t.deepEqual(await findings(SPIKE), [{ check: 'price_move', severity: 'error', status: 'open', reasked: false }]);
    t.deepEqual(await findings(VOLUME), [
      { check: 'volume_spike', severity: 'warning', status: 'open', reasked: false },
    ]);
    t.deepEqual(await findings(LATE), [], 'a first print a little off is no finding');
    const run = await one<{ status: string; quality_errors: number; price_corrections: number; reask_used: number }>(
      'SELECT status, quality_errors, price_corrections, reask_used FROM process_executions WHERE execution_id = $1',
      [day1],
    );
    t.is(run.status, 'success');
    t.true(run.quality_errors >= 3, `${run.quality_errors} errors`);
    t.is(run.price_corrections, 0);
    t.is(run.reask_used, 0, 'asked again by the next run, when a correction can have landed');
  },
);

test.serial('day 1: a quarantined bar is left out of the indicators and of v_screener, which says so', async (t) => {
  const screen = await one<{ last_date: string; data_quality: string; quarantined_bars: number }>(
    `SELECT last_date::text, data_quality, quarantined_bars FROM v_screener WHERE symbol = $1`,
    [SLIP],
  );
  t.is(screen.data_quality, 'quarantined');
  t.is(screen.quarantined_bars, 1);
  t.true(screen.last_date < DAY, `the last good bar: ${screen.last_date}`);
  const ind = await one<{ price_date: string }>(
    `SELECT t.price_date::text FROM technical_indicators t JOIN assets a ON a.id = t.asset_id WHERE a.symbol = $1`,
    [SLIP],
  );
  t.is(ind.price_date, screen.last_date);
});

test.serial(
  'day 2: the re-read of the previous session replaces the corrected bars and clears their findings',
  async (t) => {
    sim.advanceTradingDays(1);
    day2 = await p.run();
    for (const s of [SLIP, SPIKE]) {
      t.deepEqual(
        (await findings(s)).map((f) => f.status),
        ['cleared'],
        s,
      );
      const bar = (await storedBar(s))!;
      const truth = sim.trueHistory(s, DAY, DAY)[0]!;
      t.is(bar.close, truth.close, `${s}: the true close`);
    }
    t.is((await storedBar(LATE))!.volume, sim.trueHistory(LATE, DAY, DAY)[0]!.volume);
    const corrections = (
      await tdb.pool.query<{ symbol: string; source: string; changed: string; old_close: number; new_close: number }>(
        `SELECT symbol, source, changed, old_close, new_close FROM v_price_corrections WHERE date = $1 ORDER BY symbol`,
        [DAY],
      )
    ).rows;
    // (Beside the simulator's own first prints of other bars, corrected 14 days after their day.)
    for (const s of [SLIP, SPIKE, LATE])
      t.true(
        corrections.some((c) => c.symbol === s && c.source === 'recheck'),
        s,
      );
    const late = corrections.find((c) => c.symbol === LATE)!;
    t.regex(late.changed, /close/);
    t.regex(late.changed, /volume/);
    const run = await one<{ price_corrections: number }>(
      'SELECT price_corrections FROM process_executions WHERE execution_id = $1',
      [day2],
    );
    t.true(run.price_corrections >= 3, `${run.price_corrections} corrections`);
    t.is(
      (await one<{ data_quality: string }>(`SELECT data_quality FROM v_screener WHERE symbol = $1`, [SLIP]))
        .data_quality,
      'ok',
    );
  },
);

test.serial(
  'day 2: what the API never corrects is asked once more, answered the same, and stays for an operator',
  async (t) => {
    t.deepEqual(await findings(ORDER), [{ check: 'ohlc_order', severity: 'error', status: 'open', reasked: true }]);
    const run = await one<{ reask_used: number }>('SELECT reask_used FROM process_executions WHERE execution_id = $1', [
      day2,
    ]);
    t.true(run.reask_used >= 1);
    const bar = (await storedBar(ORDER))!;
    t.true(bar.high < bar.low);
  },
);

test.serial(
  'the operator drops the bar: it is deleted, its finding resolved, and the next re-read does not bring it back',
  async (t) => {
    const bad = StatusAction.safeParse({ action: 'drop', symbol: ORDER, date: DAY, check: 'ohlc' });
    t.false(bad.success, 'an unknown check is refused');
    const action = StatusAction.parse({ action: 'drop', symbol: ORDER, date: DAY });
    // An operator's action: the status function asks for the operator credential.
    process.env.SCREENER_ADMIN_TOKEN = 'quality-test-operator-token';
    const operator = 'Bearer quality-test-operator-token';
    t.is((await statusAction(p.ctx, action, undefined)).status, 401, 'not without the credential');
    t.truthy(await storedBar(ORDER), 'and nothing was dropped');
    const r = await statusAction(p.ctx, action, operator);
    t.is(r.status, 200);
    t.like(r.body, { dropped: { symbol: ORDER, date: DAY, checks: ['ohlc_order'], barDeleted: true } });
    t.is(await storedBar(ORDER), undefined);
    t.deepEqual(
      (await findings(ORDER)).map((f) => f.status),
      ['resolved'],
    );
    const again = await statusAction(p.ctx, action, operator);
    t.is(again.status, 404, 'nothing left to decide');
    sim.advanceTradingDays(1);
    await p.run();
    t.is(await storedBar(ORDER), undefined, 'the re-read leaves the dropped day out');
  },
);
