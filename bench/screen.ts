/**
 * `node dist/bench/screen.js [--json] [--runs N] [--large N] [--days N]` (and part of `npm run
 * bench`): the screen's figures, on its own embedded PostgreSQL (or DATABASE_URL), with
 * synthetic screener rows seeded in SQL (one INSERT ... SELECT per table: as the bench's other
 * seeds, far faster than the pipeline that would write them):
 *
 *   - 21,817 assets: technical_indicators (the latest row) and a year of indicator_history
 *     (`days` sessions, 252 by default), ~70 of the row's columns filled (indicators,
 *     figures, the bar, the main fundamentals, growth, signals), the others NULL;
 *   - 150,000 assets: technical_indicators only (the latest screen).
 *
 * Then, through runScreen (the function's whole work but HTTP: the day, the settings, the
 * calendars, the rates and the page with its total): p50/p95 of a screen of 3 filters and
 * one sort at 21,817 (target p95 <= 50 ms) and at 150,000 (<= 250 ms), of an as-of screen of
 * a day a year back at 21,817 (<= 300 ms), each preset's time, and the page's total as
 * count(*) OVER () against a second statement. Not a test: numbers.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startLocalPostgres } from '../dev/embedded-postgres.js';
import { EXCHANGE_CURRENCY, EXCHANGES } from '../shared/domain/exchanges.js';
import { FIGURE_COLUMNS } from '../shared/domain/figures.js';
import { INDICATOR_COLUMNS } from '../shared/domain/indicators.js';
import { createPool } from '../shared/platform/db.js';
import { errorText } from '../shared/platform/log.js';
import type { ScreenRequest } from '../shared/screen/contract.js';
import { PRESETS } from '../shared/screen/presets.js';
import { planScreen, runScreen, screenContext, screenRates } from '../shared/screen/run-screen.js';
import { parseScreenBody } from '../shared/screen/screen-request.js';
import { migrate } from '../shared/store/migrate.js';

export interface ScreenFigure {
  figure: string;
  value: string;
  target: string;
  met: boolean | null;
  numbers: Record<string, number | null>;
}

const FULL = 21_817;
const LAST_DAY = '2026-11-30';
const SECTORS = ['Technology', 'Healthcare', 'Financial Services', 'Industrials', 'Energy', 'Consumer Cyclical'];

const SEED_ASSETS = `
  INSERT INTO assets (symbol, code, exchange, venue, region, name, currency, country, listed_from, first_seen, last_seen)
  SELECT 'S' || i || '.' || ex, 'S' || i, ex, NULL, 'us', 'Company ' || i, cur, 'Somewhere', '2000-01-01', '2000-01-01', $2::date
    FROM generate_series(1, $1::int) AS i,
         LATERAL (SELECT ($3::text[])[1 + i % array_length($3::text[], 1)] AS ex,
                         ($4::text[])[1 + i % array_length($4::text[], 1)] AS cur) x`;

// The weekdays of the history, newest last.
const DAYS = `
  SELECT day::date::text AS day FROM generate_series($1::date - ($2::int * 7 / 5 + 7), $1::date, interval '1 day') AS day
   WHERE extract(isodow FROM day) < 6 ORDER BY day DESC LIMIT $2`;

// ~70 of the row's columns: every indicator and figure, the bar, the main fundamentals,
// growth and a signal now and then; values spread so that filters keep a share of the rows.
function rowColumns(): { names: string[]; values: string[] } {
  const num = [...INDICATOR_COLUMNS, ...FIGURE_COLUMNS].filter((c) => c !== 'rsi_14' && c !== 'change_1d_pct');
  const names = [
    ...num,
    'rsi_14',
    'change_1d_pct',
    'close',
    'adjusted_close',
    'volume',
    'currency',
    'avg_volume_50',
    'avg_volume_200',
    'fundamentals_currency',
    'sector',
    'industry',
    'market_cap',
    'pe_ratio',
    'price_to_book',
    'dividend_yield',
    'payout_ratio',
    'eps',
    'return_on_equity',
    'profit_margin',
    'operating_margin',
    'revenue_growth_1y',
    'eps_growth_1y',
    'signals',
  ];
  const values = [
    ...num.map(() => '(random() * 200 - 50)'),
    '(random() * 100)',
    '(random() * 10 - 5)',
    '(1 + random() * 300)',
    '(1 + random() * 300)',
    'floor(random() * 5e6)',
    'a.currency',
    'floor(random() * 5e6)',
    'floor(random() * 5e6)',
    'a.currency',
    `(ARRAY[${SECTORS.map((s) => `'${s}'`).join(', ')}])[1 + (a.id % ${SECTORS.length})]`,
    "'Industry ' || (a.id % 40)",
    'exp(15 + random() * 12)',
    '(random() * 60 - 10)',
    '(random() * 6)',
    '(random() * 0.08)',
    '(random() * 1.2)',
    '(random() * 20 - 5)',
    '(random() * 0.5 - 0.1)',
    '(random() * 0.4 - 0.1)',
    '(random() * 0.5 - 0.1)',
    '(random() * 0.6 - 0.2)',
    '(random() * 0.6 - 0.2)',
    `CASE WHEN random() < 0.03 THEN ARRAY['50d_new_hi'] WHEN random() < 0.03 THEN ARRAY['golden_cross'] ELSE ARRAY[]::text[] END`,
  ];
  return { names, values };
}

export async function seedScreenRows(pool: pg.Pool, assets: number, days: number): Promise<string[]> {
  const ex = [...EXCHANGES];
  await pool.query(SEED_ASSETS, [
    assets,
    LAST_DAY,
    ex,
    ex.map((e) => (EXCHANGE_CURRENCY[e] === 'GBX' ? 'GBP' : EXCHANGE_CURRENCY[e])),
  ]);
  const { names, values } = rowColumns();
  await pool.query(
    `INSERT INTO technical_indicators (asset_id, price_date, bars_used, ${names.join(', ')})
     SELECT a.id, $1::date, 500, ${values.join(', ')} FROM assets a`,
    [LAST_DAY],
  );
  // The day's rates: EUR, GBP and CHF against USD, every weekday of the history.
  const dayList = (await pool.query<{ day: string }>(DAYS, [LAST_DAY, Math.max(days, 10)])).rows.map((r) => r.day);
  await pool.query(
    `INSERT INTO fx_rates (currency, quote, date, close)
     SELECT c, 'USD', d::date, CASE c WHEN 'EUR' THEN 1.08 WHEN 'GBP' THEN 1.27 ELSE 1.12 END * (1 + 0.01 * sin(extract(doy FROM d::date)))
       FROM unnest(ARRAY['EUR', 'GBP', 'CHF']) c, unnest($1::text[]) d`,
    [dayList],
  );
  if (days > 0) {
    const years = [...new Set(dayList.slice(0, days).map((d) => Number(d.slice(0, 4))))];
    for (const y of years) await pool.query('SELECT ensure_indicator_history_year($1)', [y]);
    // One statement a month of sessions, so that no one statement holds the whole year.
    const history = dayList.slice(0, days);
    for (let i = 0; i < history.length; i += 21) {
      await pool.query(
        `INSERT INTO indicator_history (asset_id, date, bars_used, ${names.join(', ')})
         SELECT a.id, d::date, 500, ${values.join(', ')} FROM assets a, unnest($1::text[]) d`,
        [history.slice(i, i + 21)],
      );
    }
  }
  await pool.query('VACUUM ANALYZE');
  return dayList;
}

async function withDatabase<T>(base: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const name = `screener_screen_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(base);
  u.pathname = `/${name}`;
  const pool = createPool(u.toString(), 4);
  try {
    await migrate(pool);
    return await fn(pool);
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

function request(body: unknown): ScreenRequest {
  const r = parseScreenBody(body);
  if (!r.ok) throw new Error(`bench screen ${JSON.stringify(body)}: ${r.reason}`);
  return r.value;
}

/** Milliseconds of each of `runs` screens (after two to warm the caches). */
async function time(pool: pg.Pool, req: ScreenRequest, runs: number): Promise<{ ms: number[]; total: number }> {
  let total = 0;
  for (let i = 0; i < 2; i++) total = (await runScreen(pool, req)).total;
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await runScreen(pool, req);
    ms.push(performance.now() - t0);
  }
  return { ms, total };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

