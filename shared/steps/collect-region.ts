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
 *
 * This module is the region's loop (claim a batch, work it, hand over or fan in); the bulk
 * path is collect-bulk.ts, one ticker's work collect-item.ts, what they share collection.ts.
 */

import { utcToday } from '../domain/dates.js';
import { exchangesOf, type Region } from '../domain/exchanges.js';
import { inTransaction } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import { withProgressLog } from '../platform/log.js';
import { recordDeferred } from '../store/details.js';
import { learntHolidays } from '../store/exchange-calendars.js';
import { countRegionDown, type Execution, setStopReason, touchRun } from '../store/executions.js';
import { completeStep, ensureStepPending } from '../store/pipeline-steps.js';
import { loadSettings, type Settings } from '../store/settings.js';
import {
  type ClaimedItem,
  claimWork,
  deferRegion,
  extendLeases,
  releaseItems,
  remainingInRegion,
} from '../store/work-items.js';
import { checkQueuedBars, type QualityPass } from './check-quality.js';
import { bulkCovered, writeFromBulk } from './collect-bulk.js';
import { processItem } from './collect-item.js';
import { asStop, type CollectDay, type RegionStats, type StopCollection } from './collection.js';
import type { PipelineContext } from './context.js';
import { runStep } from './step-runner.js';
import { reaskQuarantined, recheckSessions, type VerifyTally, verificationLeft } from './verify-prices.js';

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
      const verified: VerifyTally = { rechecks: 0, corrections: 0, reasked: 0, reaskCleared: 0 };
      const quality: QualityPass = { assets: 0, errors: 0, warnings: 0, cleared: 0, done: false };
      try {
        ended = await withProgressLog(
          'region_progress',
          () => ({ execution_id: executionId, region, ...stats }),
          async () => {
            const collected = await collectUntilDone(me, run, region, settings, deadline, stats);
            if (collected.outOfTime) return collected;
            const v = await verifyRegion(me, run, region, settings, deadline, stats, verified, quality, collected.stop);
            return { stop: collected.stop ?? v.stop, outOfTime: v.outOfTime };
          },
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
      const verifyLeft = await verificationLeft(
        me,
        run,
        exchangesOf(region),
        stop !== null || run.stop_reason !== null,
      );
      const body = {
        executionId,
        region,
        ...stats,
        verified: { ...verified, checked: quality.assets, errors: quality.errors, warnings: quality.warnings },
        durationMs: Date.now() - started,
        stoppedBecause: stop?.reason ?? (ended.outOfTime ? 'time_budget' : null),
        remaining,
      };
      let regionDone = false;
      let finalizeInvoked = false;
      const itemsDone = remaining.pending === 0 && remaining.claimed_live === 0 && remaining.claimed_expired === 0;
      if (itemsDone && verifyLeft.open === 0 && verifyLeft.held === 0) {
        regionDone = true;
        finalizeInvoked = await fanIn(me, executionId, region, body);
        if (finalizeInvoked) s.handOver([{ fn: 'finalize', body: { executionId } }]);
      } else if (remaining.pending > 0 || remaining.claimed_expired > 0 || (itemsDone && verifyLeft.open > 0)) {
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
 * After the region's items: its re-reads for late corrections and its re-asks of
 * quarantined bars (verify-prices.ts; not when collection was stopped: they need the API),
 * with the quality checks of everything they and the items wrote (check-quality.ts).
 */
async function verifyRegion(
  ctx: PipelineContext,
  run: Execution,
  region: Region,
  settings: Settings,
  deadline: number,
  stats: RegionStats,
  tally: VerifyTally,
  quality: QualityPass,
  stopped: StopCollection | null,
): Promise<{ stop: StopCollection | null; outOfTime: boolean }> {
  const exchanges = exchangesOf(region);
  const quotaDay = run.quota_day ?? utcToday();
  const mayCall = stopped === null && run.stop_reason === null;
  let stop: StopCollection | null = null;
  const check = async () => {
    const p = await checkQueuedBars(ctx.pool, run.execution_id, exchanges, settings, deadline);
    quality.assets += p.assets;
    quality.errors += p.errors;
    quality.warnings += p.warnings;
    quality.cleared += p.cleared;
  };
  try {
    if (mayCall) await recheckSessions(ctx, run, exchanges, settings, quotaDay, deadline, stats, tally);
    await check();
    if (mayCall) await reaskQuarantined(ctx, run, exchanges, settings, quotaDay, deadline, stats, tally);
    await check();
  } catch (err) {
    stop = asStop(err);
    if (!stop) throw err;
    await check();
  }
  return { stop, outOfTime: Date.now() >= deadline };
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
