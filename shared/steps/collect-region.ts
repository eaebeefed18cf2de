/**
 * collect-region: works through its region's items until none are left or its time runs
 * out, then either hands over to a fresh invocation of itself or, when the region is done,
 * takes part in the fan-in (the last region invokes finalize).
 *
 * Price updates of an exchange that check-quota marked for bulk read the exchange's bulk
 * answer, fetched once per run into bulk_eod_rows; the rest fetch their own history from
 * the day after their last stored price. A bulk load fetches history and fundamentals.
 * Everything written for one ticker is one transaction. A failing ticker never stops the
 * batch; the API's daily limit, our budget or a refused key stop the region cleanly.
 */

import { addDays, utcToday } from '../domain/dates.js';
import { exchangesOf, type Region } from '../domain/exchanges.js';
import { type EodhdClient, EodhdError, type EodhdErrorKind } from '../eodhd/client.js';
import type { EodBar, Fundamentals } from '../eodhd/schemas.js';
import { inTransaction, type Queryable } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import { errorText, log, withProgressLog } from '../platform/log.js';
import { type ItemOutcome, markPricesAppended, recordItemOutcome, reopenSkippedDay } from '../store/asset-state.js';
import { bulkRowsFor, storeBulkRows } from '../store/bulk-eod.js';
import { recordDeferred, recordDetails } from '../store/details.js';
import { forgetLearntHoliday, learnHoliday, learntHolidays } from '../store/exchange-calendars.js';
import { asOfFor, countRegionDown, type Execution, setStopReason, touchRun } from '../store/executions.js';
import { upsertFundamentals } from '../store/fundamentals.js';
import { claimStep, completeStep, ensureStepPending, failStep } from '../store/pipeline-steps.js';
import { pricePlanOf } from '../store/price-plans.js';
import { insertNewSeries, type PriceRow, upsertPrices } from '../store/prices.js';
import { loadSettings, type Settings } from '../store/settings.js';
import {
  type ClaimedItem,
  claimWork,
  deferRegion,
  extendLeases,
  finishItems,
  releaseItems,
  remainingInRegion,
  retryItemLater,
  startItem,
} from '../store/work-items.js';
import type { PipelineContext } from './context.js';
import { runStep } from './step-runner.js';

interface RegionStats {
  processed: number;
  failed: number;
  skipped: number;
  warnings: number;
  retried: number;
  calls: number;
  records: number;
  bulkCalls: number;
}

/** What every item of an invocation shares: the quota day it charges, the region's learnt holidays. */
interface CollectDay {
  quotaDay: string;
  /** Holidays learnt from empty bulk days, by exchange: a bar on one proves it wrong. */
  learnt: Map<string, Set<string>>;
}

class StopCollection extends Error {
  constructor(
    readonly reason: 'quota' | 'auth',
    message: string,
  ) {
    super(message);
  }
}

/** Invocations of collect-region in this process (their lease owners differ by it). */
let invocations = 0;

