/**
 * calc-indicators: the 31 columns for every asset whose prices changed since its last
 * calculation (after a daily run), for given symbols, or for all assets; over the last 500
 * bars of split- and dividend-adjusted prices (so a split is not a crash); an asset with
 * fewer than 200 bars gets no row. It records its own run in process_executions.
 */

import { utcToday } from '../domain/dates.js';
import { computeIndicators, INDICATOR_COLUMNS, type IndicatorRow, MAX_BARS } from '../domain/indicators.js';
import { inTransaction, type Queryable } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import type { CalcIndicatorsInput } from '../platform/input.js';
import { errorText, log, withLogFunction, withProgressLog } from '../platform/log.js';
import { rowsWritten } from '../platform/metrics.js';
import { assetsWithStaleIndicators, markIndicatorsCalculated } from '../store/asset-state.js';
import { type DetailRow, recordDetails } from '../store/details.js';
import {
  CALC_INDICATORS,
  closeAbandonedIndicatorRuns,
  type Execution,
  finishRun,
  openRun,
  runParameters,
  touchProgress,
} from '../store/executions.js';
import { failStep, stepLeaseSeconds } from '../store/pipeline-steps.js';
import type { PipelineContext } from './context.js';
import { runStep } from './step-runner.js';

const BATCH = 125;
/** An indicator run whose batches made no progress for this long was abandoned by its invocation. */
const ABANDONED_AFTER_SECONDS = 1800;

// One row per asset instead of 500: its newest MAX_BARS bars, newest first, as big-endian
// float8 (high, low, close, adjusted close, volume per bar) in base64. Binary because parsing
// five float8[] texts of 500 numbers cost this process more CPU than computing the 31
// columns; base64 because it is a third of the bytes of bytea's hex text; one ordered
// aggregate instead of five. Newest first because that is the order the index gives: the
// aggregate then sorts nothing (0.29-0.40 ms of PostgreSQL CPU an asset, 0.56 with
// ORDER BY date ascending); decoding reads them backwards.
const BAR_FIELDS = 5;
// Quarantined bars (an open error finding: store/quality-findings.ts) are left out, so
// that no indicator (the 52-week high, an average) is computed from a x100 slip.
const LOAD_BARS = `
  SELECT a.id AS asset_id, p.last_date, p.n, p.bars
    FROM unnest($1::bigint[]) AS a(id)
    CROSS JOIN LATERAL (
      SELECT coalesce(array_agg(f.date), '{}') AS dates FROM price_quality_findings f
       WHERE f.asset_id = a.id AND f.status = 'open' AND f.severity = 'error'
    ) q
    CROSS JOIN LATERAL (
      SELECT max(x.date)::text AS last_date, count(*)::int AS n,
             encode(string_agg(float8send(x.high) || float8send(x.low) || float8send(x.close)
                        || float8send(x.adjusted_close) || float8send(x.volume), ''::bytea ORDER BY x.date DESC), 'base64') AS bars
        FROM (SELECT date, high, low, close, adjusted_close, volume FROM stock_prices
               WHERE asset_id = a.id AND date <> ALL (q.dates) ORDER BY date DESC LIMIT ${MAX_BARS}) x
    ) p`;

interface LoadedBars {
  asset_id: number;
  last_date: string | null;
  n: number;
  /** base64 (PostgreSQL's, with a line break every 76 characters, which decoding skips) */
  bars: string | null;
}

