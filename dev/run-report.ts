/** Waiting for a run's chain to finish, and the summary an operator reads afterwards. */
import type pg from 'pg';
import { type ExchangeCode, REGION_OF } from '../shared/domain/exchanges.js';

export interface RunSummary {
  executionId: number;
  status: string;
  asOf: string;
  durationSeconds: number;
  totals: { processed: number; failed: number; skipped: number; apiCalls: number };
  /** What the run's quality checks found and its re-reads corrected; the quarantine it leaves. */
  quality: {
    errors: number;
    warnings: number;
    corrections: number;
    quarantinedBars: number;
    quarantinedAssets: number;
  };
  /**
   * Per region: the assets the run worked on, and its work items (an asset has one per
   * operation: prices, fundamentals...) by how they ended; the calls spent on them.
   */
  regions: Array<{
    region: string;
    assets: number;
    workItems: number;
    done: number;
    failed: number;
    deferred: number;
    skipped: number;
    apiCalls: number;
  }>;
  /** Calls for no region: the account (/user), the exchanges' symbol lists and calendars, the split and dividend calendars. */
  callsOutsideRegions: number;
  steps: Array<{ step: string; shard: string; status: string; seconds: number | null }>;
  callsByEndpoint: Array<{ endpoint: string; requests: number; calls: number }>;
  indicators: { executionId: number; status: string; calculated: number; skipped: number; seconds: number } | null;
  coverage: Array<Record<string, unknown>>;
  /** The EODHD plan the run budgeted with, and what it leaves out. */
  plan: {
    figures: Record<string, unknown> | null;
    notInPlan: Array<{ kind: string; since: string; source: string; detail: string | null }>;
    historyLimited: number;
    withoutFundamentals: number;
    assetsWithWarnings: number;
  };
}

const RUN = `SELECT execution_id, status, as_of, current_step, error_message, started_at, finished_at,
                    assets_processed, assets_failed, assets_skipped, api_calls_used, api_plan, assets_with_warnings,
                    price_corrections, quality_errors, quality_warnings
               FROM process_executions WHERE execution_id = $1`;
const INDICATOR_RUN = `SELECT execution_id, status, assets_processed, assets_skipped, started_at, finished_at
                         FROM process_executions WHERE parent_execution_id = $1 AND process_name = 'calc_indicators'
                         ORDER BY execution_id DESC LIMIT 1`;
const CALC_STEP = `SELECT status FROM pipeline_steps WHERE execution_id = $1 AND step = 'calc-indicators'`;

