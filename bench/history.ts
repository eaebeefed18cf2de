/**
 * `node dist/bench/history.js [--assets N] [--bars N] [--no-fundamentals] [--json]` (and the
 * last part of `npm run bench`): the indicator history's figures, on its own embedded
 * PostgreSQL (or DATABASE_URL) with `assets` generated series of `bars` weekdays each, and
 * (unless --no-fundamentals) what a 30-day refresh leaves of their fundamentals over those
 * days: a version every 30 days, 12 quarters and 6 years of statements (the screener rows
 * read the versions and reports known on each session):
 *
 *   1. the backfill: calc-indicators {"all":true} (the function's own code, in this
 *      process) until no history is queued: asset-sessions per second, wall and CPU;
 *   2. the daily append: one new bar for every asset (queued by the price write, as a day's
 *      bulk prices are), then calc-indicators {"all":true}; beside the run before it with
 *      nothing queued (the latest row only); scaled to 21,817 assets;
 *   3. rows and bytes per year of history: pg_total_relation_size of the partitions (indexes
 *      included) per row, times 252 sessions, for 21,817 and 150,000 assets.
 *
 * Not a test: numbers. The series are a deterministic function of the asset and the day.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startLocalPostgres } from '../dev/embedded-postgres.js';
import { inProcessPipeline } from '../dev/in-process.js';
import { createPool } from '../shared/platform/db.js';
import { errorText } from '../shared/platform/log.js';
import { calcIndicators } from '../shared/steps/calc-indicators.js';
import { migrate } from '../shared/store/migrate.js';
import { upsertPrices } from '../shared/store/prices.js';
import { postmasterPid, treeCpuSeconds } from './proc.js';

export interface HistoryFigure {
  figure: string;
  value: string;
  target: string;
  met: boolean | null;
  numbers: Record<string, number | null>;
}

const FULL = 21_817;
const LARGE = 150_000;
const SESSIONS_A_YEAR = 252;

const SEED_ASSETS = `
  INSERT INTO assets (symbol, code, exchange, venue, region)
  SELECT 'H' || i || '.US', 'H' || i, 'US', 'NYSE', 'us' FROM generate_series(1, $1::int) AS i`;

// As bench/seed.ts: a smooth walk per asset, `bars` weekdays up to $2.
const SEED_PRICES = `
  INSERT INTO stock_prices (asset_id, date, open, high, low, close, adjusted_close, volume)
  SELECT a.id, d.day, c.v * (1 + 0.004 * sin(d.i + a.id)), c.v * (1 + 0.01 + 0.01 * abs(sin(d.i * 1.7 + a.id))),
         c.v * (1 - 0.01 - 0.01 * abs(cos(d.i * 1.3 + a.id))), c.v, c.v, 1000 + ((a.id * 7919 + d.i * 104729) % 100000)
    FROM assets a
    CROSS JOIN LATERAL (
      SELECT day::date AS day, row_number() OVER (ORDER BY day) AS i
        FROM generate_series($2::date - ($1::int * 7 / 5 + 7), $2::date, interval '1 day') AS day
       WHERE extract(isodow FROM day) < 6
       ORDER BY day DESC LIMIT $1
    ) d
    CROSS JOIN LATERAL (SELECT (2 + (a.id % 300)) * exp(0.25 * sin(d.i / 40.0 + a.id) + 0.05 * sin(d.i / 3.3 + a.id * 1.3)) AS v) c`;

// What a finished load leaves, and the queue as 023 fills it for priced assets (first sight).
// A version every 30 days over the series (a refresh's: the market cap moves with the price,
// so nearly every fetch is one), and the statements of 12 quarters and 6 years, each filed 40
// days after its period (cash flows too: they share the index the reads use).
const SEED_VERSIONS = `
  INSERT INTO fundamentals_versions (asset_id, known_from, fetched_at, instrument_type, currency, sector, industry,
                                     market_cap, pe_ratio, dividend_yield, dividend_share, eps, shares_outstanding,
                                     analyst_target_price, profit_margin, beta)
  SELECT a.id, d::date, d, 'Common Stock', 'USD', 'Technology', 'Software', 1e9 + k * 1e6, 15, 0.02,
         0.5, 1.2 + (a.id % 7) * 0.1, 1e8, 40 + (a.id % 50), 0.1, 1.1
    FROM assets a
    CROSS JOIN LATERAL generate_series($1::date - ($2::int * 7 / 5), $1::date, interval '30 days') WITH ORDINALITY AS g(d, k)`;
const SEED_REPORTS = `
  INSERT INTO financial_reports (asset_id, statement, frequency, period_end, first_seen, filing_date, currency,
                                 revenue, net_income, eps, equity, total_assets)
  SELECT a.id, s.statement, f.frequency, p.period_end, p.period_end + 45, p.period_end + 40, 'USD',
         CASE WHEN s.statement = 'income_statement' THEN 1e8 * (1 + p.k * 0.02) END,
         CASE WHEN s.statement = 'income_statement' THEN 1e7 * (1 + p.k * 0.03) END,
         CASE WHEN s.statement = 'income_statement' THEN 0.1 * (1 + p.k * 0.03) END,
         CASE WHEN s.statement = 'balance_sheet' THEN 5e8 + p.k * 1e6 END, 1e9
    FROM assets a
    CROSS JOIN (VALUES ('income_statement'), ('balance_sheet'), ('cash_flow')) AS s(statement)
    CROSS JOIN (VALUES ('quarterly', 12, 3), ('yearly', 6, 12)) AS f(frequency, periods, months)
    CROSS JOIN LATERAL (
      SELECT (date_trunc('quarter', $1::date) - interval '1 day' - make_interval(months => f.months * k))::date AS period_end, k
        FROM generate_series(0, f.periods - 1) AS k
    ) p`;

const SEED_STATE = `
  INSERT INTO asset_processing_state (asset_id, prices_loaded, prices_last_updated_at) SELECT id, true, now() FROM assets`;
const SEED_QUEUE = `INSERT INTO indicator_history_queue (asset_id, from_date) SELECT id, '-infinity' FROM assets`;

const SIZES = `
  SELECT c.relname, pg_total_relation_size(c.oid)::float8 AS bytes,
         (SELECT count(*) FROM indicator_history h WHERE h.tableoid = c.oid)::float8 AS rows
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'indicator_history'::regclass ORDER BY 1`;

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const gb = (bytes: number) => `${round(bytes / 1024 ** 3, 2)} GB`;

/** The history's figures for `assets` series of `bars` bars (see the file's comment). */
export async function historyBench(opts: {
  assets: number;
  bars: number;
  /** Seed fundamentals versions and statements (default true). */
  fundamentals?: boolean;
  say?: (s: string) => void;
}): Promise<HistoryFigure[]> {
  const say = opts.say ?? (() => {});
  const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'screener-history-')), 'data');
  const server = process.env.DATABASE_URL
    ? null
    : await startLocalPostgres({ quiet: true, dataDir, persistent: false });
  const base = process.env.DATABASE_URL ?? server!.url;
  const name = `screener_history_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(base);
  u.pathname = `/${name}`;
  const pool = createPool(u.toString(), 10);
  const pgPid = server ? postmasterPid(dataDir) : null;
  const figures: HistoryFigure[] = [];
  try {
    await migrate(pool);
    const lastDay = '2026-11-30';
    say(`history: seeding ${opts.assets} assets x ${opts.bars} bars...`);
    await pool.query(SEED_ASSETS, [opts.assets]);
    await pool.query(SEED_PRICES, [opts.bars, lastDay]);
    if (opts.fundamentals !== false) {
      await pool.query(SEED_VERSIONS, [lastDay, opts.bars]);
      await pool.query(SEED_REPORTS, [lastDay]);
      await pool.query('VACUUM ANALYZE fundamentals_versions, financial_reports');
    }
    await pool.query(SEED_STATE);
    await pool.query(SEED_QUEUE);
    await pool.query('VACUUM ANALYZE stock_prices');
    const p = await inProcessPipeline(pool, 'http://127.0.0.1:9/api');
    const nodeCpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    };
    const cpu = () => nodeCpu() + (treeCpuSeconds(pgPid) ?? 0);

    // 1. The backfill, run after run until nothing is queued.
    say('history: backfill...');
    let sessions = 0;
    let rows = 0;
    let runs = 0;
    let c0 = cpu();
    const n0 = nodeCpu();
    let t0 = performance.now();
    for (;;) {
      const r = await calcIndicators(p.ctx, { all: true }, null);
      if (r.status !== 200) throw new Error(`calc-indicators answered ${r.status}: ${JSON.stringify(r.body)}`);
      const b = r.body as { historySessions: number; historyRows: number; historyDeferred: number };
      sessions += b.historySessions;
      rows += b.historyRows;
      runs++;
      if (b.historyDeferred === 0) break;
    }
    const backfillS = (performance.now() - t0) / 1000;
    const backfillCpu = cpu() - c0;
    const backfillNodeCpu = nodeCpu() - n0;
    const perSecond = sessions / backfillS;
    const fullSessions = FULL * Math.min(504, opts.bars);
    figures.push({
      figure: `indicator history backfill (${opts.assets.toLocaleString('en')} assets x ${opts.bars} bars${opts.fundamentals === false ? '' : ', fundamentals'}, ${runs} run(s))`,
      value: `${Math.round(perSecond).toLocaleString('en')} asset-sessions/s (${Math.round(sessions / backfillCpu).toLocaleString('en')} per CPU-second: ${round(backfillNodeCpu)} s of this process, ${round(backfillCpu - backfillNodeCpu)} s of PostgreSQL), ${rows.toLocaleString('en')} rows in ${round(backfillS)} s, peak RSS of this process ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB; 21,817 assets x 504 sessions: ~${Math.round(fullSessions / perSecond)} s`,
      target: 'bounded per run (indicator_history_sessions_per_run)',
      met: null,
      numbers: {
        assets: opts.assets,
        sessions,
        rows,
        seconds: round(backfillS, 2),
        cpuSeconds: round(backfillCpu, 2),
        nodeCpuSeconds: round(backfillNodeCpu, 2),
        peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        sessionsPerSecond: Math.round(perSecond),
        sessionsPerCpuSecond: Math.round(sessions / backfillCpu),
        fullBackfillSeconds: Math.round(fullSessions / perSecond),
      },
    });

    // 2. The daily append, as the next day finds it (the backfill's rows vacuumed and
    //    analyzed, as autovacuum leaves them): first calc-indicators with nothing queued (the
    //    latest row alone), then a new bar for every asset, queued by its write, and the run
    //    that appends its history row.
    say('history: daily append...');
    await pool.query('VACUUM ANALYZE indicator_history');
    c0 = cpu();
    t0 = performance.now();
    await calcIndicators(p.ctx, { all: true }, null);
    const latestS = (performance.now() - t0) / 1000;
    const latestCpu = cpu() - c0;
    const last = (
      await pool.query<{ asset_id: string; close: number }>(
        `SELECT asset_id, close FROM stock_prices WHERE date = $1 ORDER BY asset_id`,
        [lastDay],
      )
    ).rows;
    await upsertPrices(
      pool,
      last.map((x) => ({
        assetId: Number(x.asset_id),
        date: '2026-12-01',
        open: x.close,
        high: x.close * 1.01,
        low: x.close * 0.99,
        close: x.close * 1.002,
        adjusted_close: x.close * 1.002,
        volume: 5000,
      })),
    );
    c0 = cpu();
    t0 = performance.now();
    const day = await calcIndicators(p.ctx, { all: true }, null);
    const dayS = (performance.now() - t0) / 1000;
    const dayCpu = cpu() - c0;
    const dayRows = (day.body as { historyRows: number }).historyRows;
    const scale = FULL / opts.assets;
    figures.push({
      figure: `indicator history daily append (${opts.assets.toLocaleString('en')} assets, scaled to 21,817)`,
      value: `calc-indicators with the day's history rows ${round(dayS, 2)} s (${dayRows} rows, ${round(dayCpu, 2)} CPU-s), without ${round(latestS, 2)} s (${round(latestCpu, 2)} CPU-s: ${Math.round(opts.assets / latestCpu).toLocaleString('en')} assets per CPU-second); at 21,817 assets ~${round(dayS * scale)} s (latest row only ~${round(latestS * scale)} s)`,
      target: 'a few seconds beside the latest row',
      met: null,
      numbers: {
        seconds: round(dayS, 3),
        latestOnlySeconds: round(latestS, 3),
        cpuSeconds: round(dayCpu, 3),
        latestOnlyCpuSeconds: round(latestCpu, 3),
        rows: dayRows,
        fullSeconds: round(dayS * scale, 1),
        fullLatestOnlySeconds: round(latestS * scale, 1),
      },
    });

    // 3. Rows and bytes per year.
    await pool.query('VACUUM ANALYZE indicator_history');
    const parts = (await pool.query<{ relname: string; bytes: number; rows: number }>(SIZES)).rows;
    const bytes = parts.reduce((s, x) => s + x.bytes, 0);
    const total = parts.reduce((s, x) => s + x.rows, 0);
    const perRow = bytes / Math.max(1, total);
    const perYear = (assets: number) => perRow * SESSIONS_A_YEAR * assets;
    figures.push({
      figure: 'indicator history size per year (252 sessions, indexes included)',
      value: `${Math.round(perRow)} bytes a row (${total.toLocaleString('en')} rows in ${parts.length} partitions, ${gb(bytes)}); a year: 21,817 assets ${(SESSIONS_A_YEAR * FULL).toLocaleString('en')} rows ${gb(perYear(FULL))}, 150,000 assets ${(SESSIONS_A_YEAR * LARGE).toLocaleString('en')} rows ${gb(perYear(LARGE))}`,
      target: 'two years kept (indicator_history_sessions 504)',
      met: null,
      numbers: {
        bytesPerRow: Math.round(perRow),
        rows: total,
        bytes,
        yearRowsFull: SESSIONS_A_YEAR * FULL,
        yearBytesFull: Math.round(perYear(FULL)),
        yearRowsLarge: SESSIONS_A_YEAR * LARGE,
        yearBytesLarge: Math.round(perYear(LARGE)),
      },
    });
    return figures;
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await server?.stop();
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
}

// Run alone: node dist/bench/history.js
if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const { values } = parseArgs({
    options: {
      assets: { type: 'string', default: '1000' },
      bars: { type: 'string', default: '760' },
      'no-fundamentals': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  try {
    const figures = await historyBench({
      assets: Number(values.assets),
      bars: Number(values.bars),
      fundamentals: !values['no-fundamentals'],
      say: (s) => console.error(s),
    });
    if (values.json) console.log(JSON.stringify(figures, null, 2));
    else for (const f of figures) console.log(`| ${f.figure} | ${f.value} | ${f.target} |`);
    process.exit(0);
  } catch (err) {
    console.error(`history bench failed: ${errorText(err)}`);
    process.exit(1);
  }
}
