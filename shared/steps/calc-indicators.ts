/**
 * calc-indicators: the 31 columns for every asset whose prices changed since its last
 * calculation (after a daily run), for given symbols, or for all assets; over the last 500
 * bars of split- and dividend-adjusted prices (so a split is not a crash); an asset with
 * fewer than 200 bars gets no row. It records its own run in process_executions.
 *
 * And the indicator history (store/indicator-history.ts): for each asset queued in
 * indicator_history_queue (a bar written, changed or dropped, a quarantine opened or
 * cleared: from that date; first sight: its whole retained history), a row for every
 * session from that date, each exactly what a calculation on that day would have given,
 * with the derived figures (domain/figures.ts); in the transaction that writes its latest
 * row. At most indicator_history_sessions_per_run asset-sessions a run: the rest stay queued
 * for the next. {symbols, from}: their history from that day, even before the retention.
 */

import { betaFrom, type DatedSeries, lastIndexOnOrBefore } from '../domain/beta.js';
import { utcToday } from '../domain/dates.js';
import { computeFigures, FIGURE_COLUMNS, type FigureRow } from '../domain/figures.js';
import {
  type CrossingRow,
  computeIndicators,
  crossingValues,
  INDICATOR_COLUMNS,
  type IndicatorRow,
  MAX_BARS,
  MIN_BARS,
} from '../domain/indicators.js';
import { SCREEN_ROW_COLUMNS } from '../domain/screen-fields.js';
import {
  type KnownFundamentals,
  NOTHING_KNOWN,
  type ScreenRowValues,
  ScreenWalk,
  screenRow,
} from '../domain/screen-row.js';
import { inTransaction, type Queryable } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import { type CalcIndicatorsInput, MANUAL_HISTORY_SESSIONS } from '../platform/input.js';
import { errorText, log, withLogFunction, withProgressLog } from '../platform/log.js';
import { rowsWritten } from '../platform/metrics.js';
import { assetsWithStaleIndicators, markIndicatorsCalculated } from '../store/asset-state.js';
import { loadBenchmarkSeries } from '../store/benchmarks.js';
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
import {
  type AssetHistory,
  arrayLiteral,
  dropEmptyHistoryYears,
  ensureHistoryYears,
  type HistoryRow,
  historyLine,
  writeHistory,
} from '../store/indicator-history.js';
import { loadKnownFundamentals } from '../store/known-fundamentals.js';
import { failStep, stepLeaseSeconds } from '../store/pipeline-steps.js';
import { historyDone } from '../store/prices.js';
import { loadSettings } from '../store/settings.js';
import type { PipelineContext } from './context.js';
import { runStep } from './step-runner.js';

const BATCH = 125;
/** An indicator run whose batches made no progress for this long was abandoned by its invocation. */
const ABANDONED_AFTER_SECONDS = 1800;