export async function collectRegion(
  ctx: PipelineContext,
  executionId: number,
  region: Region,
): Promise<FunctionResult> {
  return runStep(
    ctx,
    executionId,
    'collect-region',
    region,
    async (s) => {
      const { run } = s;
      // Each invocation leases items under its own name: two copies in one process (a
      // duplicate delivery to the same replica) must not renew or end each other's items.
      const me: PipelineContext = { ...ctx, workerId: `${ctx.workerId}/${(++invocations).toString(36)}` };
      const started = Date.now();
      const deadline = started + me.collectTimeBudgetMs;
      const stats: RegionStats = {
        processed: 0,
        failed: 0,
        skipped: 0,
        warnings: 0,
        retried: 0,
        calls: 0,
        records: 0,
        bulkCalls: 0,
      };
      const settings = await loadSettings(me.pool);
      const lease = settings.work_item_lease_seconds;
      // The region's items are this replica's while it renews their leases.
      const heartbeat = setInterval(
        () => {
          extendLeases(me.pool, executionId, me.workerId, lease).catch(() => {});
          touchRun(me.pool, executionId, 'collect-region').catch(() => {});
        },
        Math.max(1000, Math.min(30_000, (lease * 1000) / 3)),
      );
      heartbeat.unref();
      let ended: { stop: StopCollection | null; outOfTime: boolean };
      try {
        ended = await withProgressLog(
          'region_progress',
          () => ({ execution_id: executionId, region, ...stats }),
          () => collectUntilDone(me, run, region, settings, deadline, stats),
        );
      } finally {
        clearInterval(heartbeat);
      }
      const stop = ended.stop;
      if (stop) {
        await setStopReason(me.pool, executionId, stop.reason, stop.message);
        const reason =
          stop.reason === 'quota'
            ? 'deferred: the API quota for today is used up'
            : 'deferred: the API refused the key';
        await inTransaction(me.pool, async (c) =>
          recordDeferred(c, executionId, await deferRegion(c, executionId, region, reason, me.workerId), reason),
        );
      }
      const remaining = await remainingInRegion(me.pool, executionId, region);
      const body = {
        executionId,
        region,
        ...stats,
        durationMs: Date.now() - started,
        stoppedBecause: stop?.reason ?? (ended.outOfTime ? 'time_budget' : null),
        remaining,
      };
      let regionDone = false;
      let finalizeInvoked = false;
      if (remaining.pending === 0 && remaining.claimed_live === 0 && remaining.claimed_expired === 0) {
        regionDone = true;
        finalizeInvoked = await fanIn(me, executionId, region, body);
        if (finalizeInvoked) s.handOver([{ fn: 'finalize', body: { executionId } }]);
      } else if (remaining.pending > 0 || remaining.claimed_expired > 0) {
        // Out of time (or items came back from a dead replica): a fresh invocation goes on.
        s.handOver([{ fn: 'collect-region', body: { executionId, region } }]);
      }
      return {
        body: { ...body, regionDone, finalizeInvoked },
        logged: [
          'region_collected',
          {
            region,
            ...stats,
            region_done: regionDone,
            finalize_invoked: finalizeInvoked,
            stopped_because: body.stoppedBecause,
          },
        ],
      };
    },
    { shared: true },
  );
}

/** Claims and processes the region's items until none are left, time runs out, or collection must stop. */
async function collectUntilDone(
  ctx: PipelineContext,
  run: Execution,
  region: Region,
  settings: Settings,
  deadline: number,
  stats: RegionStats,
): Promise<{ stop: StopCollection | null; outOfTime: boolean }> {
  const lease = settings.work_item_lease_seconds;
  const day: CollectDay = {
    quotaDay: run.quota_day ?? utcToday(),
    learnt: await learntHolidays(ctx.pool, exchangesOf(region)),
  };
  for (;;) {
    if (Date.now() >= deadline) return { stop: null, outOfTime: true };
    const batch = { priceUpdates: settings.incremental_batch_size, other: settings.bulk_load_batch_size };
    const items = await claimWork(ctx.pool, run.execution_id, region, ctx.workerId, batch, lease);
    if (items.length === 0) {
      // Only items waiting for a retry are left: wait for the first (within the time
      // budget, or a few seconds past it) rather than hand over to an invocation that
      // would find nothing to do yet either.
      const left = await remainingInRegion(ctx.pool, run.execution_id, region);
      const waitMs = left.next_in_seconds === null ? null : Math.ceil(left.next_in_seconds * 1000) + 50;
      if (
        left.pending > 0 &&
        left.pending === left.delayed &&
        waitMs !== null &&
        (Date.now() + waitMs <= deadline || waitMs <= 5_000)
      ) {
        await new Promise((r) => setTimeout(r, waitMs));
        continue;
      }
      return { stop: null, outOfTime: false };
    }
    await touchRun(ctx.pool, run.execution_id, 'collect-region');
    const r = await processBatch(ctx, run, items, settings, day, deadline, stats);
    if (r.stop) return { stop: r.stop, outOfTime: false };
    if (r.outOfTime) return { stop: null, outOfTime: true };
  }
}

