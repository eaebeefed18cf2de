/**
 * Fundamentals as they were known: every fetch's columns kept as a version from its day,
 * the statements and earnings reports inside each document kept per period with the day
 * they became public, a restatement adding a row beside the earlier one; "what did we know
 * on day D" and growth from the reports public by D; odd and oversized documents; the
 * simulator's documents changing over time as EODHD's do; the storage they take.
 */
import fs from 'node:fs';
import test from 'ava';
import { startSimulator } from '../dev/simulator/index.js';
import type { Fundamentals } from '../shared/eodhd/schemas.js';
import {
  GROWTH_COLUMNS,
  MAX_PERIODS,
  REPORT_COLUMNS,
  upsertFundamentals,
  VERSION_COLUMNS,
} from '../shared/store/fundamentals.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { get } from './helpers/simulator-http.js';

let tdb: TestDb;
test.before(async () => {
  tdb = await createTestDb();
});
test.after.always(async () => tdb?.drop());

const rows = async <T = Record<string, unknown>>(sql: string, args: unknown[] = []) =>
  (await tdb.pool.query(sql, args)).rows as T[];

let n = 0;
async function newAsset(): Promise<number> {
  n++;
  const r = await rows<{ id: string }>(
    `INSERT INTO assets (symbol, code, exchange, region) VALUES ($1, $2, 'US', 'us') RETURNING id`,
    [`FK${n}.US`, `FK${n}`],
  );
  return Number(r[0]!.id);
}

/** Writes a document fetched on `day` as collect-item does: in one transaction. */
async function write(assetId: number, doc: unknown, day: string): Promise<void> {
  const c = await tdb.pool.connect();
  try {
    await c.query('BEGIN');
    await upsertFundamentals(c, assetId, doc as Fundamentals, day);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK');
    throw err;
  } finally {
    c.release();
  }
}

const statement = (date: string, filing: string | null, fields: Record<string, unknown>) => ({
  date,
  filing_date: filing,
  currency_symbol: 'USD',
  ...fields,
});

/** A company document as EODHD sends it (periods keyed by date), with the yearly figures given. */
function companyDoc(opts: {
  marketCap: number;
  years: Array<{ end: string; filed: string | null; revenue: number; netIncome: number; shares: number }>;
}): Record<string, unknown> {
  const keyed = (xs: Array<Record<string, unknown>>) => Object.fromEntries(xs.map((x) => [x.date as string, x]));
  return {
    General: { Code: 'FK', Type: 'Common Stock', Name: 'Known Co', CurrencyCode: 'USD', UpdatedAt: '2026-01-01' },
    Highlights: { MarketCapitalization: opts.marketCap, PERatio: 12.5 },
    Financials: {
      Income_Statement: {
        currency_symbol: 'USD',
        yearly: keyed(
          opts.years.map((y) =>
            statement(y.end, y.filed, { totalRevenue: y.revenue.toFixed(2), netIncome: y.netIncome.toFixed(2) }),
          ),
        ),
      },
      Balance_Sheet: {
        currency_symbol: 'USD',
        yearly: keyed(
          opts.years.map((y) =>
            statement(y.end, y.filed, {
              totalAssets: (y.revenue * 2).toFixed(2),
              totalStockholderEquity: y.revenue.toFixed(2),
              shortTermDebt: '10.00',
              longTermDebt: '30.00',
              commonStockSharesOutstanding: y.shares.toFixed(2),
            }),
          ),
        ),
      },
      Cash_Flow: {
        currency_symbol: 'USD',
        yearly: keyed(
          opts.years.map((y) =>
            statement(y.end, y.filed, {
              totalCashFromOperatingActivities: (y.netIncome * 1.5).toFixed(2),
              capitalExpenditures: '-5.00',
            }),
          ),
        ),
      },
    },
    Earnings: {
      History: {
        '2025-12-31': {
          reportDate: '2026-02-05',
          date: '2025-12-31',
          beforeAfterMarket: 'AfterMarket',
          currency: 'USD',
          epsActual: 1.1,
          epsEstimate: 1,
          epsDifference: 0.1,
          surprisePercent: 10,
        },
        '2026-03-31': { reportDate: '2026-05-01', date: '2026-03-31', epsActual: null, epsEstimate: 1.2 },
      },
    },
  };
}