// One row per asset instead of one per bar: its newest bars, newest first, as big-endian
// fields (open, high, low, close, adjusted close, volume as float8; the date as int4 days
// since 2000-01-01) in base64. Binary because parsing float8[] texts of 500 numbers cost this
// process more CPU than computing the 31 columns; base64 because it is a third of the bytes
// of bytea's hex text; one ordered aggregate instead of one per field. Newest first because
// that is the order the index gives: the aggregate then sorts nothing; decoding reads them
// backwards.
const BAR_BYTES = 6 * 8 + 4;
const DAY0 = Date.UTC(2000, 0, 1);
// Quarantined bars (an open error finding: store/quality-findings.ts) are left out, so
// that no indicator (the 52-week high, an average) is computed from a x100 slip.
// How many bars: enough for every session whose history is to be computed (from the queued
// date, or a manual `from`, at most $4 or $5 sessions) plus the MAX_BARS - 1 before the
// first of them, and never fewer than $3 (MAX_BARS, or the retention: so that the retention's
// first date is known).
// The quote currency is the stored prices' (asset_processing_state.prices_currency, else the
// listing's): a listing whose currency changed has its whole series fetched again in the new one.
const LOAD_BARS = `
  SELECT a.id AS asset_id, cur.exchange, coalesce(cu.major, cur.code) AS currency, coalesce(cu.per_major, 1) AS per_major,
         s.from_date::text AS from_date, hq.queued_at::text AS queued_at,
         k.sessions, p.n, p.last_date, p.bars
    FROM unnest($1::bigint[], $2::date[]) AS a(id, manual_from)
    LEFT JOIN LATERAL (
      SELECT x.exchange, coalesce(st.prices_currency, x.currency) AS code
        FROM assets x LEFT JOIN asset_processing_state st ON st.asset_id = x.id WHERE x.id = a.id
    ) cur ON true
    LEFT JOIN currency_units cu ON cu.code = cur.code
    LEFT JOIN indicator_history_queue hq ON hq.asset_id = a.id
    CROSS JOIN LATERAL (
      SELECT coalesce(array_agg(f.date), '{}') AS dates FROM price_quality_findings f
       WHERE f.asset_id = a.id AND f.status = 'open' AND f.severity = 'error'
    ) q
    CROSS JOIN LATERAL (SELECT least(hq.from_date, a.manual_from) AS from_date) s
    CROSS JOIN LATERAL (
      SELECT CASE WHEN s.from_date IS NULL THEN 0 ELSE
               least(CASE WHEN a.manual_from IS NULL THEN $4::int ELSE $5::int END,
                     (SELECT count(*)::int FROM stock_prices c
                       WHERE c.asset_id = a.id AND c.date >= s.from_date AND c.date <> ALL (q.dates)))
             END AS sessions
    ) k
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS n, max(x.date)::text AS last_date,
             encode(string_agg(float8send(x.open) || float8send(x.high) || float8send(x.low) || float8send(x.close)
                        || float8send(x.adjusted_close) || float8send(x.volume) || int4send(x.date - DATE '2000-01-01'),
                        ''::bytea ORDER BY x.date DESC), 'base64') AS bars
        FROM (SELECT date, open, high, low, close, adjusted_close, volume FROM stock_prices
               WHERE asset_id = a.id AND date <> ALL (q.dates) ORDER BY date DESC
               LIMIT greatest($3::int, k.sessions + ${MAX_BARS - 1})) x
    ) p`;

interface LoadedBars {
  asset_id: number;
  /** Its exchange: beta is taken against that exchange's benchmark. */
  exchange: string | null;
  /** The quote currency's major code (GBP for GBX), and quote units per major unit (100). */
  currency: string | null;
  per_major: number;
  /** The history is computed from here: the queued date, or the manual `from` ('-infinity': all); null: only the latest row. */
  from_date: string | null;
  /** The queue entry as read (null: none): deleted once done, unless a write queued it again. */
  queued_at: string | null;
  /** Sessions from from_date, at most the cap (the retention, or the manual bound). */
  sessions: number;
  n: number;
  /** Its last bar's date (null: none). */
  last_date: string | null;
  /** base64 (PostgreSQL's, with a line break every 76 characters, which decoding skips) */
  bars: string | null;
}

// The latest row: the 31 indicators, the derived figures and the screener row's columns
// (sql/028), equal to the history's row of its session. One array per column, unnested side
// by side. (One flat array cut by each row's ordinal cost ten times as much: every subscript
// of a parameter array copies the whole array.) A row's signals travel as the text of their
// array literal: unnest of a text[][] would flatten it.
const LATEST_COLUMNS: ReadonlyArray<{ column: string; sql: string }> = [
  ...INDICATOR_COLUMNS.map((column) => ({ column, sql: 'double precision' })),
  ...FIGURE_COLUMNS.map((column) => ({ column, sql: 'double precision' })),
  ...SCREEN_ROW_COLUMNS,
];
const ARRAY_TYPE: Record<string, string> = {
  'double precision': 'float8[]',
  text: 'text[]',
  date: 'date[]',
  'text[]': 'text[]',
};
const UPSERT_INDICATORS = `
  INSERT INTO technical_indicators (asset_id, price_date, bars_used, calculated_at, ${LATEST_COLUMNS.map((c) => c.column).join(', ')})
  SELECT t.asset_id, t.price_date, t.bars_used, now(), ${LATEST_COLUMNS.map((c) => (c.sql === 'text[]' ? `t.${c.column}::text[]` : `t.${c.column}`)).join(', ')}
    FROM unnest($1::bigint[], $2::date[], $3::int[], ${LATEST_COLUMNS.map((c, i) => `$${i + 4}::${ARRAY_TYPE[c.sql]}`).join(', ')})
      AS t(asset_id, price_date, bars_used, ${LATEST_COLUMNS.map((c) => c.column).join(', ')})
  ON CONFLICT (asset_id) DO UPDATE SET price_date = EXCLUDED.price_date, bars_used = EXCLUDED.bars_used, calculated_at = now(),
    ${LATEST_COLUMNS.map((c) => `${c.column} = EXCLUDED.${c.column}`).join(', ')}`;

