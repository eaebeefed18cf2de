/**
 * How the pipeline's data-quality loop did against what the simulator sent (its ground
 * truth): for each kind of bad tick, how many the API served on the bars the pipeline
 * stored, how many the checks found, quarantined, and how many were cleared (a re-read or
 * a re-ask got the corrected bar); findings with no bad tick behind them (false positives,
 * by severity); and the late corrections of first prints: sent, picked up, and the calls
 * the re-reads and re-asks cost. `npm run simulate` prints it after its days.
 */
import type pg from 'pg';
import type { QualityCheck } from '../shared/domain/quality.js';
import type { BadTickKind, Simulator } from './simulator/index.js';

/** The check that must find each kind of bad tick. */
const FOUND_BY: Record<BadTickKind, QualityCheck> = {
  ohlc_order: 'ohlc_order',
  non_positive: 'non_positive',
  unit_x100: 'unit_slip',
  unit_div100: 'unit_slip',
  spike: 'price_move',
  volume_spike: 'volume_spike',
  zero_volume: 'zero_volume',
  stale: 'stale_series',
  missing: 'missing_session',
  bad_adjusted: 'adjusted_close',
};

/** A stale run is its first day and the 11 sessions after it. */
const STALE_RUN = 12;

export interface QualityReport {
  /** The bars the checks judged: every stored one. */
  bars: number;
  byKind: Array<{
    kind: string;
    sent: number;
    found: number;
    quarantined: number;
    /** Cleared by a re-ask of the quarantined bar, or by the next day's re-read. */
    clearedByReask: number;
    clearedByReread: number;
  }>;
  falsePositives: { errors: number; warnings: number; errorShare: number; warningShare: number; examples: string[] };
  corrections: { sent: number; due: number; pickedUp: number; recheckCalls: number; reaskCalls: number };
}

/**
 * `firstRun`: the first run's day. A bad tick or a first print counts as sent only if the
 * API still served it when the pipeline first stored its bar (the later of its day and the
 * first run's): the history loaded on day 1 holds the bars as corrected by then.
 */
