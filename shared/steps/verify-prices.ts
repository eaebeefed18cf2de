/**
 * What a region does after its items, before it hands over to finalize: the API's late
 * corrections and the second opinion on quarantined bars.
 *
 * - Re-reads: each published session check-quota planned for an exchange (the previous
 *   one every day, a few older ones on a slower cycle) is read again, one bulk answer a day
 *   (or one call a ticker covering them all, without bulk), and every bar the API now
 *   answers differently replaces the stored one and is recorded as a correction; a bar the
 *   API has now but we never stored (published late) is added. Each re-read is a
 *   'recheck-eod' step: its replicas make it once.
 * - Re-asks: each quarantined bar is asked once more (1 call, from the run's allowance),
 *   by the first run after the one that found it (EODHD corrects hours or days after the
 *   first print: asked minutes later it answers the same): an answer that differs replaces
 *   it and clears its findings; the same answer leaves it for an operator.
 * Then the quality checks judge what changed (check-quality.ts), and the corrected assets'
 * indicators are computed again.
 */
import type { EodBar } from '../eodhd/schemas.js';
import { inTransaction } from '../platform/db.js';
import { errorText, log } from '../platform/log.js';
import { markIndicatorsStale } from '../store/asset-state.js';
import { type Execution, reaskCallsLeft, runParameters, takeReaskCalls } from '../store/executions.js';
import { claimStep, completeStep, failStep, shardsLeft, stepState } from '../store/pipeline-steps.js';
import { applyCorrections, type Correction, differs } from '../store/price-corrections.js';
import { recheckPlansOf } from '../store/price-plans.js';
import { recordRecheck } from '../store/price-rechecks.js';
import { queuedCheckCount, storedBars } from '../store/prices.js';
import {
  clearBarFindings,
  droppedDays,
  giveBackAsks,
  takeUnaskedQuarantined,
  unaskedQuarantinedCount,
} from '../store/quality-findings.js';
import { pricedAssetsOf } from '../store/series-context.js';
import type { Settings } from '../store/settings.js';
import { asStop, type RegionStats } from './collection.js';
import type { PipelineContext } from './context.js';

export const RECHECK_STEP = 'recheck-eod';

/** The shard of a re-read: one bulk day of an exchange, or every ticker of it at once. */
export function recheckShard(exchange: string, method: 'bulk' | 'ticker', date: string | null): string {
  return method === 'bulk' ? `${exchange}:${date}` : `${exchange}:tickers`;
}

export interface VerifyTally {
  rechecks: number;
  corrections: number;
  reasked: number;
  reaskCleared: number;
}

/**
 * Makes the planned re-reads of these exchanges that nobody has made (a re-read another
 * replica holds is left to it). Throws a StopCollection when the API's limit or the key stops it.
 */
export async function recheckSessions(
  ctx: PipelineContext,
  run: Execution,
  exchanges: readonly string[],
  settings: Settings,
  quotaDay: string,
  deadline: number,
  stats: RegionStats,
  tally: VerifyTally,
): Promise<void> {
  const symbols = runParameters(run.parameters).symbols;
  for (const plan of await recheckPlansOf(ctx.pool, run.execution_id, exchanges)) {
    const shards = plan.method === 'bulk' ? plan.dates.map((d) => ({ date: d })) : [{ date: null }];
    for (const { date } of shards) {
      if (Date.now() >= deadline) return;
      const shard = recheckShard(plan.exchange, plan.method, date);
      // A re-read that failed is not tried again in this run (each try costs its calls).
      if ((await stepState(ctx.pool, run.execution_id, RECHECK_STEP, shard))?.status === 'failed') continue;
      const claim = await claimStep(ctx.pool, run.execution_id, RECHECK_STEP, shard, 300);
      if (claim.state !== 'claimed') continue;
      const api = ctx.api(run.execution_id, quotaDay, settings);
      try {
        const assets = await pricedAssetsOf(ctx.pool, plan.exchange, symbols);
        const byCode = new Map(assets.map((a) => [a.code, a]));
        const from = date ?? plan.dates[0]!;
        const to = date ?? plan.dates[plan.dates.length - 1]!;
        const answered = new Map<string, EodBar>();
        if (plan.method === 'bulk') {
          const { rows } = await api.bulkEod(plan.exchange, date!);
          for (const r of rows) {
            const a = byCode.get(r.code);
            if (a && r.date === date) answered.set(`${a.asset_id}:${r.date}`, r);
          }
        } else {
          for (const a of assets) {
            if (Date.now() >= deadline) break;
            const { bars } = await api.eod(a.symbol, from, to);
            for (const b of bars) answered.set(`${a.asset_id}:${b.date}`, b);
          }
        }
        stats.calls += api.callsCharged;
        const ids = assets.map((a) => a.asset_id);
        const stored = new Map<string, EodBar>(
          (await storedBars(ctx.pool, ids, from, to)).map((b) => [`${b.asset_id}:${b.date}`, b]),
        );
        const dropped = await droppedDays(ctx.pool, ids, from, to);
        const firstDate = new Map(assets.map((a) => [a.asset_id, a.first_date]));
        const corrections: Correction[] = [];
        for (const [key, now] of answered) {
          const [id, day] = key.split(':') as [string, string];
          const assetId = Number(id);
          const old = stored.get(key) ?? null;
          if (old ? differs(old, now) : isLateBar(firstDate.get(assetId) ?? null, day, dropped.has(key)))
            corrections.push({ assetId, date: day, old, now });
        }
        await inTransaction(ctx.pool, async (c) => {
          await applyCorrections(c, run.execution_id, 'recheck', corrections);
          await markIndicatorsStale(c, [...new Set(corrections.map((x) => x.assetId))]);
          for (const day of plan.method === 'bulk' ? [date!] : plan.dates)
            await recordRecheck(c, {
              exchange: plan.exchange,
              date: day,
              executionId: run.execution_id,
              method: plan.method,
              bars: [...answered.keys()].filter((k) => k.endsWith(`:${day}`)).length,
              corrections: corrections.filter((x) => x.date === day).length,
            });
          await completeStep(c, run.execution_id, RECHECK_STEP, shard, {
            exchange: plan.exchange,
            from,
            to,
            method: plan.method,
            bars: answered.size,
            corrections: corrections.length,
            calls: api.callsCharged,
          });
        });
        tally.rechecks++;
        tally.corrections += corrections.length;
        log('info', 'prices_rechecked', {
          execution_id: run.execution_id,
          exchange: plan.exchange,
          from,
          to,
          method: plan.method,
          bars: answered.size,
          corrections: corrections.length,
        });
      } catch (err) {
        stats.calls += api.callsCharged;
        const stop = asStop(err);
        await failStep(ctx.pool, run.execution_id, RECHECK_STEP, shard, errorText(err));
        if (stop) throw stop;
        log('warn', 'recheck_failed', { execution_id: run.execution_id, shard, error: errorText(err) });
      }
    }
  }
}