/** Waits until the run and its indicator run have finished; reports progress on the way. */
export async function waitForChain(
  pool: pg.Pool,
  executionId: number,
  timeoutMs: number,
  onProgress?: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastLine = '';
  let lastPrinted = 0;
  for (;;) {
    const run = (await pool.query(RUN, [executionId])).rows[0];
    if (run && run.status !== 'running') {
      const calc = (await pool.query(CALC_STEP, [executionId])).rows[0];
      const ind = (await pool.query(INDICATOR_RUN, [executionId])).rows[0];
      if ((calc && calc.status === 'done') || (ind && ind.status !== 'running') || (run.status === 'failed' && !calc))
        return;
    }
    if (Date.now() > deadline)
      throw new Error(
        `run ${executionId} did not finish in ${Math.round(timeoutMs / 1000)} s (step ${run?.current_step})`,
      );
    if (onProgress && run) {
      const done = (
        await pool.query(
          `SELECT count(*) FILTER (WHERE status IN ('done', 'failed'))::int AS done, count(*)::int AS total
                                          FROM work_items WHERE execution_id = $1 AND status <> 'deferred'`,
          [executionId],
        )
      ).rows[0];
      const line = `  run ${executionId}: ${run.status === 'running' ? run.current_step : 'calc-indicators'} ${done.done}/${done.total} work items`;
      if (line !== lastLine && Date.now() - lastPrinted >= 5000) {
        onProgress(line);
        lastLine = line;
        lastPrinted = Date.now();
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function summarise(pool: pg.Pool, executionId: number): Promise<RunSummary> {
  const run = (await pool.query(RUN, [executionId])).rows[0];
  const regions = (
    await pool.query(
      `
    SELECT w.region,
           count(DISTINCT w.asset_id)::int AS assets,
           count(*)::int AS work_items,
           count(*) FILTER (WHERE w.status = 'done')::int AS done,
           count(*) FILTER (WHERE w.status = 'failed')::int AS failed,
           count(*) FILTER (WHERE w.status = 'deferred')::int AS deferred,
           count(*) FILTER (WHERE w.status = 'skipped')::int AS skipped
      FROM work_items w WHERE w.execution_id = $1
     GROUP BY w.region ORDER BY w.region`,
      [executionId],
    )
  ).rows as Array<{
    region: string;
    assets: number;
    work_items: number;
    done: number;
    failed: number;
    deferred: number;
    skipped: number;
  }>;
  // A call's region: its asset's, or its exchange's for a bulk day. An exchange's symbol
  // list and calendar serve discovery, not the region's assets, and /user the account: no region.
  const calls = (
    await pool.query(
      `
    SELECT a.region, c.target, c.endpoint, sum(c.cost)::int AS calls
      FROM api_calls c LEFT JOIN assets a ON a.symbol = c.target
     WHERE c.execution_id = $1 GROUP BY 1, 2, 3`,
      [executionId],
    )
  ).rows as Array<{ region: string | null; target: string | null; endpoint: string; calls: number }>;
  const callsByRegion = new Map<string, number>();
  let callsOutsideRegions = 0;
  for (const c of calls) {
    const bulkDay =
      c.target !== null &&
      c.target in REGION_OF &&
      c.endpoint !== 'exchange-symbol-list' &&
      c.endpoint !== 'exchange-details';
    const region = c.region ?? (bulkDay ? REGION_OF[c.target as ExchangeCode] : null);
    if (region) callsByRegion.set(region, (callsByRegion.get(region) ?? 0) + c.calls);
    else callsOutsideRegions += c.calls;
  }
  const steps = (
    await pool.query(
      `
    SELECT step, shard, status, round(extract(epoch FROM finished_at - started_at)::numeric, 1)::float8 AS seconds
      FROM pipeline_steps WHERE execution_id = $1 ORDER BY started_at NULLS LAST, step, shard`,
      [executionId],
    )
  ).rows;
  const byEndpoint = (
    await pool.query(
      `SELECT endpoint, count(*)::int AS requests, sum(cost)::int AS calls FROM api_calls WHERE execution_id = $1 GROUP BY endpoint ORDER BY endpoint`,
      [executionId],
    )
  ).rows;
  const ind = (await pool.query(INDICATOR_RUN, [executionId])).rows[0];
  const coverage = (await pool.query('SELECT * FROM get_processing_progress()')).rows;
  const limits = (
    await pool.query<{
      limited: number;
      no_document: number;
    }>(`SELECT count(*) FILTER (WHERE s.history_limited)::int AS limited,
    count(*) FILTER (WHERE s.fundamentals_not_found_on IS NOT NULL)::int AS no_document
    FROM asset_processing_state s JOIN assets a ON a.id = s.asset_id WHERE a.is_active`)
  ).rows[0]!;
  const quarantine = (
    await pool.query<{ bars: number; assets: number }>(
      `SELECT count(*)::int AS bars, count(DISTINCT asset_id)::int AS assets FROM price_quality_findings
        WHERE status = 'open' AND severity = 'error'`,
    )
  ).rows[0]!;
  const notInPlan = (
    await pool.query(
      `SELECT kind, since::text, source, detail FROM api_entitlements WHERE status = 'not_in_plan' ORDER BY kind`,
    )
  ).rows;
  return {
    executionId,
    status: run.status,
    asOf: run.as_of,
    durationSeconds: Math.round(((run.finished_at ?? new Date()).getTime() - run.started_at.getTime()) / 100) / 10,
    totals: {
      processed: run.assets_processed,
      failed: run.assets_failed,
      skipped: run.assets_skipped,
      apiCalls: run.api_calls_used,
    },
    quality: {
      errors: run.quality_errors,
      warnings: run.quality_warnings,
      corrections: run.price_corrections,
      quarantinedBars: quarantine.bars,
      quarantinedAssets: quarantine.assets,
    },
    regions: regions.map((r) => ({
      region: r.region,
      assets: r.assets,
      workItems: r.work_items,
      done: r.done,
      failed: r.failed,
      deferred: r.deferred,
      skipped: r.skipped,
      apiCalls: callsByRegion.get(r.region) ?? 0,
    })),
    callsOutsideRegions,
    steps,
    callsByEndpoint: byEndpoint,
    indicators: ind
      ? {
          executionId: ind.execution_id,
          status: ind.status,
          calculated: ind.assets_processed,
          skipped: ind.assets_skipped,
          seconds: Math.round(((ind.finished_at ?? new Date()).getTime() - ind.started_at.getTime()) / 100) / 10,
        }
      : null,
    coverage,
    plan: {
      figures: run.api_plan,
      notInPlan,
      historyLimited: limits.limited,
      withoutFundamentals: limits.no_document,
      assetsWithWarnings: run.assets_with_warnings,
    },
  };
}

/** What the plan gave and what it left out, in words. */
function planLines(s: RunSummary): string[] {
  const out: string[] = [];
  const f = s.plan.figures as {
    subscriptionType?: string | null;
    apiLimit?: number | null;
    buffer?: number;
    callLimit?: number;
    usedToday?: number;
    budget?: number;
  } | null;
  if (f) {
    out.push(
      `  EODHD plan: ${f.subscriptionType ?? 'unknown'}, ${f.apiLimit ?? '?'} calls a day; this run's day: limit ${f.callLimit} (${f.buffer} kept back), ${f.usedToday} used before it, budget ${f.budget}`,
    );
  }
  for (const x of s.plan.notInPlan) {
    const why = x.source === 'feeds' ? "the plan's feed list names no such feed" : (x.detail ?? 'refused (403)');
    out.push(`  Not in the plan: ${x.kind} (since ${x.since}: ${why}); asked again once a day`);
  }
  if (s.plan.historyLimited > 0)
    out.push(`  History cut short by the plan: ${s.plan.historyLimited} assets (fetched whole again after an upgrade)`);
  if (s.plan.withoutFundamentals > 0)
    out.push(
      `  No fundamentals at EODHD: ${s.plan.withoutFundamentals} assets (asked again when they reappear in their exchange's list)`,
    );
  return out;
}

function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals: string[]) =>
    '  ' + vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [
    line(columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => String(r[c] ?? '')))),
  ].join('\n');
}