export async function qualityReport(
  pool: pg.Pool,
  sim: Simulator,
  firstRun: string,
  through: string,
): Promise<QualityReport> {
  const served = (date: string, correctedOn: string | null) =>
    correctedOn === null || correctedOn > (date > firstRun ? date : firstRun);
  const range = (
    await pool.query<{ first: string; bars: number }>(
      `SELECT min(date)::text AS first, count(*)::int AS bars FROM stock_prices`,
    )
  ).rows[0]!;
  const first = range.first ?? through;
  const findings = (
    await pool.query<{ symbol: string; date: string; check: string; severity: string; status: string; detail: string }>(
      `SELECT a.symbol, f.date::text, f.check_name AS check, f.severity, f.status, f.detail
         FROM price_quality_findings f JOIN assets a ON a.id = f.asset_id`,
    )
  ).rows;
  const byKey = new Map<string, typeof findings>();
  for (const f of findings) {
    const k = `${f.symbol}:${f.date}`;
    byKey.set(k, [...(byKey.get(k) ?? []), f]);
  }
  // Only the bad ticks on listings the pipeline stores (an active asset with prices).
  const stored = new Set(
    (
      await pool.query<{ symbol: string }>(
        `SELECT a.symbol FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id WHERE s.prices_loaded`,
      )
    ).rows.map((r) => r.symbol),
  );
  const ticks = sim.badTicks(first, through).filter((b) => stored.has(b.symbol) && served(b.date, b.correctedOn));
  const sources = new Map(
    (
      await pool.query<{ symbol: string; date: string; source: string }>(
        `SELECT DISTINCT ON (a.symbol, c.date) a.symbol, c.date::text, c.source
           FROM price_corrections c JOIN assets a ON a.id = c.asset_id ORDER BY a.symbol, c.date, c.id`,
      )
    ).rows.map((r) => [`${r.symbol}:${r.date}`, r.source]),
  );
  const explained = new Set<string>();
  const kinds = new Map<string, QualityReport['byKind'][number]>();
  for (const b of ticks) {
    const row = kinds.get(b.kind) ?? {
      kind: b.kind,
      sent: 0,
      found: 0,
      quarantined: 0,
      clearedByReask: 0,
      clearedByReread: 0,
    };
    kinds.set(b.kind, row);
    row.sent++;
    const want = FOUND_BY[b.kind];
    const dates =
      b.kind === 'stale'
        ? sim
            .trueHistory(b.symbol, b.date, through)
            .slice(0, STALE_RUN)
            .map((x) => x.date)
        : [b.date];
    let hit: (typeof findings)[number] | undefined;
    for (const d of dates) {
      const k = `${b.symbol}:${d}`;
      explained.add(k);
      hit ??= byKey.get(k)?.find((f) => f.check === want);
    }
    // The day after a bad tick is compared with it by some checks (a stale run's next bar).
    explained.add(`${b.symbol}:${sim.trueHistory(b.symbol, b.date, through)[dates.length]?.date ?? ''}`);
    if (!hit) continue;
    row.found++;
    if (hit.severity === 'error') row.quarantined++;
    if (hit.status === 'cleared') {
      if (sources.get(`${b.symbol}:${hit.date}`) === 'reask') row.clearedByReask++;
      else row.clearedByReread++;
    }
  }
  const late = sim.lateCorrections(first, through).filter((c) => stored.has(c.symbol) && served(c.date, c.correctedOn));
  for (const c of late) explained.add(`${c.symbol}:${c.date}`);
  let fpErrors = 0;
  let fpWarnings = 0;
  const errorExamples: string[] = [];
  const warningExamples: string[] = [];
  for (const [k, list] of byKey)
    if (!explained.has(k))
      for (const f of list) {
        const e = `${f.symbol} ${f.date} ${f.check} ${f.severity}: ${f.detail}`;
        if (f.severity === 'error') {
          fpErrors++;
          errorExamples.push(e);
        } else {
          fpWarnings++;
          warningExamples.push(e);
        }
      }
  const examples = [...errorExamples.slice(0, 10), ...warningExamples.slice(0, 4)];
  const picked = new Set(
    (
      await pool.query<{ symbol: string; date: string }>(
        `SELECT DISTINCT a.symbol, c.date::text FROM price_corrections c JOIN assets a ON a.id = c.asset_id`,
      )
    ).rows.map((r) => `${r.symbol}:${r.date}`),
  );
  const calls = (
    await pool.query<{ recheck: number; reask: number }>(
      `SELECT (SELECT coalesce(sum((result->>'calls')::int), 0) FROM pipeline_steps WHERE step = 'recheck-eod')::int AS recheck,
              (SELECT coalesce(sum(reask_used), 0) FROM process_executions)::int AS reask`,
    )
  ).rows[0]!;
  // A correction the pipeline can have seen: its final values served by the last run's day.
  const due = late.filter((c) => c.correctedOn <= through);
  return {
    bars: range.bars,
    byKind: [...kinds.values()].sort((a, b) => a.kind.localeCompare(b.kind)),
    falsePositives: {
      errors: fpErrors,
      warnings: fpWarnings,
      errorShare: fpErrors / Math.max(1, range.bars),
      warningShare: fpWarnings / Math.max(1, range.bars),
      examples,
    },
    corrections: {
      sent: late.length,
      due: due.length,
      pickedUp: due.filter((c) => picked.has(`${c.symbol}:${c.date}`)).length,
      recheckCalls: calls.recheck,
      reaskCalls: calls.reask,
    },
  };
}

export function formatQualityReport(r: QualityReport): string {
  const out = [
    `\nData quality over ${r.bars.toLocaleString('en-US')} stored bars (the simulator's bad ticks on stored listings, from the first stored day, that the API still served when the bar was first stored):`,
    `${'kind'.padEnd(14)}${['sent', 'found', 'quarantined', 'cleared: re-ask', 're-read'].map((h) => h.padStart(16)).join('')}`,
    ...r.byKind.map(
      (k) =>
        `${k.kind.padEnd(14)}${[k.sent, k.found, k.quarantined, k.clearedByReask, k.clearedByReread].map((n) => String(n).padStart(16)).join('')}`,
    ),
    `false positives: ${r.falsePositives.errors} errors (${(100 * r.falsePositives.errorShare).toFixed(4)}% of bars), ${r.falsePositives.warnings} warnings (${(100 * r.falsePositives.warningShare).toFixed(4)}%)`,
    ...r.falsePositives.examples.map((e) => `  e.g. ${e}`),
    `late corrections of first prints: ${r.corrections.sent} sent, ${r.corrections.due} corrected by the last day, ${r.corrections.pickedUp} of those picked up; re-reads cost ${r.corrections.recheckCalls} calls, re-asks ${r.corrections.reaskCalls}`,
  ];
  return out.join('\n');
}