/** A bar the API has and we never stored: added when it falls inside the stored history and no operator dropped it. */
function isLateBar(firstDate: string | null, day: string, droppedByOperator: boolean): boolean {
  return firstDate !== null && day >= firstDate && !droppedByOperator;
}

/**
 * Asks the API once more for each quarantined bar of these exchanges not yet asked, while
 * the run's allowance lasts. Throws a StopCollection when the API's limit or the key stops it.
 */
export async function reaskQuarantined(
  ctx: PipelineContext,
  run: Execution,
  exchanges: readonly string[],
  settings: Settings,
  quotaDay: string,
  deadline: number,
  stats: RegionStats,
  tally: VerifyTally,
): Promise<void> {
  for (;;) {
    if (Date.now() >= deadline) return;
    const taken = await takeUnaskedQuarantined(ctx.pool, [...exchanges], 1, run.started_at);
    const finding = taken[0];
    if (!finding) return;
    if ((await takeReaskCalls(ctx.pool, run.execution_id, 1)) === 0) {
      await giveBackAsks(ctx.pool, [finding.id]);
      return;
    }
    const api = ctx.api(run.execution_id, quotaDay, settings);
    try {
      const { bars } = await api.eod(finding.symbol, finding.date, finding.date);
      stats.calls += api.callsCharged;
      tally.reasked++;
      const now = bars.find((b) => b.date === finding.date);
      const old = (await storedBars(ctx.pool, [finding.asset_id], finding.date, finding.date))[0] ?? null;
      if (now && old && differs(old, now)) {
        await inTransaction(ctx.pool, async (c) => {
          await applyCorrections(c, run.execution_id, 'reask', [
            { assetId: finding.asset_id, date: finding.date, old, now },
          ]);
          await clearBarFindings(c, finding.asset_id, finding.date, 'the API answered otherwise when asked again');
          await markIndicatorsStale(c, [finding.asset_id]);
        });
        tally.reaskCleared++;
        tally.corrections++;
      }
      log('info', 'quarantined_bar_reasked', {
        execution_id: run.execution_id,
        symbol: finding.symbol,
        date: finding.date,
        check: finding.check_name,
        changed: Boolean(now && old && differs(old, now)),
      });
    } catch (err) {
      stats.calls += api.callsCharged;
      const stop = asStop(err);
      if (stop) {
        await giveBackAsks(ctx.pool, [finding.id]);
        throw stop;
      }
      log('warn', 'reask_failed', { execution_id: run.execution_id, symbol: finding.symbol, error: errorText(err) });
    }
  }
}

/**
 * What is left of a region's verification: work nobody holds (open: this replica or a
 * fresh invocation does it) and work another replica is doing (held: that one hands over).
 * Re-asks count only while the run has calls for them and collection was not stopped.
 */
export async function verificationLeft(
  ctx: PipelineContext,
  run: Execution,
  exchanges: readonly string[],
  stopped: boolean,
): Promise<{ open: number; held: number }> {
  const rechecks = await shardsLeft(ctx.pool, run.execution_id, RECHECK_STEP, exchanges);
  const queued = await queuedCheckCount(ctx.pool, [...exchanges]);
  const asks =
    stopped || (await reaskCallsLeft(ctx.pool, run.execution_id)) === 0
      ? 0
      : await unaskedQuarantinedCount(ctx.pool, [...exchanges], run.started_at);
  return { open: (stopped ? 0 : rechecks.open) + queued + asks, held: rechecks.held };
}