interface LatestRow {
  assetId: number;
  priceDate: string;
  bars: number;
  values: IndicatorRow;
  figures: FigureRow;
  screen: ScreenRowValues;
}

const finite = (v: number | string | string[] | null) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);

async function writeIndicators(q: Queryable, rows: LatestRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(UPSERT_INDICATORS, [
    rows.map((r) => r.assetId),
    rows.map((r) => r.priceDate),
    rows.map((r) => r.bars),
    ...INDICATOR_COLUMNS.map((c) => rows.map((r) => r.values[c])),
    ...FIGURE_COLUMNS.map((c) => rows.map((r) => r.figures[c])),
    ...SCREEN_ROW_COLUMNS.map(({ column }) =>
      column === 'signals'
        ? rows.map((r) => arrayLiteral(r.screen.signals as string[]))
        : rows.map((r) => finite(r.screen[column])),
    ),
  ]);
  rowsWritten.inc({ table: 'technical_indicators' }, rows.length);
  await markIndicatorsCalculated(
    q,
    rows.map((r) => r.assetId),
  );
}

interface Series {
  date: string[];
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  rawClose: Float64Array;
  volume: Float64Array;
}

// Each day number's 'YYYY-MM-DD' is made once a process and shared by every series: a Date
// and its ISO string a bar (500 to 1,000 a series) cost more than decoding the bar's numbers.
// A few thousand entries (the distinct trading days of the stored prices).
const DAY_TEXTS = new Map<number, string>();
function dayText(days: number): string {
  let text = DAY_TEXTS.get(days);
  if (text === undefined) {
    text = new Date(DAY0 + days * 86_400_000).toISOString().slice(0, 10);
    DAY_TEXTS.set(days, text);
  }
  return text;
}

/**
 * Decodes a batch row's bars in date order, opens, highs and lows adjusted by each bar's
 * adjusted_close / close (no split gaps), closes adjusted (rawClose: as traded).
 */
