/**
 * collect-region's per-item path: one ticker's work item, what its operation needs fetched
 * (history from the day after its last stored bar, a whole history, fundamentals), then all
 * of it written in one transaction with its outcome. Failures that may pass go back to the
 * queue with a delay; an item started too often without an outcome is given up.
 */

import { addDays } from '../domain/dates.js';
import type { EodhdClient } from '../eodhd/client.js';
import type { EodBar, Fundamentals } from '../eodhd/schemas.js';
import { inTransaction, type Queryable } from '../platform/db.js';
import { errorText, log } from '../platform/log.js';
import { type ItemOutcome, recordItemOutcome, reopenSkippedDay } from '../store/asset-state.js';
import { recordDetails } from '../store/details.js';
import { forgetLearntHoliday } from '../store/exchange-calendars.js';
import { asOfFor, type Execution } from '../store/executions.js';
import { upsertFundamentals } from '../store/fundamentals.js';
import { insertNewSeries, upsertPrices } from '../store/prices.js';
import type { Settings } from '../store/settings.js';
import { type ClaimedItem, finishItems, retryItemLater, startItem } from '../store/work-items.js';
import { asStop, type CollectDay, isKind, isTransient, type RegionStats } from './collection.js';
import type { PipelineContext } from './context.js';

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

/** One ticker: fetch what its operation needs, then write it all in one transaction. */
export async function processItem(
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
    case 'fundamentals_load':
      from = null;
      break;
  }
  const wantFundamentals = item.operation === 'fundamentals_load';
  // A whole history (not bars appended to a stored one): its currency becomes the series'.
  const wholeHistory = from !== null && (item.operation !== 'price_update' || through === null);

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
      await upsertFundamentals(c, item.asset_id, doc, quotaDay);
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
