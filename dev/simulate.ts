/**
 * `npm run simulate -- --days N [--universe full|sample|synthetic:N] [--per-ticker-prices] [--plan free|eod-only|all-in-one] [--symbols A.US,B.LSE] [--start YYYY-MM-DD] [--time HH:MM] [--by-exchange] [--json] [--bad-ticks none|default|kind=rate,...] [--corrections none|default|RATE]`
 *
 * N consecutive daily runs against the simulator with the real limits (100,000 calls a
 * day, buffer 10,000, the per-minute limit scaled by --requests-per-minute to compress
 * time), from an empty database, the clock advanced by the simulator's calendar. Prints
 * one row a day: calls by endpoint, what was done, what was deferred, and coverage (share
 * of active assets with current prices and fundamentals; indicators: of those with the
 * 200 bars they need), and how many
 * stored adjusted series differ from the API's after corporate actions.
 * --per-ticker-prices prices every ticker with its own call (the seed's method).
 * --plan runs against the simulator's EODHD plan of that name (its daily limit and what it
 * includes); --symbols makes every run a watchlist run (the free plan's default: a few
 * well-known names), and coverage is then of those symbols. --time is the UTC time of day
 * of every run (the cron's 21:30 by default); --by-exchange adds, for each day, each
 * exchange's trading day and the price calls spent on it (bulk days and histories);
 * --every-day runs on every calendar day, weekends and holidays included (the clock moves
 * by 24 hours), instead of the days on which some exchange trades.
 * --bad-ticks and --corrections: the simulator's bad ticks and late corrections of first
 * prints (default 'default' for both, as EODHD's data has them; 'none' for clean data).
 * After the days, a table of what the quality checks did with them (dev/quality-report.ts).
 */
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { createPool } from '../shared/platform/db.js';
import { migrate } from '../shared/store/migrate.js';
import { setSetting } from '../shared/store/settings.js';
import { startLocalPostgres } from './embedded-postgres.js';
import { inProcessPipeline } from './in-process.js';
import { formatQualityReport, qualityReport } from './quality-report.js';
import {
  type BadTicksOption,
  type CorrectionsOption,
  isUniverseOption,
  PLAN_NAMES,
  type PlanName,
  parseBadTicksArg,
  parseCorrectionsArg,
  parseUniverse,
  type Simulator,
  startSimulator,
} from './simulator/index.js';
import { isPlanName } from './simulator/plans.js';
import { watchlistOf } from './watchlist.js';

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '5' },
    universe: { type: 'string', default: 'full' },
    'per-ticker-prices': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    start: { type: 'string', default: '2026-11-02' },
    plan: { type: 'string', default: 'all-in-one' },
    symbols: { type: 'string' },
    'requests-per-minute': { type: 'string', default: '30000' },
    time: { type: 'string', default: '21:30' },
    'by-exchange': { type: 'boolean', default: false },
    'every-day': { type: 'boolean', default: false },
    'bad-ticks': { type: 'string', default: 'default' },
    corrections: { type: 'string', default: 'default' },
  },
});
// The table is the output: the pipeline's own log lines only when something is wrong.
process.env.LOG_LEVEL ??= 'warn';
const days = Number(values.days);
const rpm = Number(values['requests-per-minute']);
if (!Number.isInteger(days) || days < 1 || days > 60) {
  console.error('--days must be a whole number from 1 to 60');
  process.exit(2);
}
const universe = values.universe;
if (!isUniverseOption(universe)) {
  console.error(`--${parseUniverse(universe)}`);
  process.exit(2);
}
if (!Number.isInteger(rpm) || rpm < 1) {
  console.error('--requests-per-minute must be a positive whole number');
  process.exit(2);
}
if (!/^\d{4}-\d{2}-\d{2}$/.test(values.start!)) {
  console.error('--start must be YYYY-MM-DD');
  process.exit(2);
}
if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(values.time!)) {
  console.error('--time must be HH:MM (UTC)');
  process.exit(2);
}
if (!isPlanName(values.plan)) {
  console.error(`--plan must be one of ${PLAN_NAMES.join(', ')}`);
  process.exit(2);
}
const plan: PlanName = values.plan;
let badTicks: BadTicksOption;
let corrections: CorrectionsOption;
try {
  badTicks = parseBadTicksArg(values['bad-ticks']!);
  corrections = parseCorrectionsArg(values.corrections!);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
let watchlist: string[] | null;
try {
  watchlist = watchlistOf(values.symbols, plan);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}

export interface DayRow {
  day: number;
  /** The simulated instant of the run (UTC). */
  clock: string;
  date: string;
  status: string;
  calls: number;
  byEndpoint: Record<string, number>;
  historiesLoaded: number;
  priceUpdated: number;
  fundamentalsLoaded: number;
  adjustmentRefreshes: number;
  deferred: number;
  failed: number;
  activeAssets: number;
  pctCurrentPrices: number;
  pctFundamentals: number;
  /** of the assets with at least 200 bars stored (the others cannot have indicators) */
  pctCurrentIndicators: number;
  tooShortForIndicators: number;
  adjustedChecked: number;
  adjustedMismatches: number;
  /** bars stored as first printed that the API has corrected since (not re-read) */
  correctedBarsNotReread: number;
  seconds: number;
  /** The plan's daily limit (dailyRateLimit + extraLimit) and the day's budget from it. */
  apiLimit: number | null;
  budget: number | null;
  /** Kinds of data the plan does not include (as the API's answers said). */
  notInPlan: string[];
  /** Assets whose history the plan cut short. */
  historyLimited: number;
  /** Each exchange's trading day in the run, and the price calls spent on it (bulk days + histories). */
  byExchange: Record<string, { asOf: string; bulk: number; histories: number }>;
}

const PRICE_CALLS_BY_EXCHANGE = `
  SELECT CASE WHEN endpoint = 'eod' THEN split_part(target, '.', 2) ELSE target END AS exchange,
         coalesce(sum(cost) FILTER (WHERE endpoint = 'eod-bulk-last-day'), 0)::int AS bulk,
         coalesce(sum(cost) FILTER (WHERE endpoint = 'eod'), 0)::int AS histories
    FROM api_calls WHERE execution_id = $1 AND endpoint IN ('eod', 'eod-bulk-last-day') GROUP BY 1`;

const DONE_BY_OPERATION = `
  SELECT operation, count(*) FILTER (WHERE status = 'done')::int AS done, count(*) FILTER (WHERE status = 'deferred')::int AS deferred,
         count(*) FILTER (WHERE status = 'failed')::int AS failed
    FROM work_items WHERE execution_id = $1 GROUP BY operation`;

const COVERAGE = `
  SELECT a.exchange, count(*)::int AS active,
         count(*) FILTER (WHERE s.prices_checked_through >= ($1::jsonb ->> a.exchange)::date)::int AS current_prices,
         count(*) FILTER (WHERE s.fundamentals_loaded)::int AS fundamentals,
         count(*) FILTER (WHERE t.price_date IS NOT NULL AND t.price_date >= s.prices_last_date
                           AND s.prices_checked_through >= ($1::jsonb ->> a.exchange)::date)::int AS current_indicators
    FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
    LEFT JOIN technical_indicators t ON t.asset_id = a.id
   WHERE a.is_active AND ($2::text[] IS NULL OR a.symbol = ANY($2::text[])) GROUP BY a.exchange`;

/**
 * Assets with a corporate action so far whose stored adjusted_close differs from the API's
 * on a bar whose close agrees (a stale adjustment), and bars whose close itself differs
 * (a first print the API corrected later: EODHD's "values corrected weeks later").
 */
async function adjustedMismatches(
  pool: pg.Pool,
  sim: Simulator,
): Promise<{ checked: number; mismatches: number; correctedBars: number }> {
  const symbols = (
    await pool.query<{ symbol: string }>(
      `SELECT DISTINCT c.symbol FROM corporate_actions c JOIN assets a ON a.symbol = c.symbol WHERE a.is_active`,
    )
  ).rows.map((r) => r.symbol);
  const active = new Set(sim.symbols());
  let checked = 0;
  let mismatches = 0;
  let correctedBars = 0;
  const off = (a: number, b: number) => Math.abs(a - b) > 1e-6 * Math.max(1, Math.abs(b));
  for (const symbol of symbols) {
    if (!active.has(symbol)) continue;
    const stored = (
      await pool.query<{ date: string; close: number; adjusted_close: number }>(
        `SELECT p.date, p.close, p.adjusted_close FROM stock_prices p JOIN assets a ON a.id = p.asset_id WHERE a.symbol = $1 ORDER BY p.date`,
        [symbol],
      )
    ).rows;
    if (stored.length === 0) continue;
    checked++;
    const expected = new Map(
      sim.expectedHistory(symbol, stored[0]!.date, stored[stored.length - 1]!.date).map((b) => [b.date, b]),
    );
    let stale = false;
    for (const r of stored) {
      const e = expected.get(r.date);
      if (!e) {
        stale = true;
        continue;
      }
      if (off(r.close, e.close)) correctedBars++;
      else if (off(r.adjusted_close, e.adjusted_close)) stale = true;
    }
    if (stale) mismatches++;
  }
  return { checked, mismatches, correctedBars };
}

const pgServer = await startLocalPostgres({ quiet: true });
const pool = createPool(pgServer.url, 20);
const sim = await startSimulator({
  universe,
  today: values.start,
  time: values.time,
  perMinuteLimit: Math.ceil(rpm / 0.9),
  plan,
  badTicks,
  corrections,
});
const rows: DayRow[] = [];
try {
  await migrate(pool);
  const p = await inProcessPipeline(pool, sim.url, { requestsPerMinute: rpm * 0.9 > 1 ? Math.floor(rpm * 0.9) : 1 });
  if (values['per-ticker-prices']) await setSetting(pool, 'price_update_method', 'per_ticker');
  if (!values.json) {
    console.log(
      `Simulating ${days} days, ${values.universe} universe${watchlist ? ` (watchlist of ${watchlist.length}: ${watchlist.join(' ')})` : ''}, from ${sim.today()}, plan ${plan}, prices ${values['per-ticker-prices'] ? "per ticker (the seed's method)" : 'bulk or per ticker, whichever is cheaper'}; budget: the plan's limit or 100,000, whichever is less, less a 10% buffer; ${rpm} requests/minute (time compressed)`,
    );
  }
  for (let day = 1; day <= days; day++) {
    if (day > 1 && values['every-day']) sim.setClock(new Date(Date.parse(sim.now()) + 86_400_000).toISOString());
    else if (day > 1) sim.advanceTradingDays(1);
    const t0 = Date.now();
    const id = await p.run(watchlist ? { symbols: watchlist } : {});
    const seconds = (Date.now() - t0) / 1000;
    const run = (
      await pool.query<{ status: string; as_of: string; as_of_by_exchange: Record<string, string> | null }>(
        'SELECT status, as_of, as_of_by_exchange FROM process_executions WHERE execution_id = $1',
        [id],
      )
    ).rows[0]!;
    const spent = new Map(
      (await pool.query<{ exchange: string; bulk: number; histories: number }>(PRICE_CALLS_BY_EXCHANGE, [id])).rows.map(
        (r) => [r.exchange, r],
      ),
    );
    const byExchange = Object.fromEntries(
      Object.entries(run.as_of_by_exchange ?? {}).map(([ex, asOf]) => [
        ex,
        { asOf, bulk: spent.get(ex)?.bulk ?? 0, histories: spent.get(ex)?.histories ?? 0 },
      ]),
    );
    const byEndpoint: Record<string, number> = {};
    for (const r of (
      await pool.query<{ endpoint: string; calls: number }>(
        'SELECT endpoint, sum(cost)::int AS calls FROM api_calls WHERE execution_id = $1 GROUP BY 1',
        [id],
      )
    ).rows)
      byEndpoint[r.endpoint] = r.calls;
    const ops = new Map(
      (
        await pool.query<{ operation: string; done: number; deferred: number; failed: number }>(DONE_BY_OPERATION, [id])
      ).rows.map((r) => [r.operation, r]),
    );
    const lastDays: Record<string, string> = {};
    for (const ex of ['US', 'LSE', 'F', 'XETRA', 'PA', 'AS', 'BR', 'LS', 'MC', 'SW'])
      lastDays[ex] = sim.lastTradingDay(ex);
    const cov = (
      await pool.query<{ active: number; current_prices: number; fundamentals: number; current_indicators: number }>(
        COVERAGE,
        [JSON.stringify(lastDays), watchlist],
      )
    ).rows;
    const off = (
      await pool.query<{ kind: string }>(`SELECT kind FROM api_entitlements WHERE status = 'not_in_plan' ORDER BY kind`)
    ).rows.map((r) => r.kind);
    const limited = (
      await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM asset_processing_state WHERE history_limited`)
    ).rows[0]!.n;
    const callLimit = (
      await pool.query<{ call_limit: number | null; api_daily_limit: number | null }>(
        `SELECT call_limit, api_daily_limit FROM api_quota_days WHERE quota_day = $1`,
        [sim.today()],
      )
    ).rows[0];
    const sum = (k: 'active' | 'current_prices' | 'fundamentals' | 'current_indicators') =>
      cov.reduce((s, r) => s + r[k], 0);
    const active = sum('active');
    const pct = (n: number) => Math.round((10_000 * n) / Math.max(1, active)) / 100;
    const adj = await adjustedMismatches(pool, sim);
    const short = (
      await pool.query<{
        n: number;
      }>(`SELECT count(*)::int AS n FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
      WHERE a.is_active AND s.prices_loaded AND (SELECT count(*) FROM (SELECT 1 FROM stock_prices p WHERE p.asset_id = a.id LIMIT 200) x) < 200`)
    ).rows[0]!.n;
    const collect = [...ops.entries()];
    rows.push({
      day,
      clock: `${sim.now().slice(0, 10)} ${new Date(sim.now()).toUTCString().slice(0, 3)}`,
      date: run.as_of,
      status: run.status,
      calls: Object.values(byEndpoint).reduce((a, b) => a + b, 0),
      byEndpoint,
      historiesLoaded: ops.get('history_load')?.done ?? 0,
      priceUpdated: ops.get('price_update')?.done ?? 0,
      fundamentalsLoaded: ops.get('fundamentals_load')?.done ?? 0,
      adjustmentRefreshes: ops.get('adjustment_refresh')?.done ?? 0,
      deferred: collect.reduce((s, [, r]) => s + r.deferred, 0),
      failed: collect.reduce((s, [, r]) => s + r.failed, 0),
      activeAssets: active,
      pctCurrentPrices: pct(sum('current_prices')),
      pctFundamentals: pct(sum('fundamentals')),
      pctCurrentIndicators: Math.round((10_000 * sum('current_indicators')) / Math.max(1, active - short)) / 100,
      tooShortForIndicators: short,
      adjustedChecked: adj.checked,
      adjustedMismatches: adj.mismatches,
      correctedBarsNotReread: adj.correctedBars,
      seconds: Math.round(seconds),
      apiLimit: callLimit?.api_daily_limit ?? null,
      budget: callLimit?.call_limit ?? null,
      notInPlan: off,
      historyLimited: limited,
      byExchange,
    });
    if (!values.json) printRow(rows[rows.length - 1]!, day === 1);
  }
  if (!values.json && values['by-exchange']) {
    console.log('\nPrice calls per exchange and day (bulk days + histories), and the trading day each was brought to:');
    const exchanges = Object.keys(rows[0]?.byExchange ?? {});
    const cell = (r: DayRow, ex: string) => {
      const x = r.byExchange[ex];
      return x ? `${x.asOf.slice(5)} ${x.bulk}+${x.histories}` : '-';
    };
    const table = [['clock', ...exchanges], ...rows.map((r) => [r.clock, ...exchanges.map((ex) => cell(r, ex))])];
    const w = exchanges.map((_, i) => Math.max(...table.map((t) => t[i + 1]!.length)));
    for (const t of table) console.log([t[0]!.padEnd(16), ...t.slice(1).map((c, i) => c.padStart(w[i]!))].join('  '));
  }
  const quality = await qualityReport(pool, sim, rows[0]?.clock.slice(0, 10) ?? sim.today(), sim.today());
  if (!values.json) console.log(formatQualityReport(quality));
  if (values.json)
    console.log(
      JSON.stringify(
        {
          universe: values.universe,
          plan,
          watchlist,
          perTickerPrices: values['per-ticker-prices'],
          days: rows,
          quality,
        },
        null,
        2,
      ),
    );
} finally {
  await sim.close();
  await pool.end();
  await pgServer.stop();
}

function printRow(r: DayRow, header: boolean): void {
  const cols: Array<[string, string | number]> = [
    ['day', r.day],
    ['date', r.date],
    ['status', r.status],
    ['calls', r.calls],
    ['budget', r.budget ?? ''],
    ['bulk', r.byEndpoint['eod-bulk-last-day'] ?? 0],
    ['eod', r.byEndpoint.eod ?? 0],
    ['fundam.', r.byEndpoint.fundamentals ?? 0],
    ['sync', r.byEndpoint['exchange-symbol-list'] ?? 0],
    ['calendars', (r.byEndpoint['calendar-splits'] ?? 0) + (r.byEndpoint['calendar-dividends'] ?? 0)],
    ['bulk CA', r.byEndpoint['bulk-corporate-actions'] ?? 0],
    ['histories', r.historiesLoaded],
    ['price upd', r.priceUpdated],
    ['fund. loaded', r.fundamentalsLoaded],
    ['adj. refresh', r.adjustmentRefreshes],
    ['deferred', r.deferred],
    ['failed', r.failed],
    ['% prices', r.pctCurrentPrices],
    ['% fund.', r.pctFundamentals],
    ['% indic.', r.pctCurrentIndicators],
    ['<200 bars', r.tooShortForIndicators],
    ['adj. stale', `${r.adjustedMismatches}/${r.adjustedChecked}`],
    ['late fixes', r.correctedBarsNotReread],
    ['1y only', r.historyLimited],
    ['not in plan', r.notInPlan.join(',') || '-'],
    ['s', r.seconds],
  ];
  const w = cols.map(([h, v]) => Math.max(h.length, String(v).length));
  if (header) console.log(cols.map(([h], i) => h.padStart(w[i]!)).join('  '));
  console.log(cols.map(([, v], i) => String(v).padStart(w[i]!)).join('  '));
}