function decode(b: LoadedBars): Series {
  const n = b.n;
  const bytes = Buffer.from(b.bars!, 'base64');
  if (bytes.length !== n * BAR_BYTES)
    throw new Error(`bars of asset ${b.asset_id}: ${bytes.length} bytes for ${n} bars`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const s: Series = {
    date: new Array<string>(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    rawClose: new Float64Array(n),
    volume: new Float64Array(n),
  };
  // Newest first in the bytes, oldest first in the arrays.
  for (let i = n - 1, o = 0; i >= 0; i--, o += BAR_BYTES) {
    const c = v.getFloat64(o + 24);
    const adj = v.getFloat64(o + 32);
    const f = c > 0 ? adj / c : 1;
    s.open[i] = v.getFloat64(o) * f;
    s.high[i] = v.getFloat64(o + 8) * f;
    s.low[i] = v.getFloat64(o + 16) * f;
    s.close[i] = adj;
    s.rawClose[i] = c;
    s.volume[i] = v.getFloat64(o + 40);
    s.date[i] = dayText(v.getInt32(o + 48));
  }
  return s;
}

export interface IndicatorStats {
  calculated: number;
  tooFewBars: number;
  failed: number;
  /** Asset-sessions of history computed (rows written: those with 200 bars or more). */
  historySessions: number;
  historyRows: number;
  /** Assets whose history waits for the next run (this run's sessions_per_run was spent). */
  historyDeferred: number;
}

/** How this run computes history: the settings, and what it has spent. */
interface HistoryPlan {
  /** Sessions kept per asset (indicator_history_sessions). */
  sessions: number;
  /** Asset-sessions this run may compute (indicator_history_sessions_per_run), and those computed. */
  budget: number;
  spent: number;
  /** A manual `from`: rows before the retention are kept (until the asset's next daily calculation). */
  manualFrom: string | null;
  /** Each exchange's benchmark series (setting `benchmarks`), read once a run; none: beta is null. */
  benchmarks: Map<string, DatedSeries>;
}

/**
 * Beta at session t of the asset (domain/beta.ts: the last 252 returns on the dates both
 * have) against its exchange's benchmark; null without one.
 */
function betaAt(s: Series, t: number, bench: DatedSeries | undefined): number | null {
  if (bench === undefined) return null;
  return betaFrom({ dates: s.date, closes: s.close }, t, bench, lastIndexOnOrBefore(bench.dates, s.date[t]!));
}

/** Bars of a benchmark read for beta: all it has (a few thousand rows at most, once a run). */
const BENCHMARK_BARS = 20_000;

/** Each exchange's benchmark series, each index read once (GDAXI serves Xetra and Frankfurt). */
async function benchmarkSeries(q: Queryable, benchmarks: Record<string, string>): Promise<Map<string, DatedSeries>> {
  const bySymbol = new Map<string, DatedSeries>();
  for (const symbol of new Set(Object.values(benchmarks))) {
    bySymbol.set(symbol, await loadBenchmarkSeries(q, symbol, '9999-12-31', BENCHMARK_BARS));
  }
  const out = new Map<string, DatedSeries>();
  for (const [exchange, symbol] of Object.entries(benchmarks)) {
    const series = bySymbol.get(symbol);
    if (series && series.dates.length > 0) out.set(exchange, series);
  }
  return out;
}

/** Batches whose bars are being read while the current one is computed. */
const LOOKAHEAD = 2;

/** Marks a promise's rejection as handled here; it is still seen where the promise is awaited. */
function settled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** History rows a write holds at most: a batch whose assets have more is written in parts (memory). */
const HISTORY_ROWS_PER_WRITE = 5_000;
/** The longest this process computes without letting its event loop run (connections, timers). */
const YIELD_MS = 20;
const yieldLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * Computes and stores indicators for these assets in batches of 125, one transaction each
 * (a batch with more than HISTORY_ROWS_PER_WRITE history rows in several, each holding whole
 * assets). The database reads the next batches and writes the last one while this process
 * computes the current one: reads run LOOKAHEAD batches ahead, writes one at a time and in order.
 */
async function calculateFor(
  ctx: PipelineContext,
  executionId: number,
  assetIds: number[],
  plan: HistoryPlan,
): Promise<IndicatorStats> {
  const stats: IndicatorStats = {
    calculated: 0,
    tooFewBars: 0,
    failed: 0,
    historySessions: 0,
    historyRows: 0,
    historyDeferred: 0,
  };
  const batches: number[][] = [];
  for (let i = 0; i < assetIds.length; i += BATCH) batches.push(assetIds.slice(i, i + BATCH));
  let done = 0;
  const progress = () => ({ execution_id: executionId, assets: assetIds.length, done, ...stats });
  // A batch's bars, then what was known of its assets' fundamentals from the first session
  // each may compute: the history's from date, or its last bar when earlier (a from date
  // after the last bar computes the latest row alone) or without one. Three queries a batch.
  const load = (i: number): Promise<LoadedBatch> =>
    settled(
      ctx.pool
        .query<LoadedBars>(LOAD_BARS, [
          batches[i],
          batches[i]!.map(() => plan.manualFrom),
          Math.max(MAX_BARS, plan.sessions),
          plan.sessions,
          MANUAL_HISTORY_SESSIONS,
        ])
        .then(async ({ rows }) => {
          const bounded = rows.filter((b) => b.n > 0);
          const known = await loadKnownFundamentals(
            ctx.pool,
            bounded.map((b) => Number(b.asset_id)),
            // 'YYYY-MM-DD' and '-infinity' compare as text.
            bounded.map((b) => (b.from_date !== null && b.from_date < b.last_date! ? b.from_date : b.last_date!)),
          );
          return { bars: rows, known };
        }),
    );
  await withProgressLog('indicators_progress', progress, async () => {
    // Reads in flight, by batch; a batch's entry is dropped once taken, so that its bars can be collected.
    const loads = new Map(batches.slice(0, LOOKAHEAD).map((_, i) => [i, load(i)] as const));
    let writing: Promise<void> = Promise.resolve();
    const write = async (computed: ComputedBatch) => {
      await writing;
      writing = settled(writeBatch(ctx, executionId, computed, stats));
    };
    let yielded = performance.now();
    for (let i = 0; i < batches.length; i++) {
      const loaded = await loads.get(i)!;
      loads.delete(i);
      if (i + LOOKAHEAD < batches.length) loads.set(i + LOOKAHEAD, load(i + LOOKAHEAD));
      let computed = emptyBatch();
      for (const b of loaded.bars) {
        computeAsset(executionId, b, loaded.known.get(Number(b.asset_id)) ?? NOTHING_KNOWN, stats, plan, computed);
        if (computed.historyRows >= HISTORY_ROWS_PER_WRITE) {
          await write(computed);
          computed = emptyBatch();
        }
        if (performance.now() - yielded > YIELD_MS) {
          await yieldLoop();
          yielded = performance.now();
        }
      }
      await write(computed);
      done = Math.min(assetIds.length, (i + 1) * BATCH);
    }
    await writing;
  });
  return stats;
}

interface LoadedBatch {
  bars: LoadedBars[];
  /** By asset: its fundamentals versions and report rows from its first session on. */
  known: Map<number, KnownFundamentals>;
}

interface ComputedBatch {
  rows: LatestRow[];
  history: AssetHistory[];
  /** The history rows as COPY lines (a row's objects would hold ~4 times the memory). */
  historyLines: string[];
  historyRows: number;
  historyYears: Set<number>;
  /** The queue entries done (deleted with the rows, unless queued again meanwhile). */
  done: Array<{ assetId: number; queuedAt: string }>;
  details: DetailRow[];
}

const emptyBatch = (): ComputedBatch => ({
  rows: [],
  history: [],
  historyLines: [],
  historyRows: 0,
  historyYears: new Set(),
  done: [],
  details: [],
});

/** The latest row's parts: a session's indicators, figures and screener-row columns. */
type Latest = Pick<LatestRow, 'values' | 'figures' | 'screen'>;

/**
 * One asset's history: a row for every session from `first` through its last bar, each
 * computeIndicators and computeFigures on the bars up to that session (computeIndicators
 * keeps the last MAX_BARS of them), and the screener row's columns (domain/screen-row.ts:
 * the bar, the fundamentals known that day, the signals against the session before): what
 * a calculation on that day would have given. Returns the last session's row (the latest
 * row's), if it was computed.
 */
function historyOf(
  assetId: number,
  s: Series,
  first: number,
  bench: DatedSeries | undefined,
  walk: ScreenWalk,
  out: ComputedBatch,
): Latest | null {
  let last: Latest | null = null;
  const start = Math.max(first, MIN_BARS - 1);
  if (start >= s.close.length) return null;
  // The session before the first: its crossing values (null when it has no row).
  let prev: CrossingRow | null = crossingValues(s.close.subarray(0, start));
  for (let t = start; t < s.close.length; t++) {
    const values = computeIndicators({
      high: s.high.subarray(0, t + 1),
      low: s.low.subarray(0, t + 1),
      close: s.close.subarray(0, t + 1),
      volume: s.volume.subarray(0, t + 1),
    });
    if (!values) {
      prev = null;
      continue;
    }
    values.beta = betaAt(s, t, bench);
    const date = s.date[t]!;
    const figures = computeFigures(s, t, values);
    const row: HistoryRow = {
      assetId,
      date,
      bars: Math.min(t + 1, MAX_BARS),
      values,
      figures,
      screen: walk.at(t, values, prev, figures),
    };
    out.historyLines.push(historyLine(row));
    out.historyRows++;
    out.historyYears.add(Number(date.slice(0, 4)));
    if (t === s.close.length - 1) last = { values, figures, screen: screenRow(row.screen) };
    prev = values;
  }
  return last;
}

/** The last session's row without its history: its indicators, figures, and the session before's crossing values. */
function latestOf(s: Series, bench: DatedSeries | undefined, walk: ScreenWalk): Latest | null {
  const values = computeIndicators(s);
  if (!values) return null;
  const t = s.close.length - 1;
  values.beta = betaAt(s, t, bench);
  const figures = computeFigures(s, t, values);
  const prev = crossingValues(s.close.subarray(0, t));
  return { values, figures, screen: screenRow(walk.at(t, values, prev, figures)) };
}

/** One asset's latest row and history rows, from its loaded bars and fundamentals, added to `out`. */
function computeAsset(
  executionId: number,
  b: LoadedBars,
  known: KnownFundamentals,
  stats: IndicatorStats,
  plan: HistoryPlan,
  out: ComputedBatch,
): void {
  const started = performance.now();
  const base = { executionId, assetId: b.asset_id, operation: 'indicator_calc', apiCalls: 0 };
  try {
    const s = b.n > 0 ? decode(b) : null;
    const bench = b.exchange === null ? undefined : plan.benchmarks.get(b.exchange);
    const walk = s && new ScreenWalk(s, { currency: b.currency, perMajor: Number(b.per_major) }, known);
    // History: the sessions from the queued (or manual) date, within the cap, if this
    // run's budget has room for them (always for its first asset: a run makes progress;
    // never with a budget of 0: the history is paused, everything stays queued).
    let latest: Latest | null = null;
    const rowsBefore = out.historyRows;
    if (s && b.from_date !== null) {
      if (plan.budget === 0 || (plan.spent > 0 && plan.spent + b.sessions > plan.budget)) {
        stats.historyDeferred++;
      } else {
        plan.spent += b.sessions;
        stats.historySessions += b.sessions;
        latest = historyOf(b.asset_id, s, s.close.length - b.sessions, bench, walk!, out);
        stats.historyRows += out.historyRows - rowsBefore;
        const keepFrom =
          plan.manualFrom === null && s.close.length >= plan.sessions ? s.date[s.close.length - plan.sessions]! : null;
        out.history.push({ assetId: b.asset_id, from: b.from_date, keepFrom });
        if (b.queued_at !== null) out.done.push({ assetId: b.asset_id, queuedAt: b.queued_at });
      }
    }
    const written = out.historyRows - rowsBefore;
    // The latest row is the last session's (computed once when the history reached it).
    if (latest === null && s) latest = latestOf(s, bench, walk!);
    if (!latest || !s) {
      stats.tooFewBars++;
      out.details.push({
        ...base,
        status: 'skipped',
        recordsInserted: written,
        error: `fewer than 200 bars (${b.n})`,
        durationMs: performance.now() - started,
      });
      return;
    }
    out.rows.push({
      assetId: b.asset_id,
      priceDate: s.date[s.date.length - 1]!,
      bars: Math.min(b.n, MAX_BARS),
      ...latest,
    });
    out.details.push({
      ...base,
      status: 'success',
      recordsInserted: 1 + written,
      error: null,
      durationMs: performance.now() - started,
    });
  } catch (err) {
    stats.failed++;
    out.details.push({
      ...base,
      status: 'failed',
      recordsInserted: 0,
      error: errorText(err),
      durationMs: performance.now() - started,
    });
  }
}

/** One batch's rows, history and audit rows, and the assets' state, in one transaction. */
async function writeBatch(
  ctx: PipelineContext,
  executionId: number,
  computed: ComputedBatch,
  stats: IndicatorStats,
): Promise<void> {
  // The years' partitions first, in their own statements (see ensureHistoryYears).
  await ensureHistoryYears(ctx.pool, [...computed.historyYears]);
  await inTransaction(ctx.pool, async (c) => {
    await writeIndicators(c, computed.rows);
    await writeHistory(c, computed.history, computed.historyLines);
    await historyDone(c, computed.done);
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
    const settings = await loadSettings(ctx.pool);
    const manualFrom = 'from' in input ? input.from : null;
    const plan: HistoryPlan = {
      sessions: settings.indicator_history_sessions,
      budget: settings.indicator_history_sessions_per_run,
      spent: 0,
      manualFrom,
      benchmarks: await benchmarkSeries(ctx.pool, settings.benchmarks),
    };
    const stats = await calculateFor(ctx, executionId, assetIds, plan);
    // Retention: the years whose rows have all been deleted go whole (never this year's).
    const dropped = manualFrom === null ? await dropEmptyHistoryYears(ctx.pool, Number(utcToday().slice(0, 4))) : [];
    if (dropped.length > 0) log('info', 'indicator_history_years_dropped', { execution_id: executionId, dropped });
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