const YEARS = [
  { end: '2020-12-31', filed: '2021-02-20', revenue: 100, netIncome: -5, shares: 10 },
  { end: '2021-12-31', filed: '2022-02-20', revenue: 110, netIncome: 8, shares: 10 },
  { end: '2022-12-31', filed: '2023-02-20', revenue: 120, netIncome: 10, shares: 10 },
  { end: '2023-12-31', filed: '2024-02-20', revenue: 150, netIncome: 12, shares: 10 },
  { end: '2024-12-31', filed: '2025-02-20', revenue: 160, netIncome: 16, shares: 8 },
  { end: '2025-12-31', filed: '2026-02-15', revenue: 200, netIncome: 20, shares: 8 },
];

test.serial('the versions table keeps every extracted column the fundamentals table has, but UpdatedAt', async (t) => {
  const cols = await rows<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'financial_screener' AND table_name = 'fundamentals_versions' ORDER BY ordinal_position`,
  );
  t.deepEqual(
    cols.map((c) => c.column_name),
    ['asset_id', 'known_from', 'fetched_at', ...VERSION_COLUMNS],
  );
});

test.serial(
  'a restated figure leaves the earlier version visible, and day D answers what was known on D',
  async (t) => {
    const id = await newAsset();
    await write(id, companyDoc({ marketCap: 1000, years: YEARS }), '2026-03-01');
    // A later document: the market cap moved, and 2025 was restated (revenue 200 -> 190) in a
    // filing of 2026-05-20.
    const restated = YEARS.map((y) =>
      y.end === '2025-12-31' ? { ...y, revenue: 190, netIncome: 19, filed: '2026-05-20' } : y,
    );
    await write(id, companyDoc({ marketCap: 1200, years: restated }), '2026-06-01');

    const versions = await rows<{ known_from: string; known_until: string | null; market_cap: number }>(
      `SELECT known_from::text, known_until::text, market_cap FROM v_fundamentals_as_known WHERE asset_id = $1 ORDER BY known_from`,
      [id],
    );
    t.deepEqual(versions, [
      { known_from: '2026-03-01', known_until: '2026-05-31', market_cap: 1000 },
      { known_from: '2026-06-01', known_until: null, market_cap: 1200 },
    ]);
    const asOf = async (d: string) =>
      (
        await rows<{ market_cap: number }>(`SELECT market_cap FROM fundamentals_as_of($1) WHERE asset_id = $2`, [d, id])
      ).map((r) => r.market_cap);
    t.deepEqual(await asOf('2026-02-28'), [], 'nothing known before the first fetch');
    t.deepEqual(await asOf('2026-03-01'), [1000]);
    t.deepEqual(await asOf('2026-05-31'), [1000]);
    t.deepEqual(await asOf('2026-06-01'), [1200]);
    t.deepEqual(await asOf('2027-01-01'), [1200]);

    const reports = await rows(
      `SELECT first_seen::text, filing_date::text, revenue, net_income, eps FROM financial_reports
      WHERE asset_id = $1 AND statement = 'income_statement' AND period_end = '2025-12-31' ORDER BY first_seen`,
      [id],
    );
    t.deepEqual(reports, [
      { first_seen: '2026-03-01', filing_date: '2026-02-15', revenue: 200, net_income: 20, eps: 2.5 },
      { first_seen: '2026-06-01', filing_date: '2026-05-20', revenue: 190, net_income: 19, eps: 2.375 },
    ]);
    // The other periods and statements did not change: one row each.
    t.is(
      (await rows(`SELECT 1 FROM financial_reports WHERE asset_id = $1`, [id])).length,
      YEARS.length * 3 + 3,
      'the restated year adds one row to each statement',
    );
    const growth = async (d: string) =>
      (
        await rows<{ fiscal_year_end: string; revenue_growth_1y: number }>(
          `SELECT fiscal_year_end::text, revenue_growth_1y FROM fundamental_growth_as_of($1) WHERE asset_id = $2`,
          [d, id],
        )
      )[0];
    t.deepEqual(await growth('2026-05-19'), { fiscal_year_end: '2025-12-31', revenue_growth_1y: 200 / 160 - 1 });
    t.deepEqual(await growth('2026-05-20'), { fiscal_year_end: '2025-12-31', revenue_growth_1y: 190 / 160 - 1 });

    // The same figures fetched again: no version, no report row, the latest lasts longer.
    const before = await rows(
      `SELECT (SELECT count(*) FROM fundamentals_versions) v, (SELECT count(*) FROM financial_reports) r, (SELECT count(*) FROM earnings_reports) e`,
    );
    await write(id, companyDoc({ marketCap: 1200, years: restated }), '2026-07-01');
    t.deepEqual(
      await rows(
        `SELECT (SELECT count(*) FROM fundamentals_versions) v, (SELECT count(*) FROM financial_reports) r, (SELECT count(*) FROM earnings_reports) e`,
      ),
      before,
    );
    // The earnings report: the reported quarter kept, the upcoming one (no actual) not.
    t.deepEqual(
      await rows(
        `SELECT period_end::text, report_date::text, actual, estimate, surprise_pct FROM earnings_reports WHERE asset_id = $1`,
        [id],
      ),
      [{ period_end: '2025-12-31', report_date: '2026-02-05', actual: 1.1, estimate: 1, surprise_pct: 10 }],
    );
  },
);

test.serial(
  'growth over 1, 3 and 5 years from the yearly reports public on day D, against a hand computation',
  async (t) => {
    const id = await newAsset();
    await write(id, companyDoc({ marketCap: 1000, years: YEARS }), '2026-03-01');
    const g = async (d: string) =>
      (
        await rows<Record<string, number | string | null>>(
          `SELECT * FROM fundamental_growth_as_of($1) WHERE asset_id = $2`,
          [d, id],
        )
      )[0];
    const close = (a: unknown, b: number) => typeof a === 'number' && Math.abs(a - b) < 1e-12;
    const now = (await g('2026-03-01'))!;
    t.is(now.fiscal_year_end, '2025-12-31');
    t.true(close(now.revenue_growth_1y, 200 / 160 - 1));
    t.true(close(now.revenue_growth_3y, (200 / 120) ** (1 / 3) - 1));
    t.true(close(now.revenue_growth_5y, (200 / 100) ** (1 / 5) - 1));
    t.true(close(now.net_income_growth_1y, 20 / 16 - 1));
    t.true(close(now.net_income_growth_3y, (20 / 10) ** (1 / 3) - 1));
    t.is(now.net_income_growth_5y, null, 'no growth rate from a loss');
    // EPS: net income / shares of the period (2.5 and 2 in 2025 and 2024).
    t.true(close(now.eps_growth_1y, 2.5 / 2 - 1));
    t.true(close(now.eps_growth_3y, (2.5 / 1) ** (1 / 3) - 1));
    // Before 2025's filing, 2024 was the latest year, and 5 years back from it is not there.
    const earlier = (await g('2026-02-14'))!;
    t.is(earlier.fiscal_year_end, '2024-12-31');
    t.true(close(earlier.revenue_growth_1y, 160 / 150 - 1));
    t.true(close(earlier.revenue_growth_3y, (160 / 110) ** (1 / 3) - 1));
    t.is(earlier.revenue_growth_5y, null);
    t.falsy(await g('2021-02-19'), 'nothing public yet');
  },
);

test.serial('a document with missing and odd sections writes what it can, and nothing wrong', async (t) => {
  const id = await newAsset();
  await write(
    id,
    {
      General: { Code: 'ODD', Type: 'Common Stock' },
      Financials: {
        Income_Statement: 'NA',
        Balance_Sheet: {
          currency_symbol: 'EUR',
          quarterly: [
            // No filing date: public from the day it was first seen.
            { date: '2026-03-31', filing_date: '0000-00-00', totalAssets: '500.00', totalStockholderEquity: 'NA' },
            // A filing date before the period's end is no filing date.
            { date: '2025-12-31', filing_date: '2025-01-01', totalAssets: 400, commonStockSharesOutstanding: '0' },
            { date: '0000-00-00', totalAssets: '1.00' },
            { date: '2025-09-30', totalAssets: null, totalLiab: 'No Data' },
            'NA',
            null,
          ],
          yearly: 'NA',
        },
        Cash_Flow: {
          quarterly: {
            '2026-03-31': {
              date: '2026-03-31',
              freeCashFlow: '',
              capitalExpenditures: 7,
              totalCashFromOperatingActivities: '20',
            },
          },
        },
      },
      Earnings: { History: 'NA' },
    },
    '2026-05-10',
  );
  t.deepEqual(
    await rows(
      `SELECT statement, frequency, period_end::text, first_seen::text, filing_date::text, currency, total_assets, equity, shares,
              operating_cash_flow, free_cash_flow
         FROM financial_reports WHERE asset_id = $1 ORDER BY statement, period_end`,
      [id],
    ),
    [
      {
        statement: 'balance_sheet',
        frequency: 'quarterly',
        period_end: '2025-12-31',
        first_seen: '2026-05-10',
        filing_date: null,
        currency: 'EUR',
        total_assets: 400,
        equity: null,
        shares: null,
        operating_cash_flow: null,
        free_cash_flow: null,
      },
      {
        statement: 'balance_sheet',
        frequency: 'quarterly',
        period_end: '2026-03-31',
        first_seen: '2026-05-10',
        filing_date: null,
        currency: 'EUR',
        total_assets: 500,
        equity: null,
        shares: null,
        operating_cash_flow: null,
        free_cash_flow: null,
      },
      {
        statement: 'cash_flow',
        frequency: 'quarterly',
        period_end: '2026-03-31',
        first_seen: '2026-05-10',
        filing_date: null,
        currency: null,
        total_assets: null,
        equity: null,
        shares: null,
        operating_cash_flow: 20,
        free_cash_flow: 13,
      },
    ],
  );
  t.is((await rows(`SELECT 1 FROM earnings_reports WHERE asset_id = $1`, [id])).length, 0);
  t.is((await rows(`SELECT 1 FROM fundamentals_versions WHERE asset_id = $1`, [id])).length, 1);
  // No Financials or Earnings at all (an ETF): a version and nothing else.
  const etf = await newAsset();
  await write(etf, { General: { Code: 'ETF', Type: 'ETF' }, Financials: 'NA', Earnings: 42 }, '2026-05-10');
  t.is((await rows(`SELECT 1 FROM financial_reports WHERE asset_id = $1`, [etf])).length, 0);
  t.is((await rows(`SELECT 1 FROM fundamentals_versions WHERE asset_id = $1`, [etf])).length, 1);
});

test.serial('an oversized document keeps the most recent periods only', async (t) => {
  const id = await newAsset();
  const quarters = Array.from({ length: 600 }, (_, i) => {
    const d = new Date(Date.UTC(2026, 0, 1) - i * 91 * 86_400_000).toISOString().slice(0, 10);
    return { date: d, filing_date: d, totalRevenue: String(1000 + i), netIncome: '1' };
  });
  const history = Object.fromEntries(
    quarters.map((q) => [q.date, { date: q.date, reportDate: q.date, epsActual: 0.5, epsEstimate: 0.4 }]),
  );
  const started = performance.now();
  await write(
    id,
    {
      General: { Code: 'BIG' },
      Financials: { Income_Statement: { quarterly: quarters } },
      Earnings: { History: history },
    },
    '2026-02-01',
  );
  const ms = performance.now() - started;
  const counts = await rows<{ r: number; e: number; newest: string }>(
    `SELECT (SELECT count(*)::int FROM financial_reports WHERE asset_id = $1) r,
            (SELECT count(*)::int FROM earnings_reports WHERE asset_id = $1) e,
            (SELECT max(period_end)::text FROM financial_reports WHERE asset_id = $1) newest`,
    [id],
  );
  t.deepEqual(counts, [{ r: MAX_PERIODS, e: MAX_PERIODS, newest: quarters[0]!.date }]);
  t.log(`600 periods and 600 earnings reports written in ${ms.toFixed(0)} ms`);
});

// ------------------------------------------------------------------- the simulator's documents

test.serial(
  "the simulator's statements: fixed once reported, new periods after their filing, a few restated",
  async (t) => {
    const sim = await startSimulator({ universe: 'sample', today: '2026-01-05', perMinuteLimit: 100_000 });
    try {
      const stocks = sim
        .symbols(['Common Stock'])
        .filter((s) => sim.hasFundamentals(s))
        .slice(0, 120);
      const fetchAll = async () => {
        const out = new Map<
          string,
          { Financials: { Income_Statement: { quarterly: Array<Record<string, string>> } } }
        >();
        for (const s of stocks) out.set(s, (await get(sim, `/fundamentals/${encodeURIComponent(s)}`)).json);
        return out;
      };
      const jan = await fetchAll();
      sim.setClock('2026-09-05T21:30:00Z');
      const sep = await fetchAll();
      let same = 0;
      let restated = 0;
      let added = 0;
      for (const s of stocks) {
        const a = jan.get(s)!.Financials.Income_Statement.quarterly;
        const b = sep.get(s)!.Financials.Income_Statement.quarterly;
        for (const q of b) {
          t.true(q.filing_date! <= '2026-09-05', `${s} ${q.date}: filed ${q.filing_date}, not public yet`);
          const earlier = a.find((x) => x.date === q.date);
          if (!earlier) {
            added++;
            continue;
          }
          if (earlier.totalRevenue === q.totalRevenue && earlier.filing_date === q.filing_date) same++;
          else {
            restated++;
            t.true(q.filing_date! > earlier.filing_date!, `${s} ${q.date}: a restatement comes with a later filing`);
            t.not(q.totalRevenue, earlier.totalRevenue);
          }
        }
        for (const q of a)
          t.true(q.filing_date! <= '2026-01-05', `${s} ${q.date}: filed ${q.filing_date} after January 5`);
      }
      t.log(`quarters seen in both: ${same} unchanged, ${restated} restated; ${added} new`);
      t.true(same > restated * 5, 'most periods keep their figures');
      t.true(restated >= 1, 'some periods are restated');
      t.true(added >= stocks.length, 'new quarters appeared');
    } finally {
      await sim.close();
    }
  },
);

test.serial('storage: rows and bytes per asset-year of versions, statements and earnings', async (t) => {
  const db = await createTestDb();
  const sim = await startSimulator({ universe: 'sample', today: '2026-01-02', perMinuteLimit: 100_000 });
  const TABLES = ['fundamentals_versions', 'financial_reports', 'earnings_reports'];
  const measure = async () => {
    const out = new Map<string, { rows: number; bytes: number }>();
    for (const table of TABLES) {
      await db.pool.query(`VACUUM ANALYZE ${table}`);
      const r = await db.pool.query<{ rows: number; bytes: string }>(
        `SELECT (SELECT count(*)::int FROM ${table}) AS rows, pg_total_relation_size('${table}')::text AS bytes`,
      );
      out.set(table, { rows: r.rows[0]!.rows, bytes: Number(r.rows[0]!.bytes) });
    }
    return out;
  };
  try {
    const stocks = sim
      .symbols(['Common Stock'])
      .filter((s) => sim.hasFundamentals(s))
      .slice(0, 100);
    const ids = new Map<string, number>();
    for (const s of stocks) {
      const r = await db.pool.query(
        `INSERT INTO assets (symbol, code, exchange, region) VALUES ($1, split_part($1, '.', 1), split_part($1, '.', 2), 'european') RETURNING id`,
        [s],
      );
      ids.set(s, Number(r.rows[0].id));
    }
    // The first load, then a simulated year of refreshes every 30 days (fundamentals_refresh_days).
    let first = new Map<string, { rows: number; bytes: number }>();
    let writeMs = 0;
    let docs = 0;
    const fetches = 13;
    for (let m = 0; m < fetches; m++) {
      const day = new Date(Date.UTC(2026, 0, 2) + m * 30 * 86_400_000).toISOString().slice(0, 10);
      if (m > 0) sim.setClock(`${day}T21:30:00Z`);
      for (const s of stocks) {
        const doc = (await get(sim, `/fundamentals/${encodeURIComponent(s)}`)).json as Fundamentals;
        const c = await db.pool.connect();
        const started = performance.now();
        try {
          await c.query('BEGIN');
          await upsertFundamentals(c, ids.get(s)!, doc, day);
          await c.query('COMMIT');
        } finally {
          c.release();
        }
        writeMs += performance.now() - started;
        docs++;
      }
      if (m === 0) first = await measure();
    }
    const end = await measure();
    const years = ((fetches - 1) * 30) / 365;
    const gb = (bytesPerAsset: number, assets: number) => `${((bytesPerAsset * assets) / 1e9).toFixed(2)} GB`;
    for (const table of TABLES) {
      const a = first.get(table)!;
      const b = end.get(table)!;
      const rowsYear = (b.rows - a.rows) / stocks.length / years;
      const bytesYear = (b.bytes - a.bytes) / stocks.length / years;
      t.log(
        `${table}: first load ${(a.rows / stocks.length).toFixed(1)} rows, ${(a.bytes / stocks.length / 1024).toFixed(1)} KiB an asset; ` +
          `then ${rowsYear.toFixed(1)} rows, ${(bytesYear / 1024).toFixed(1)} KiB an asset-year ` +
          `(${(bytesYear / Math.max(1, rowsYear)).toFixed(0)} B a row); a year at 21,817 assets ${gb(bytesYear, 21_817)}, ` +
          `at 150,000 ${gb(bytesYear, 150_000)}`,
      );
    }
    t.log(
      `write: ${(writeMs / docs).toFixed(2)} ms per document, the fundamentals upsert included (${docs} documents)`,
    );
    const versions = end.get('fundamentals_versions')!;
    // Prices move the market cap between monthly fetches: about one version a fetch, never more.
    t.true(versions.rows <= docs && versions.rows >= docs * 0.9, `${versions.rows} versions of ${docs} fetches`);
    const reports = end.get('financial_reports')!;
    // First load: 3 statements x (8 quarters + 6 years); a year adds 4 quarters and 1 year each, and a few restatements.
    t.true(first.get('financial_reports')!.rows <= stocks.length * 3 * (8 + 6));
    const added = (reports.rows - first.get('financial_reports')!.rows) / stocks.length / years;
    t.true(added >= 3 * 5 * 0.8 && added <= 3 * 5 * 1.3, `${added.toFixed(1)} statement rows an asset-year`);
  } finally {
    await sim.close();
    await db.drop();
  }
});

test.serial('deleting an asset removes its versions, statements and earnings reports', async (t) => {
  const id = await newAsset();
  await write(id, companyDoc({ marketCap: 1000, years: YEARS }), '2026-03-01');
  const count = async () =>
    (
      await rows<{ n: number }>(
        `SELECT (SELECT count(*) FROM fundamentals_versions WHERE asset_id = $1)
              + (SELECT count(*) FROM financial_reports WHERE asset_id = $1)
              + (SELECT count(*) FROM earnings_reports WHERE asset_id = $1) AS n`,
        [id],
      )
    )[0]!.n;
  t.true(Number(await count()) > 3);
  await tdb.pool.query('DELETE FROM assets WHERE id = $1', [id]);
  t.is(Number(await count()), 0);
});

test.serial('the statement and growth columns are the documented ones (docs/screener-columns.md)', async (t) => {
  const doc = fs.readFileSync('docs/screener-columns.md', 'utf8').split('\n');
  const growth = await tdb.pool.query(`SELECT * FROM fundamental_growth_as_of('2000-01-01') LIMIT 0`);
  t.deepEqual(
    growth.fields.map((f) => f.name),
    ['asset_id', 'fiscal_year_end', ...GROWTH_COLUMNS.map((c) => c.column)],
  );
  const reports = await tdb.pool.query('SELECT * FROM financial_reports LIMIT 0');
  for (const c of REPORT_COLUMNS)
    t.true(
      reports.fields.some((f) => f.name === c.column),
      c.column,
    );
  for (const c of [...REPORT_COLUMNS, ...GROWTH_COLUMNS])
    t.truthy(
      doc.find((l) => l.startsWith(`| \`${c.column}\` |`)),
      `${c.column} is documented: npm run docs:columns`,
    );
  const line = doc.find((l) => l.startsWith('| `free_cash_flow` |'))!;
  t.is(line.split('|').length, 6, 'a row of four cells');
});