/**
 * Fan-in: the region's step flips to done once (a duplicate finds it done and changes
 * nothing), and in the same transaction the run's count of pending regions goes down
 * (its row lock orders the regions); the region that takes it to 0, and only it, hands
 * over to finalize. True for that region.
 */
async function fanIn(ctx: PipelineContext, executionId: number, region: string, result: object): Promise<boolean> {
  return inTransaction(ctx.pool, async (c) => {
    if (!(await completeStep(c, executionId, 'collect-region', region, result))) return false;
    const left = await countRegionDown(c, executionId);
    if (left !== 0) return false;
    await ensureStepPending(c, executionId, 'finalize');
    return true;
  });
}

function asStop(err: unknown): StopCollection | null {
  if (err instanceof StopCollection) return err;
  if (err instanceof EodhdError && (err.kind === 'quota' || err.kind === 'auth'))
    return new StopCollection(err.kind, err.message);
  return null;
}

async function processBatch(
  ctx: PipelineContext,
  run: Execution,
  items: ClaimedItem[],
  settings: Settings,
  day: CollectDay,
  deadline: number,
  stats: RegionStats,
): Promise<{ stop: StopCollection | null; outOfTime: boolean }> {
  let queue = items;
  let stop: StopCollection | null = null;
  // Price updates of a bulk exchange: the one-day-behind tickers come from the bulk answer.
  if (items[0]?.operation === 'price_update') {
    try {
      const { covered, through } = await bulkCovered(ctx, run, items, settings, day.quotaDay, stats);
      if (covered.size > 0 && through) {
        await writeFromBulk(
          ctx,
          run,
          items.filter((i) => covered.has(i.id)),
          through,
          stats,
        );
        queue = items.filter((i) => !covered.has(i.id));
      }
    } catch (err) {
      stop = asStop(err);
      if (!stop) throw err;
      await releaseItems(
        ctx.pool,
        items.map((i) => i.id),
        ctx.workerId,
      );
      return { stop, outOfTime: false };
    }
  }
  let next = 0;
  let outOfTime = false;
  const worker = async () => {
    while (!stop && next < queue.length) {
      if (Date.now() >= deadline) {
        outOfTime = true;
        return;
      }
      const item = queue[next++]!;
      try {
        await processItem(ctx, run, item, settings, day, stats);
      } catch (err) {
        const s = asStop(err);
        if (!s) throw err;
        stop = s;
        await releaseItems(ctx.pool, [item.id], ctx.workerId);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, ctx.collectConcurrency) }, worker));
  if (next < queue.length)
    await releaseItems(
      ctx.pool,
      queue.slice(next).map((i) => i.id),
      ctx.workerId,
    );
  return { stop, outOfTime };
}

/**
 * Makes sure each bulk day of the exchange's price plan is stored for this run (one
 * 100-call request a day, made by whichever replica gets there first; the others wait for
 * it) and returns the items the plan covers, with the latest day the exchange answered.
 */
