import { inTransaction } from '../platform/db.js';
import { errorText, log } from '../platform/log.js';
import { markPricesAppended } from '../store/asset-state.js';
import { bulkRowsFor, storeBulkRows } from '../store/bulk-eod.js';
import { recordDetails } from '../store/details.js';
import { learnHoliday } from '../store/exchange-calendars.js';
import type { Execution } from '../store/executions.js';
import { claimStep, completeStep, failStep } from '../store/pipeline-steps.js';
import { pricePlanOf } from '../store/price-plans.js';
import { type PriceRow, upsertPrices } from '../store/prices.js';
import type { Settings } from '../store/settings.js';
import { type ClaimedItem, finishItems } from '../store/work-items.js';
import { asStop, type RegionStats } from './collection.js';
import type { PipelineContext } from './context.js';
/**
 * Makes sure each bulk day of the exchange's price plan is stored for this run (one
 * 100-call request a day, made by whichever replica gets there first; the others wait for
 * it) and returns the items the plan covers, with the latest day the exchange answered.
 */
export async function bulkCovered(
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
export async function writeFromBulk(
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