// The screen of the targets: three filters (one on money, converted) and one sort.
const THREE_FILTERS = {
  filters: [
    ['market_capitalization', '>', 1e9],
    ['pe_ratio', 'between', [5, 25]],
    ['rsi_14', '<', 50],
  ],
  sort: 'change_1d_pct.desc',
  limit: 50,
};

export async function screenBench(opts: {
  runs: number;
  large: number;
  days: number;
  say?: (s: string) => void;
}): Promise<ScreenFigure[]> {
  const say = opts.say ?? (() => {});
  const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'screener-screen-')), 'data');
  const server = process.env.DATABASE_URL
    ? null
    : await startLocalPostgres({ quiet: true, dataDir, persistent: false, extraFlags: ['-c', 'shared_buffers=1GB'] });
  const base = process.env.DATABASE_URL ?? server!.url;
  const figures: ScreenFigure[] = [];
  const latest = (label: string, assets: number, target: number, t: { ms: number[]; total: number }) => {
    const p50 = pct(t.ms, 50);
    const p95 = pct(t.ms, 95);
    figures.push({
      figure: `${label} (${assets.toLocaleString('en')} assets)`,
      value: `p50 ${r1(p50)} ms, p95 ${r1(p95)} ms over ${t.ms.length} runs (${t.total.toLocaleString('en')} rows match)`,
      target: `p95 <= ${target} ms`,
      met: p95 <= target,
      numbers: { assets, p50: r1(p50), p95: r1(p95), runs: t.ms.length, total: t.total },
    });
  };
  try {
    await withDatabase(base, async (pool) => {
      say(
        `screen: seeding ${FULL.toLocaleString('en')} assets, the latest row and ${opts.days} sessions of history...`,
      );
      const t0 = performance.now();
      const days = await seedScreenRows(pool, FULL, opts.days);
      say(`screen: seeded in ${r1((performance.now() - t0) / 1000)} s`);
      latest(
        'screen: 3 filters and one sort, the last session',
        FULL,
        50,
        await time(pool, request(THREE_FILTERS), opts.runs),
      );
      // A day a year back: the oldest session with a full staleness window behind it.
      const yearBack = days[Math.min(opts.days, days.length) - 8]!;
      latest(
        `screen as of ${yearBack} (a year back: indicator_history)`,
        FULL,
        300,
        await time(pool, request({ ...THREE_FILTERS, asOf: yearBack }), opts.runs),
      );
      const stale = await time(
        pool,
        request({ ...THREE_FILTERS, asOf: yearBack, includeStale: true }),
        Math.min(opts.runs, 10),
      );
      figures.push({
        figure: `screen as of ${yearBack} with includeStale (${FULL.toLocaleString('en')} assets)`,
        value: `p50 ${r1(pct(stale.ms, 50))} ms (each asset's latest row of any day before)`,
        target: '-',
        met: null,
        numbers: { p50: r1(pct(stale.ms, 50)) },
      });
      const presetTimes: string[] = [];
      const numbers: Record<string, number> = {};
      for (const p of PRESETS) {
        const t = await time(pool, request({ preset: p.name }), Math.min(opts.runs, 10));
        presetTimes.push(`${p.name} ${r1(pct(t.ms, 50))} ms (${t.total.toLocaleString('en')})`);
        numbers[p.name] = r1(pct(t.ms, 50));
      }
      figures.push({
        figure: `each preset, the last session (${FULL.toLocaleString('en')} assets; p50, rows matching)`,
        value: presetTimes.join(', '),
        target: '-',
        met: null,
        numbers,
      });
      // The total: count(*) OVER () in the page, or the page and a count of its own.
      const ctx = await screenContext(pool);
      const req = request(THREE_FILTERS);
      const plan = planScreen(req, ctx, await screenRates(pool, ctx.last!, 'USD', 'USD'), 'USD');
      const bare = plan.page.text.replace(', count(*) OVER () AS "__total"', '');
      const measure = async (f: () => Promise<unknown>) => {
        for (let i = 0; i < 2; i++) await f();
        const ms: number[] = [];
        for (let i = 0; i < opts.runs; i++) {
          const t1 = performance.now();
          await f();
          ms.push(performance.now() - t1);
        }
        return r1(pct(ms, 50));
      };
      const windowed = await measure(() => pool.query(plan.page.text, plan.page.values));
      const twoStatements = await measure(async () => {
        await pool.query(bare, plan.page.values);
        await pool.query(plan.count.text, plan.count.values);
      });
      figures.push({
        figure: `the page's total (${FULL.toLocaleString('en')} assets, the 3-filter screen's statement alone)`,
        value: `count(*) OVER () ${windowed} ms, page + count statement ${twoStatements} ms (p50)`,
        target: 'the faster one is used',
        met: windowed <= twoStatements,
        numbers: { windowed, twoStatements },
      });
    });
    await withDatabase(base, async (pool) => {
      say(`screen: seeding ${opts.large.toLocaleString('en')} assets (the latest row)...`);
      await seedScreenRows(pool, opts.large, 0);
      latest(
        'screen: 3 filters and one sort, the last session',
        opts.large,
        250,
        await time(pool, request(THREE_FILTERS), opts.runs),
      );
    });
    return figures;
  } finally {
    await server?.stop();
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  }
}

// Run alone: node dist/bench/screen.js
if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '40' },
      large: { type: 'string', default: '150000' },
      days: { type: 'string', default: '252' },
      json: { type: 'boolean', default: false },
    },
  });
  try {
    const figures = await screenBench({
      runs: Number(values.runs),
      large: Number(values.large),
      days: Number(values.days),
      say: (s) => console.error(s),
    });
    if (values.json) console.log(JSON.stringify(figures, null, 2));
    else
      for (const f of figures)
        console.log(`| ${f.figure} | ${f.value} | ${f.target} | ${f.met === null ? '-' : f.met ? 'yes' : 'NO'} |`);
    process.exit(0);
  } catch (err) {
    console.error(`screen bench failed: ${errorText(err)}`);
    process.exit(1);
  }
}