// One float8[] per column, unnested side by side. (One flat array cut by each row's ordinal
// cost ten times as much: every subscript of a parameter array copies the whole array.)
const UPSERT_INDICATORS = `
  INSERT INTO technical_indicators (asset_id, price_date, bars_used, calculated_at, ${INDICATOR_COLUMNS.join(', ')})
  SELECT t.asset_id, t.price_date, t.bars_used, now(), ${INDICATOR_COLUMNS.map((c) => `t.${c}`).join(', ')}
    FROM unnest($1::bigint[], $2::date[], $3::int[], ${INDICATOR_COLUMNS.map((_, i) => `$${i + 4}::float8[]`).join(', ')})
      AS t(asset_id, price_date, bars_used, ${INDICATOR_COLUMNS.join(', ')})
  ON CONFLICT (asset_id) DO UPDATE SET price_date = EXCLUDED.price_date, bars_used = EXCLUDED.bars_used, calculated_at = now(),
    ${INDICATOR_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;

async function writeIndicators(
  q: Queryable,
  rows: Array<{ assetId: number; priceDate: string; bars: number; values: IndicatorRow }>,
): Promise<void> {
  if (rows.length === 0) return;
  await q.query(UPSERT_INDICATORS, [
    rows.map((r) => r.assetId),
    rows.map((r) => r.priceDate),
    rows.map((r) => r.bars),
    ...INDICATOR_COLUMNS.map((c) => rows.map((r) => r.values[c])),
  ]);
  rowsWritten.inc({ table: 'technical_indicators' }, rows.length);
  await markIndicatorsCalculated(
    q,
    rows.map((r) => r.assetId),
  );
}

// One asset's bars at a time, decoded into the same memory: computeIndicators keeps nothing
// of its input, and not allocating ~40 KB per asset keeps the collector (and RSS) small.
const scratch = {
  bytes: Buffer.allocUnsafe(MAX_BARS * BAR_FIELDS * 8),
  high: new Float64Array(MAX_BARS),
  low: new Float64Array(MAX_BARS),
  close: new Float64Array(MAX_BARS),
  volume: new Float64Array(MAX_BARS),
};

/**
 * Decodes a batch row's bars into the scratch arrays (valid until the next call) in date
 * order, highs and lows adjusted by each bar's adjusted_close / close (no split gaps).
 */
function adjusted(b: LoadedBars): {
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
} {
  const n = b.n;
  if (n > MAX_BARS) throw new Error(`bars of asset ${b.asset_id}: ${n}, more than ${MAX_BARS}`);
  const length = scratch.bytes.write(b.bars!, 'base64');
  if (length !== n * BAR_FIELDS * 8) throw new Error(`bars of asset ${b.asset_id}: ${length} bytes for ${n} bars`);
  const v = new DataView(scratch.bytes.buffer, scratch.bytes.byteOffset, length);
  const high = scratch.high.subarray(0, n),
    low = scratch.low.subarray(0, n),
    close = scratch.close.subarray(0, n),
    volume = scratch.volume.subarray(0, n);
  // Newest first in the bytes, oldest first in the arrays.
  for (let i = n - 1, o = 0; i >= 0; i--, o += BAR_FIELDS * 8) {
    const c = v.getFloat64(o + 16);
    const adj = v.getFloat64(o + 24);
    const f = c > 0 ? adj / c : 1;
    high[i] = v.getFloat64(o) * f;
    low[i] = v.getFloat64(o + 8) * f;
    close[i] = adj;
    volume[i] = v.getFloat64(o + 32);
  }
  return { high, low, close, volume };
}

export interface IndicatorStats {
  calculated: number;
  tooFewBars: number;
  failed: number;
}

/** Batches whose bars are being read while the current one is computed. */
const LOOKAHEAD = 2;

/** Marks a promise's rejection as handled here; it is still seen where the promise is awaited. */
function settled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/**
 * Computes and stores indicators for these assets in batches of 125, one transaction each.
 * The database reads the next batches and writes the last one while this process computes
 * the current one: reads run LOOKAHEAD batches ahead, writes one at a time and in order.
 */
async function calculateFor(ctx: PipelineContext, executionId: number, assetIds: number[]): Promise<IndicatorStats> {
  const stats: IndicatorStats = { calculated: 0, tooFewBars: 0, failed: 0 };
  const batches: number[][] = [];
  for (let i = 0; i < assetIds.length; i += BATCH) batches.push(assetIds.slice(i, i + BATCH));
  let done = 0;
  const progress = () => ({ execution_id: executionId, assets: assetIds.length, done, ...stats });
  const load = (i: number) =>
    settled(ctx.pool.query<LoadedBars>(LOAD_BARS, [batches[i]]).then((r) => ({ rows: r.rows, at: performance.now() })));
  await withProgressLog('indicators_progress', progress, async () => {
    // Reads in flight, by batch; a batch's entry is dropped once taken, so that its bars can be collected.
    const loads = new Map(batches.slice(0, LOOKAHEAD).map((_, i) => [i, load(i)] as const));
    let writing: Promise<void> = Promise.resolve();
    for (let i = 0; i < batches.length; i++) {
      const loaded = await loads.get(i)!;
      loads.delete(i);
      if (i + LOOKAHEAD < batches.length) loads.set(i + LOOKAHEAD, load(i + LOOKAHEAD));
      const computed = computeBatch(executionId, loaded.rows, stats, loaded.at);
      await writing;
      writing = settled(writeBatch(ctx, executionId, computed, stats));
      done = Math.min(assetIds.length, (i + 1) * BATCH);
    }
    await writing;
  });
  return stats;
}

interface ComputedBatch {
  rows: Array<{ assetId: number; priceDate: string; bars: number; values: IndicatorRow }>;
  details: DetailRow[];
}

/** One batch's indicators, from its loaded bars. */
function computeBatch(
  executionId: number,
  loaded: LoadedBars[],
  stats: IndicatorStats,
  loadedAt: number,
): ComputedBatch {
  const rows: ComputedBatch['rows'] = [];
  const details: DetailRow[] = [];
  for (const b of loaded) {
    const base = { executionId, assetId: b.asset_id, operation: 'indicator_calc', apiCalls: 0, durationMs: 0 };
    try {
      const values = b.n > 0 ? computeIndicators(adjusted(b)) : null;
      if (!values || !b.last_date) {
        stats.tooFewBars++;
        details.push({ ...base, status: 'skipped', recordsInserted: 0, error: `fewer than 200 bars (${b.n})` });
        continue;
      }
      rows.push({ assetId: b.asset_id, priceDate: b.last_date, bars: b.n, values });
      details.push({ ...base, status: 'success', recordsInserted: 1, error: null });
    } catch (err) {
      stats.failed++;
      details.push({
        ...base,
        status: 'failed',
        recordsInserted: 0,
        error: errorText(err),
      });
    }
  }
  const per = (performance.now() - loadedAt) / Math.max(1, loaded.length);
  for (const d of details) d.durationMs = per;
  return { rows, details };
}

/** One batch's rows and audit rows, and the assets' state, in one transaction. */
async function writeBatch(
  ctx: PipelineContext,
  executionId: number,
  computed: ComputedBatch,
  stats: IndicatorStats,
): Promise<void> {
  await inTransaction(ctx.pool, async (c) => {
    await writeIndicators(c, computed.rows);
    await recordDetails(c, computed.details);
    await touchProgress(c, executionId);
  });
  stats.calculated += computed.rows.length;
}

/**
 * After a daily run: the assets of its scope whose indicators are stale (prices newer than
 * the last calculation, or flagged), found in one statement rather than as a work item per
 * asset; none after a dry run, which fetched nothing.
 */
async function chainAssets(q: Queryable, run: Execution): Promise<number[]> {
  const params = runParameters(run.parameters);
  if (params.dryRun) return [];
  return assetsWithStaleIndicators(q, params.exchanges, params.symbols);
}

const ASSETS_BY_SYMBOL = `SELECT id, symbol FROM assets WHERE symbol = ANY($1::text[])`;
const ALL_PRICED = `SELECT a.id FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id WHERE a.is_active AND s.prices_loaded ORDER BY a.id`;

export async function calcIndicators(
  ctx: PipelineContext,
  input: CalcIndicatorsInput,
  callId: string | null,
): Promise<FunctionResult> {
  if ('executionId' in input) {
    // After a daily run: its step, claimed like every chained step (the run has finished).
    const parent = input.executionId;
    return runStep(
      ctx,
      parent,
      'calc-indicators',
      '',
      async (s) => {
        const assetIds = await chainAssets(ctx.pool, s.run);
        const r = await calculateRun(ctx, input, callId, parent, assetIds, async (c, body) => s.complete(c, body, []));
        if ('conflict' in r) {
          await failStep(ctx.pool, parent, 'calc-indicators', '', 'another indicator run was active').catch(() => {});
          return {
            body: r.conflict.body,
            status: r.conflict.status,
            logged: [
              'indicators_conflict',
              { running: (r.conflict.body as { executionId: number | null }).executionId },
            ],
          };
        }
        return { body: r.body, logged: ['indicators_calculated', { ...r.logged }] };
      },
      { allowFinished: true },
    );
  }
  return withLogFunction('calc-indicators', async () => {
    let assetIds: number[];
    if ('symbols' in input) {
      const found = (await ctx.pool.query<{ id: number; symbol: string }>(ASSETS_BY_SYMBOL, [input.symbols])).rows;
      const known = new Set(found.map((f) => f.symbol));
      const unknown = input.symbols.filter((x) => !known.has(x));
      if (unknown.length > 0)
        return {
          status: 404,
          body: {
            error: 'unknown_symbols',
            reason: `no asset with symbol ${unknown.slice(0, 10).join(', ')}`,
            symbols: unknown,
          },
        };
      assetIds = found.map((f) => f.id);
    } else {
      assetIds = (await ctx.pool.query<{ id: number }>(ALL_PRICED)).rows.map((r) => r.id);
    }
    try {
      const r = await calculateRun(ctx, input, callId, null, assetIds, async () => {});
      if ('conflict' in r) return r.conflict;
      log('info', 'indicators_calculated', r.logged);
      return { status: 200, body: r.body };
    } catch (err) {
      return { status: 500, body: { error: 'step_failed', reason: errorText(err) } };
    }
  });
}

type RunOutcome = { body: Record<string, unknown>; logged: Record<string, unknown> } | { conflict: FunctionResult };

/**
 * An indicator run of its own (process_executions): abandoned ones closed first, then the
 * assets in batches; `complete` is called in the transaction that finishes the run.
 */
async function calculateRun(
  ctx: PipelineContext,
  input: CalcIndicatorsInput,
  callId: string | null,
  parent: number | null,
  assetIds: number[],
  complete: (c: Queryable, body: object) => Promise<void>,
): Promise<RunOutcome> {
  const started = Date.now();
  for (const id of await closeAbandonedIndicatorRuns(ctx.pool, parent, stepLeaseSeconds(ABANDONED_AFTER_SECONDS))) {
    log('warn', 'indicator_run_abandoned', { execution_id: id, parent_execution_id: parent });
  }
  const opened = await openRun(ctx.pool, {
    processName: CALC_INDICATORS,
    callId,
    trigger: parent !== null ? 'chain' : 'manual',
    parameters: input,
    asOf: utcToday(),
    parentExecutionId: parent,
    step: 'calc-indicators',
  });
  if (!opened.opened) {
    return {
      conflict: {
        status: 409,
        body: {
          error: 'run_active',
          reason: `indicator run ${opened.running?.execution_id ?? '?'} is still running`,
          executionId: opened.running?.execution_id ?? null,
        },
      },
    };
  }
  const executionId = opened.run.execution_id;
  try {
    const stats = await calculateFor(ctx, executionId, assetIds);
    const durationMs = Date.now() - started;
    const status = stats.failed > 0 ? (stats.calculated > 0 ? 'partial' : 'failed') : 'success';
    const body = {
      executionId,
      parentExecutionId: parent,
      status,
      assets: assetIds.length,
      ...stats,
      durationMs,
      assetsPerSecond: Math.round((assetIds.length / Math.max(1, durationMs)) * 1000),
    };
    await inTransaction(ctx.pool, async (c) => {
      await finishRun(c, executionId, {
        status,
        step: 'done',
        processed: stats.calculated,
        failed: stats.failed,
        skipped: stats.tooFewBars,
        apiCalls: 0,
        error: null,
      });
      await complete(c, body);
    });
    return {
      body,
      logged: { execution_id: executionId, parent_execution_id: parent, ...stats, duration_ms: durationMs },
    };
  } catch (err) {
    // The indicator run fails with the reason; the step (if any) is failed by its runner.
    const message = errorText(err);
    await finishRun(ctx.pool, executionId, {
      status: 'failed',
      step: 'calc-indicators',
      processed: 0,
      failed: 0,
      skipped: 0,
      apiCalls: 0,
      error: message,
    }).catch(() => {});
    log('error', 'indicators_failed', { execution_id: executionId, error: message });
    throw err;
  }
}