async function bulkCovered(
  ctx: PipelineContext,
  run: Execution,
  items: ClaimedItem[],
  settings: Settings,
  quotaDay: string,
  stats: RegionStats,
): Promise<{ covered: Set<number>; through: string | null }> {
  const exchange = items[0]!.exchange;
  const none = { covered: new Set<number>(), through: null };
  const plan = await pricePlanOf(ctx.pool, run.execution_id, exchange);
  if (!plan) return none;
  let latest: string | null = null;
  for (const day of plan.bulkDates) {
    const shard = `${exchange}:${day}`;
    let answered: string | null = null;
    for (let waited = 0; ; waited += 500) {
      const claim = await claimStep(ctx.pool, run.execution_id, 'bulk-eod', shard, 300);
      if (claim.state === 'done') {
        answered = (claim.result as { date: string | null }).date;
        break;
      }
      if (claim.state === 'claimed') {
        const api = ctx.api(run.execution_id, quotaDay, settings);
        try {
          const { rows, dropped } = await api.bulkEod(exchange, day);
          stats.calls += api.callsCharged;
          stats.bulkCalls += api.callsCharged;
          // The day the answer is for: its most common date. A closed day answers the
          // trading day before; a stale ticker carries an older date of its own.
          const byDate = new Map<string, number>();
          for (const r of rows) byDate.set(r.date, (byDate.get(r.date) ?? 0) + 1);
          answered = [...byDate.entries()].sort((a, b) => b[1] - a[1] || b[0].localeCompare(a[0]))[0]?.[0] ?? null;
          // Nothing for a published weekday: the exchange did not trade (a holiday its calendar
          // did not know). Its tickers are complete through the day, and no day is asked twice.
          const holiday = rows.length === 0 && (await learnHoliday(ctx.pool, exchange, day));
          if (holiday) {
            answered = day;
            log('info', 'holiday_learnt', { execution_id: run.execution_id, exchange, day });
          }
          const kept = rows.filter((r) => r.date === answered);
          await inTransaction(ctx.pool, async (c) => {
            await storeBulkRows(c, run.execution_id, exchange, kept);
            await completeStep(c, run.execution_id, 'bulk-eod', shard, {
              requested: day,
              date: answered,
              rows: rows.length,
              dropped,
              holiday,
            });
          });
          log('info', 'bulk_fetched', {
            execution_id: run.execution_id,
            exchange,
            requested: day,
            date: answered,
            rows: rows.length,
            dropped,
          });
        } catch (err) {
          stats.calls += api.callsCharged;
          if (asStop(err)) throw err;
          // No bulk answer for a day: every item of the exchange falls back to its own history.
          await failStep(ctx.pool, run.execution_id, 'bulk-eod', shard, errorText(err));
          log('warn', 'bulk_failed', {
            execution_id: run.execution_id,
            exchange,
            requested: day,
            error: errorText(err),
          });
          return none;
        }
        break;
      }
      if (waited > 120_000) return none;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (answered && (!latest || answered > latest)) latest = answered;
  }
  if (!latest) return none;
  const covered = new Set(
    items
      .filter((i) => {
        const t = i.prices_checked_through ?? i.prices_last_date;
        return t !== null && t >= plan.coversFrom;
      })
      .map((i) => i.id),
  );
  return { covered, through: latest };
}

/** Writes the bulk-covered items of a batch (their rows after their last day), 500 tickers a transaction. */
async function writeFromBulk(
  ctx: PipelineContext,
  run: Execution,
  items: ClaimedItem[],
  through: string,
  stats: RegionStats,
): Promise<void> {
  const exchange = items[0]!.exchange;
  for (let i = 0; i < items.length; i += 500) {
    const chunk = items.slice(i, i + 500);
    const started = performance.now();
    const rows = await bulkRowsFor(
      ctx.pool,
      run.execution_id,
      exchange,
      chunk.map((c) => c.code),
    );
    const byCode = new Map<string, typeof rows>();
    for (const r of rows) byCode.set(r.code, [...(byCode.get(r.code) ?? []), r]);
    await inTransaction(ctx.pool, async (c) => {
      const mine = new Set(
        await finishItems(
          c,
          chunk.map((x) => x.id),
          'done',
          null,
          ctx.workerId,
        ),
      );
      const held = chunk.filter((x) => mine.has(x.id));
      const prices: PriceRow[] = [];
      const newRows = new Map<number, PriceRow[]>();
      for (const it of held) {
        const after = it.prices_checked_through ?? it.prices_last_date ?? '0000-00-00';
        const mineRows = (byCode.get(it.code) ?? [])
          .filter((r) => r.date > after)
          .sort((a, b) => a.date.localeCompare(b.date))
          .map(({ code: _, ...bar }) => ({ assetId: it.asset_id, ...bar }));
        newRows.set(it.id, mineRows);
        prices.push(...mineRows);
      }
      const written = await upsertPrices(c, prices);
      const per = Math.max(1, Math.round((performance.now() - started) / Math.max(1, held.length)));
      await markPricesAppended(
        c,
        held.map((it) => {
          const r = newRows.get(it.id)!;
          return { assetId: it.asset_id, lastDate: r.length > 0 ? r[r.length - 1]!.date : null };
        }),
        through,
        run.execution_id,
      );
      await recordDetails(
        c,
        held.map((it) => ({
          executionId: run.execution_id,
          assetId: it.asset_id,
          operation: 'price_update',
          status: 'success' as const,
          recordsInserted: newRows.get(it.id)!.length,
          apiCalls: 0,
          durationMs: per,
          error: null,
        })),
      );
      stats.processed += held.length;
      stats.records += written.inserted;
    });
  }
}

/**
 * A bar on a day learnt as a holiday proves the lesson wrong: the day is forgotten, and the
 * exchange's tickers that were taken as complete through it without its bar load their
 * history again.
 */
async function forgetWrongHolidays(
  q: Queryable,
  day: CollectDay,
  exchange: string,
  bars: readonly EodBar[],
): Promise<void> {
  const learnt = day.learnt.get(exchange);
  if (!learnt || learnt.size === 0) return;
  for (const b of bars) {
    if (!learnt.has(b.date)) continue;
    learnt.delete(b.date);
    if (!(await forgetLearntHoliday(q, exchange, b.date))) continue;
    const reopened = await reopenSkippedDay(q, exchange, b.date);
    log('warn', 'learnt_holiday_wrong', { exchange, day: b.date, assets_reloading: reopened });
  }
}

/** A failure that may pass: a server error or no answer (after the client's own retries). */
function isTransient(err: unknown): boolean {
  return err instanceof EodhdError && (err.kind === 'server' || err.kind === 'network');
}

/** One ticker: fetch what its operation needs, then write it all in one transaction. */
async function processItem(
  ctx: PipelineContext,
  run: Execution,
  item: ClaimedItem,
  settings: Settings,
  day: CollectDay,
  stats: RegionStats,
): Promise<void> {
  const { quotaDay } = day;
  const asOf = asOfFor(run, item.exchange);
  const starts = await startItem(ctx.pool, item.id, ctx.workerId);
  if (starts === null) return; // the lease was lost: another replica owns this item now
  // Every earlier start ended without an outcome: whatever this ticker does to the process
  // handling it (a crash, a hang past its lease), it would do again. It fails, with the
  // reason, so that its region can finish; the next run tries it again.
  if (starts > settings.max_item_starts) return giveUpItem(ctx, run, item, settings.max_item_starts, stats);
  const started = performance.now();
  const api: EodhdClient = ctx.api(run.execution_id, quotaDay, settings);
  const errors: string[] = [];
  // Whether every failure was one that may pass (5xx, no answer): worth a later try.
  let transient = true;
  const through = item.prices_checked_through ?? item.prices_last_date;
  const historyStart = addDays(asOf, -settings.price_history_days);
  // Where this operation's history call starts (null: no history call).
  let from: string | null = null;
  switch (item.operation) {
    case 'price_update':
      from = through === null ? historyStart : addDays(through, 1);
      break;
    case 'history_load':
      from = historyStart;
      break;
    // The whole stored history, so that every adjusted_close is the API's current one.
    case 'adjustment_refresh':
      from = item.prices_first_date ?? historyStart;
      break;
    case 'bulk_load':
      from =
        !item.prices_loaded || item.needs_prices_reprocess
          ? historyStart
          : through === null || through < asOf
            ? addDays(through ?? historyStart, 1)
            : null;
      break;
    case 'fundamentals_load':
      from = null;
      break;
  }
  const wantFundamentals =
    item.operation === 'fundamentals_load' ||
    (item.operation === 'bulk_load' && (!item.fundamentals_loaded || item.needs_fundamentals_reprocess));
  // A whole history (not bars appended to a stored one): its currency becomes the series'.
  const wholeHistory =
    from !== null &&
    (item.operation !== 'price_update' || through === null) &&
    (item.operation !== 'bulk_load' || from === historyStart);

  let bars: EodBar[] | null = null;
  let warnings: string[] = [];
  let doc: Fundamentals | null = null;
  // Outcomes that are not failures: the plan does not include it, or EODHD has no such data.
  const notes: string[] = [];
  const notFound: Array<'fundamentals'> = [];
  try {
    if (from !== null && from <= asOf) {
      const start = from;
      try {
        const h = await api.eod(item.symbol, start, asOf);
        bars = h.bars.filter((b) => b.date >= start && b.date <= asOf);
        warnings = h.warnings;
        // Rows the schema refused (a bar with a negative price, a missing field): said, as the bulk path says its own.
        if (h.dropped > 0)
          log('warn', 'history_rows_dropped', {
            execution_id: run.execution_id,
            symbol: item.symbol,
            dropped: h.dropped,
            kept: h.bars.length,
          });
      } catch (err) {
        if (asStop(err)) throw err;
        // A 404 stays a failure (counted; max_consecutive_failures leaves the ticker out):
        // one 404 of a listed ticker is not proof that EODHD has no prices for it.
        if (isKind(err, 'not_in_plan')) notes.push(`prices: ${errorText(err)}`);
        else {
          errors.push(`prices: ${errorText(err)}`);
          transient &&= isTransient(err);
        }
      }
    }
    if (wantFundamentals) {
      try {
        doc = await api.fundamentals(item.symbol);
      } catch (err) {
        if (asStop(err)) throw err;
        if (isKind(err, 'not_in_plan')) notes.push(`fundamentals: ${errorText(err)}`);
        else if (isKind(err, 'no_data')) {
          notFound.push('fundamentals');
          notes.push(
            `fundamentals: EODHD has no document for ${item.symbol}; not asked again until it reappears in its exchange's list`,
          );
        } else {
          errors.push(`fundamentals: ${errorText(err)}`);
          transient &&= isTransient(err);
        }
      }
    }
  } catch (err) {
    // Stopping: what was fetched for this ticker is not written (nothing half-written);
    // the calls it cost stay in the ledger.
    stats.calls += api.callsCharged;
    throw err;
  }
  stats.calls += api.callsCharged;
  const ok = errors.length === 0;
  const error = ok ? null : errors.join('; ').slice(0, 1000);
  // Nothing fetched, and only for reasons that may pass: the item goes back to the queue
  // with a delay (an API outage of a few minutes then costs a few retries, not the day's
  // data of every ticker that met it); its details row is written once, at its outcome.
  if (!ok && transient && bars === null && doc === null && starts <= settings.max_item_retries) {
    if (await retryItemLater(ctx.pool, item.id, ctx.workerId, error!, settings.item_retry_delay_seconds, starts)) {
      stats.retried++;
      log('info', 'item_retry_queued', {
        execution_id: run.execution_id,
        symbol: item.symbol,
        operation: item.operation,
        retry: starts,
        error,
      });
    }
    return;
  }
  // Fetched nothing, and not for a failure: the item is skipped with the reason; the asset's
  // failure count does not move.
  const skipped = ok && bars === null && doc === null && notes.length > 0;
  const note = notes.length > 0 ? notes.join('; ').slice(0, 1000) : null;
  const warning = warnings.length > 0 ? warnings[0]! : null;
  let limitChanged = false;
  await inTransaction(ctx.pool, async (c) => {
    const mine = await finishItems(
      c,
      [item.id],
      skipped ? 'skipped' : ok ? 'done' : 'failed',
      error ?? note,
      ctx.workerId,
    );
    if (mine.length === 0) return; // the lease was lost: another replica owns this item now
    let inserted = 0;
    const outcome: ItemOutcome = { notFound, day: asOf };
    if (bars) {
      const rows = bars.map((b) => ({ ...b, assetId: item.asset_id }));
      // No stored series yet (day 1, a new listing): copied in rather than upserted.
      const w = item.prices_first_date === null ? await insertNewSeries(c, rows) : await upsertPrices(c, rows);
      inserted += w.inserted;
      const last = bars.length > 0 ? bars[bars.length - 1]!.date : null;
      // Complete through its last bar; finalize extends that to the run's day once the
      // exchange's day is known to be out (a thin ticker has no bar every day).
      outcome.prices = {
        firstDate: bars[0]?.date ?? null,
        lastDate: last,
        checkedThrough: last ?? through ?? asOf,
        changed: w.inserted + w.updated > 0,
        currency: wholeHistory ? item.currency : null,
      };
      outcome.adjustmentDone = item.operation === 'adjustment_refresh';
      // A whole history cut short by the plan is recorded with what was asked and what came.
      if (wholeHistory || warning)
        outcome.historyLimit = warning ? { requestedFrom: from!, receivedFrom: bars[0]?.date ?? null, warning } : null;
      stats.records += w.inserted;
    }
    if (bars) await forgetWrongHolidays(c, day, item.exchange, bars);
    if (doc) {
      await upsertFundamentals(c, item.asset_id, doc);
      outcome.fundamentalsLoaded = true;
    }
    if (!skipped) outcome.outcome = { ok, error, executionId: run.execution_id };
    limitChanged = await recordItemOutcome(c, item.asset_id, outcome);
    await recordDetails(c, [
      {
        executionId: run.execution_id,
        assetId: item.asset_id,
        operation: item.operation,
        status: skipped ? 'skipped' : ok ? 'success' : 'failed',
        recordsInserted: inserted,
        apiCalls: api.callsCharged,
        durationMs: performance.now() - started,
        error: error ?? note,
        warning,
      },
    ]);
    if (skipped) stats.skipped++;
    else if (ok) stats.processed++;
    else stats.failed++;
    if (warning) stats.warnings++;
  });
  if (limitChanged && warning) {
    log('warn', 'history_truncated', {
      execution_id: run.execution_id,
      symbol: item.symbol,
      requested_from: from,
      received_from: bars?.[0]?.date ?? null,
      warning,
    });
  }
}

function isKind(err: unknown, kind: EodhdErrorKind): boolean {
  return err instanceof EodhdError && err.kind === kind;
}

async function giveUpItem(
  ctx: PipelineContext,
  run: Execution,
  item: ClaimedItem,
  maxStarts: number,
  stats: RegionStats,
): Promise<void> {
  const error = `given up: started ${maxStarts} times without an outcome (the replica handling it died or lost its lease each time)`;
  await inTransaction(ctx.pool, async (c) => {
    if ((await finishItems(c, [item.id], 'failed', error, ctx.workerId)).length === 0) return;
    await recordItemOutcome(c, item.asset_id, { outcome: { ok: false, error, executionId: run.execution_id } });
    await recordDetails(c, [
      {
        executionId: run.execution_id,
        assetId: item.asset_id,
        operation: item.operation,
        status: 'failed',
        recordsInserted: 0,
        apiCalls: 0,
        durationMs: 0,
        error,
      },
    ]);
    stats.failed++;
  });
  log('error', 'item_given_up', {
    execution_id: run.execution_id,
    symbol: item.symbol,
    operation: item.operation,
    starts: maxStarts,
  });
}
