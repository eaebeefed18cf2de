/**
 * The quality checks of every new or changed bar (domain/quality.ts), after a region's
 * prices are written and before indicators: the assets queued by the price writes are
 * taken in batches (replicas take different ones), their bars read with a baseline before
 * them, and what the checks find is recorded in one transaction with the taking. An asset
 * whose quarantine changed gets its indicators computed again.
 */
import type pg from 'pg';
import { checkSeries, type Finding, type QualityBar, type QualityThresholds } from '../domain/quality.js';
import { inTransaction } from '../platform/db.js';
import { markIndicatorsStale } from '../store/asset-state.js';
import { barsForChecks, queueHistory, type StoredBar, takeQueuedChecks } from '../store/prices.js';
import { openErrorDays, recordFindings } from '../store/quality-findings.js';
import { type AssetContext, seriesContextOf } from '../store/series-context.js';
import type { Settings } from '../store/settings.js';

/**
 * Assets checked per transaction. A first series is ~560 bars an asset: 100 assets are
 * ~56,000 bars in memory at once (250 held ~140,000, and with them collect-region's peak RSS
 * on day 1).
 */
const BATCH = 100;

export interface QualityPass {
  assets: number;
  errors: number;
  warnings: number;
  cleared: number;
  /** False when the deadline came first (the rest stays queued). */
  done: boolean;
}

export function thresholdsOf(s: Settings): QualityThresholds {
  return {
    movePctError: s.quality_move_error_pct,
    moveSigmas: s.quality_move_sigmas,
    unitSlipPct: s.quality_unit_slip_pct,
    volumeSpikeRatio: s.quality_volume_spike_ratio,
    staleSessions: s.quality_stale_sessions,
    adjustedTolerancePct: s.quality_adjusted_tolerance_pct,
    marketCapTolerancePct: s.quality_market_cap_tolerance_pct,
  };
}

/** Checks the queued assets of these exchanges (null: all) until none are left or the deadline passes. */
export async function checkQueuedBars(
  pool: pg.Pool,
  executionId: number | null,
  exchanges: string[] | null,
  settings: Settings,
  deadline: number,
): Promise<QualityPass> {
  const pass: QualityPass = { assets: 0, errors: 0, warnings: 0, cleared: 0, done: false };
  const thresholds = thresholdsOf(settings);
  for (;;) {
    if (Date.now() >= deadline) return pass;
    const taken = await inTransaction(pool, async (c) => {
      const taken = await takeQueuedChecks(c, exchanges, BATCH);
      if (taken.length === 0) return 0;
      // An asset's open errors are judged again with its new bars: a big move that held is
      // real after all, and its finding is cleared.
      const open = await openErrorDays(
        c,
        taken.map((x) => x.asset_id),
      );
      const queued = taken.map((x) => {
        const first = open.get(x.asset_id);
        return first && first < x.from_date ? { ...x, from_date: first } : x;
      });
      const bars = await barsForChecks(c, queued);
      const context = await seriesContextOf(
        c,
        queued.map((x) => x.asset_id),
      );
      const found = findingsOf(queued, bars, context, thresholds);
      const r = await recordFindings(c, executionId, queued, found);
      await markIndicatorsStale(c, r.quarantineChanged);
      // A quarantine opened or cleared changes the bars the history uses, from the checked range on.
      const changed = new Set(r.quarantineChanged);
      await queueHistory(
        c,
        queued.filter((x) => changed.has(x.asset_id)).map((x) => ({ assetId: x.asset_id, fromDate: x.from_date })),
      );
      pass.errors += r.errors;
      pass.warnings += r.warnings;
      pass.cleared += r.cleared;
      return queued.length;
    });
    if (taken === 0) {
      pass.done = true;
      return pass;
    }
    pass.assets += taken;
  }
}

/** Runs the checks of each queued asset; the sessions its exchange traded come from the batch's own bars. */
export function findingsOf(
  queued: Array<{ asset_id: number; from_date: string }>,
  bars: StoredBar[],
  context: Map<number, AssetContext>,
  thresholds: QualityThresholds,
): Array<Finding & { assetId: number }> {
  const byAsset = new Map<number, QualityBar[]>();
  for (const b of bars) {
    let list = byAsset.get(b.asset_id);
    if (!list) byAsset.set(b.asset_id, (list = []));
    list.push(b);
  }
  const traded = tradedSessions(queued, byAsset, context);
  const out: Array<Finding & { assetId: number }> = [];
  const seen = new Set<string>();
  for (const q of queued) {
    const ctx = context.get(q.asset_id);
    const series = byAsset.get(q.asset_id);
    if (!ctx || !series || series.length === 0) continue;
    const findings = checkSeries(
      series,
      q.from_date,
      {
        actionDays: new Set(ctx.action_days),
        currencySwitchDays: ctx.switch_days,
        tradedSessions: traded.get(ctx.exchange) ?? null,
        marketCap:
          ctx.same_currency && ctx.market_cap !== null && ctx.shares_outstanding !== null
            ? { marketCap: ctx.market_cap, sharesOutstanding: ctx.shares_outstanding, perMajor: ctx.per_major }
            : null,
      },
      thresholds,
    );
    for (const f of findings) {
      const key = `${q.asset_id}:${f.date}:${f.check}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ...f, assetId: q.asset_id });
    }
  }
  return out;
}

/** Fewer assets of an exchange in a batch than this: its sessions are not inferred (no missing-session check). */
const MIN_ASSETS_FOR_SESSIONS = 5;

/**
 * The days each exchange traded, seen in the batch: a day with bars from at least a fifth
 * of the exchange's assets in it (and 3). Not the calendar alone: a holiday the calendar
 * does not know would make every regular asset look as if it missed a session.
 */
function tradedSessions(
  queued: Array<{ asset_id: number }>,
  byAsset: Map<number, QualityBar[]>,
  context: Map<number, AssetContext>,
): Map<string, string[]> {
  const counts = new Map<string, Map<string, number>>();
  const sizes = new Map<string, number>();
  for (const q of queued) {
    const ex = context.get(q.asset_id)?.exchange;
    const series = byAsset.get(q.asset_id);
    if (!ex || !series) continue;
    sizes.set(ex, (sizes.get(ex) ?? 0) + 1);
    let days = counts.get(ex);
    if (!days) counts.set(ex, (days = new Map()));
    for (const b of series) days.set(b.date, (days.get(b.date) ?? 0) + 1);
  }
  const out = new Map<string, string[]>();
  for (const [ex, days] of counts) {
    const n = sizes.get(ex)!;
    if (n < MIN_ASSETS_FOR_SESSIONS) continue;
    const min = Math.max(3, Math.ceil(n / 5));
    out.set(
      ex,
      [...days.entries()]
        .filter(([, c]) => c >= min)
        .map(([d]) => d)
        .sort(),
    );
  }
  return out;
}