export function formatSummary(s: RunSummary): string {
  const out: string[] = [];
  out.push(`Run ${s.executionId} for ${s.asOf}: ${s.status.toUpperCase()} in ${s.durationSeconds} s`);
  out.push(
    `  processed ${s.totals.processed}, failed ${s.totals.failed}, skipped ${s.totals.skipped}, API calls ${s.totals.apiCalls}`,
  );
  out.push(
    `  data quality: ${s.quality.errors} errors and ${s.quality.warnings} warnings found, ${s.quality.corrections} bars corrected by the API; ${s.quality.quarantinedBars} bars of ${s.quality.quarantinedAssets} assets quarantined (v_data_quality)`,
  );
  const plan = planLines(s);
  if (plan.length > 0) out.push('', 'Plan:', ...plan);
  out.push(
    '',
    'Per region (work items: one per asset and operation):',
    table(s.regions, ['region', 'assets', 'workItems', 'done', 'failed', 'deferred', 'skipped', 'apiCalls']),
  );
  if (s.callsOutsideRegions > 0)
    out.push(
      `  and ${s.callsOutsideRegions} calls for no region (the account, the exchanges' symbol lists and calendars, the split and dividend calendars)`,
    );
  out.push(
    '',
    'Per step:',
    table(
      s.steps.map((x) => ({
        step: x.shard ? `${x.step}/${x.shard}` : x.step,
        status: x.status,
        seconds: x.seconds ?? '',
      })),
      ['step', 'status', 'seconds'],
    ),
  );
  out.push('', 'API calls by endpoint:', table(s.callsByEndpoint, ['endpoint', 'requests', 'calls']));
  if (s.indicators)
    out.push(
      '',
      `Indicators: run ${s.indicators.executionId} ${s.indicators.status}, ${s.indicators.calculated} assets calculated, ${s.indicators.skipped} with fewer than 200 bars, ${s.indicators.seconds} s`,
    );
  out.push(
    '',
    'Coverage (get_processing_progress()):',
    table(s.coverage, [
      'region',
      'active_assets',
      'with_prices',
      'with_full_history',
      'with_fundamentals',
      'with_indicators',
      'failing',
      'not_found',
    ]),
  );
  return out.join('\n');
}
