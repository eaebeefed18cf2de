/**
 * The screen (shared/screen/, functions/screen): over three days of simulated runs, every
 * returned row satisfies every filter (read back from the tables, not the answer); totals
 * equal hand-written counts; a screen as of an earlier day equals the screen run that day;
 * the universe of the day (a later delisting is in, a later listing out); money in another
 * currency at the day's rates; sort and paging; CSV; staleness; and every bad request is a
 * 400 that says what to send. The function is called in-process, logged in as a member of
 * screener_readers (sql/029), as it is deployed.
 */

import test from 'ava';
import { inProcessPipeline } from '../dev/in-process.js';
import { readerLogin } from '../dev/local-stack.js';
import type { Simulator } from '../dev/simulator/index.js';
import handle from '../functions/screen/handler.js';
import { defaultCalendar } from '../shared/domain/calendar.js';
import { closeDb } from '../shared/platform/db.js';
import type { ScreenAnswer } from '../shared/screen/contract.js';
import { PRESETS } from '../shared/screen/presets.js';
import { freshSince } from '../shared/screen/run-screen.js';
import { rowCounts, type TestDb } from './helpers/db.js';
import { closeWorld, openWorld } from './helpers/world.js';

type Row = Record<string, unknown>;

let tdb: TestDb;
let sim: Simulator;
/** The first day's screens, answered on that day (before the next runs). */
const dayOne: Array<{ body: Row; answer: ScreenAnswer }> = [];
let day1 = '';
let dayOneRun = 0;
let last = '';

// Screens saved on day 1 and asked again as of day 1 after two more days.
const SAVED: Row[] = [
  { filters: [['rsi_14', '<', 50]], sort: 'rsi_14.desc', limit: 1000, columns: 'rsi_14,sma_50,change_1d_pct,date' },
  { filters: [['change_1d_pct', '>', 0]], exchanges: ['us', 'LSE'], limit: 200, columns: ['volume', 'beta'] },
  { preset: 'oversold', limit: 1000 },
  { filters: [['name', 'match', 'a']], sort: ['avg_volume_30.desc'], limit: 1000 },
];

async function call(
  method: string,
  body: string,
  query: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  return handle({
    method,
    body: Buffer.from(body),
    query,
    path: '/',
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
  });
}
async function screen(body: Row): Promise<ScreenAnswer> {
  const r = await call('POST', JSON.stringify(body));
  if (r.status !== 200) throw new Error(`screen ${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as ScreenAnswer;
}
const q = async <T = Row>(sql: string, args: unknown[] = []) => (await tdb.pool.query(sql, args)).rows as T[];

test.before('three days of runs on the sample universe; day 1 screened on its day', async () => {
  ({ tdb, sim } = await openWorld());
  // The function reads as it is deployed: a login of screener_readers.
  process.env.DATABASE_URL = await readerLogin(tdb.pool, tdb.url);
  delete process.env.DATABASE_SECRET;
  const p = await inProcessPipeline(tdb.pool, sim.url);
  dayOneRun = await p.run();
  for (const body of SAVED) dayOne.push({ body, answer: await screen(body) });
  day1 = dayOne[0]!.answer.asOf;
  for (let i = 0; i < 2; i++) {
    sim.advanceTradingDays(1);
    await p.run();
  }
  last = (await screen({ limit: 1 })).asOf;
});
test.after.always(async () => {
  await closeDb();
  await closeWorld(tdb, sim);
});

/** Units of the reporting currency (USD) per unit of `cur` on `day`, read from fx_rates by hand. */
async function rateByHand(cur: string, day: string): Promise<number | null> {
  const unit = (
    await q<{ major: string; per_major: number }>('SELECT major, per_major FROM currency_units WHERE code = $1', [cur])
  )[0];
  const major = unit?.major ?? cur;
  const per = unit?.per_major ?? 1;
  if (major === 'USD') return 1 / per;
  const r = await q<{ close: number }>(
    `SELECT close FROM fx_rates WHERE currency = $1 AND quote = 'USD' AND date <= $2 ORDER BY date DESC LIMIT 1`,
    [major, day],
  );
  return r[0] ? r[0].close / per : null;
}

/** The stored row a screen of `day` read for `symbol`, with the listing's columns. */
async function storedRow(symbol: string, day: string, rowDate: string): Promise<Row> {
  const [r] =
    day === last
      ? await q(
          `SELECT t.*, t.price_date AS date, a.symbol, a.name, a.exchange, a.code, a.country
             FROM technical_indicators t JOIN assets a ON a.id = t.asset_id WHERE a.symbol = $1`,
          [symbol],
        )
      : await q(
          `SELECT h.*, a.symbol, a.name, a.exchange, a.code, a.country
             FROM indicator_history h JOIN assets a ON a.id = h.asset_id WHERE a.symbol = $1 AND h.date = $2`,
          [symbol, rowDate],
        );
  if (!r) throw new Error(`no stored row of ${symbol} on ${rowDate}`);
  return r;
}

// quote_unit: in the unit the bars are quoted in (pence for GBX): / quote_per_major makes it major.
const MONEY: Record<string, 'quote' | 'quote_unit' | 'fundamentals'> = {
  close: 'quote',
  adjusted_close: 'quote',
  avg_traded_value_30: 'quote_unit',
  sma_50: 'quote_unit',
  sma_200: 'quote_unit',
  market_cap: 'fundamentals',
  enterprise_value: 'fundamentals',
  eps: 'fundamentals',
};

/** Whether a stored value satisfies a filter, in JS (values of money fields converted by the hand rates). */
function holds(v: unknown, op: string, value: unknown): boolean {
  if (op === 'is null') return v === null;
  if (op === 'not null') return v !== null;
  if (v === null || v === undefined) return false;
  switch (op) {
    case '=':
      return typeof v === 'string' && typeof value === 'string' ? v === value : v === value;
    case '!=':
      return v !== value;
    case '>':
      return (v as number) > (value as number);
    case '>=':
      return (v as number) >= (value as number);
    case '<':
      return (v as number) < (value as number);
    case '<=':
      return (v as number) <= (value as number);
    case 'between': {
      const [lo, hi] = value as [number, number];
      return (v as number) >= lo && (v as number) <= hi;
    }
    case 'in':
      return (value as unknown[]).includes(v);
    case 'match':
      return String(v).toLowerCase().includes(String(value).toLowerCase());
  }
  throw new Error(`op ${op}`);
}

const CHECKED: Row[] = [
  {
    filters: [
      ['rsi_14', 'between', [40, 60]],
      ['change_1d_pct', '>=', -1],
    ],
    limit: 1000,
  },
  {
    filters: [
      ['refund_1d_p', '<', 0],
      ['exchange', 'in', ['us', 'xetra', 'LSE']],
    ],
    limit: 1000,
  },
  {
    filters: [
      ['name', 'match', 'AG'],
      ['volume', '>', 1000],
    ],
    limit: 1000,
  },
  {
    filters: [
      ['avgvol_30d', '>=', 200000],
      ['market_capitalization', '>', 1e8],
    ],
    limit: 1000,
  },
  {
    filters: [
      ['sector', '=', 'Technology'],
      ['pe_ratio', '<', 30],
    ],
    limit: 1000,
  },
  { filters: [['avg_traded_value_30', '>', 1e6]], currency: 'EUR', limit: 1000 },
  { preset: 'momentum', limit: 1000 },
  { preset: 'value', filters: [['exchange', '!=', 'US']], limit: 1000 },
  { preset: 'breakout', limit: 1000 },
];

test.serial('every returned row satisfies every filter, read back from the tables', async (t) => {
  let rows = 0;
  const bodies = [...CHECKED, ...CHECKED.map((b) => ({ ...b, asOf: day1 }))].map(
    (b): Row => ({ ...b, columns: 'date' }),
  );
  for (const body of bodies) {
    const a = await screen(body);
    const preset = PRESETS.find((p) => p.name === body.preset);
    const filters = [
      ...(preset?.filters.map((f) => [f.field, f.op, f.value]) ?? []),
      ...((body.filters as unknown[][]) ?? []),
    ];
    const currency = (body.currency as string) ?? 'USD';
    const target = (await rateByHand(currency, a.asOf))!;
    for (const row of a.data) {
      rows++;
      const stored = await storedRow(row.symbol as string, a.asOf, String(row.date ?? a.asOf));
      for (const [name, op, value] of filters as [string, string, unknown][]) {
        const canonical =
          (
            {
              refund_1d_p: 'change_1d_pct',
              avgvol_30d: 'avg_volume_30',
              market_capitalization: 'market_cap',
            } as Record<string, string>
          )[name] ?? name;
        let v = stored[canonical];
        const money = MONEY[canonical];
        if (money && typeof v === 'number') {
          const cur = stored[money === 'fundamentals' ? 'fundamentals_currency' : 'currency'] as string;
          const rate = await rateByHand(cur, a.asOf);
          const unit = money === 'quote_unit' ? (stored.quote_per_major as number) : 1;
          v = rate === null ? null : (v / unit) * (rate / target);
        }
        const want =
          canonical === 'exchange' && Array.isArray(value) ? value.map((x) => String(x).toUpperCase()) : value;
        t.true(holds(v, op, want), `${row.symbol} ${a.asOf}: ${canonical} ${v} ${op} ${JSON.stringify(want)}`);
      }
      for (const s of preset?.signals ?? [])
        t.true((stored.signals as string[] | null)?.includes(s), `${row.symbol}: ${s}`);
    }
  }
  t.true(rows > 20, `${rows} rows checked`);
});

// Hand-written counts: the universe of the day (universe_on), no quarantined bar, the row's
// currency converted by fx_rate, every row kept (includeStale) so the count needs no calendar.
const HAND = (where: string) => `
  SELECT count(*)::int AS n
    FROM technical_indicators t JOIN universe_on($1::date) u ON u.asset_id = t.asset_id JOIN assets a ON a.id = t.asset_id
   WHERE a.exchange <> 'INDX'
     AND NOT EXISTS (SELECT 1 FROM price_quality_findings f WHERE f.asset_id = t.asset_id AND f.date = t.price_date
                        AND f.status = 'open' AND f.severity = 'error')
     AND ${where}`;
const TOTALS: Array<[string, Row, string]> = [
  [
    "EODHD's alias market_capitalization",
    { filters: [['market_capitalization', '>', 1e9]] },
    't.market_cap * fx_rate(t.fundamentals_currency, $1) > 1e9',
  ],
  ['a between', { filters: [['rsi_14', 'between', [30, 70]]] }, 't.rsi_14 BETWEEN 30 AND 70'],
  ['an in (lower case, as EODHD)', { filters: [['exchange', 'in', ['us', 'lse']]] }, "a.exchange IN ('US', 'LSE')"],
  ['a match', { filters: [['name', 'match', 'inc']] }, "a.name ILIKE '%inc%'"],
  ['a match with a LIKE character', { filters: [['name', 'match', '%']] }, "strpos(a.name, '%') > 0"],
  ['a signal', { signals: 'macd_cross_up' }, "t.signals @> '{macd_cross_up}'"],
  [
    'an exchange list and an alias',
    { exchanges: 'XETRA,f,PA', filters: [['refund_5d_p', '>', 0]] },
    "a.exchange IN ('XETRA', 'F', 'PA') AND t.change_5d_pct > 0",
  ],
  ['is null', { filters: [['beta', 'is null']] }, 't.beta IS NULL'],
  ['a date', { filters: [['date', '>=', '2000-01-01']] }, "t.price_date >= '2000-01-01'"],
];

test.serial('totals equal hand-written SQL counts', async (t) => {
  let nonEmpty = 0;
  for (const [what, body, where] of TOTALS) {
    const a = await screen({ ...body, includeStale: true, limit: 5 });
    const [hand] = await q<{ n: number }>(HAND(where), [a.asOf]);
    t.is(a.total, hand!.n, what);
    if (a.total > 0) nonEmpty++;
  }
  t.true(nonEmpty >= 5, 'most screens find rows');
});

test.serial('a screen as of an earlier day equals the screen run on that day', async (t) => {
  t.not(day1, last, 'days went by');
  // A later run may rewrite what day 1 knows of a few assets' past, on purpose: a split or
  // dividend rewrites the adjusted series (and with it beta, RSI, ...), a bar the API
  // corrected replaces the first print, a quarantine opened or cleared takes a bar out or puts
  // it back. Their rows are recomputed from the changed day. Every other row is the same, in
  // the same order, and the totals differ by exactly the changed assets.
  const changed = new Set(
    (
      await q<{ symbol: string }>(
        `SELECT a.symbol FROM work_items w JOIN assets a ON a.id = w.asset_id
          WHERE w.operation = 'adjustment_refresh' AND w.execution_id > $1
         UNION SELECT a.symbol FROM price_corrections c JOIN assets a ON a.id = c.asset_id
          WHERE c.date <= $2::date AND c.seen_at > (SELECT finished_at FROM process_executions WHERE execution_id = $1)
         UNION SELECT a.symbol FROM price_quality_findings f JOIN assets a ON a.id = f.asset_id
          WHERE f.date <= $2::date AND f.severity = 'error'
            AND greatest(f.found_at, f.status_changed_at) > (SELECT finished_at FROM process_executions WHERE execution_id = $1)`,
        [dayOneRun, day1],
      )
    ).map((r) => r.symbol),
  );
  const unchanged = (a: ScreenAnswer) => a.data.filter((r) => !changed.has(r.symbol as string));
  const changedRows = (a: ScreenAnswer) => a.data.length - unchanged(a).length;
  for (const { body, answer } of dayOne) {
    const again = await screen({ ...body, asOf: day1 });
    t.true(answer.total <= answer.limit, 'every row of the day is in its page');
    t.deepEqual(unchanged(again), unchanged(answer), JSON.stringify(body));
    t.is(again.total - changedRows(again), answer.total - changedRows(answer), JSON.stringify(body));
    t.deepEqual(again.columns, answer.columns);
    t.is(again.asOf, answer.asOf);
  }
  t.true(unchanged(dayOne[0]!.answer).length > 10, 'the comparison covers rows');
  t.true(changed.size < 25, `${changed.size} assets whose past a later run rewrote: ${[...changed].join(', ')}`);
  t.log(`assets whose past a later run rewrote: ${changed.size}`);
});

test.serial('sort and paging: two pages are the first 2n rows, none twice, NULLs last', async (t) => {
  const body = { sort: 'change_1d_pct.desc', columns: 'change_1d_pct,beta', includeStale: true };
  const all = await screen({ ...body, limit: 30 });
  const p1 = await screen({ ...body, limit: 15 });
  const p2 = await screen({ ...body, limit: 15, offset: 15 });
  t.deepEqual([...p1.data, ...p2.data], all.data);
  t.is(new Set(all.data.map((r) => r.symbol)).size, all.data.length);
  for (let i = 1; i < all.data.length; i++) {
    const [a, b] = [all.data[i - 1]!.change_1d_pct, all.data[i]!.change_1d_pct];
    t.true(b === null || (a !== null && (a as number) >= (b as number)), `row ${i}`);
  }
  // Past the last row: no rows, the total all the same.
  const past = await screen({ ...body, offset: all.total + 10 });
  t.deepEqual([past.data.length, past.total], [0, all.total]);
  // Nulls last ascending too.
  const asc = await screen({ sort: 'beta.asc', columns: 'beta', includeStale: true, limit: 1000 });
  const firstNull = asc.data.findIndex((r) => r.beta === null);
  if (firstNull >= 0) t.true(asc.data.slice(firstNull).every((r) => r.beta === null));
  // EODHD's own form of a sort.
  const eodhd = await call('GET', '', {
    sort: 'refund_1d_p',
    order: 'd',
    columns: 'change_1d_pct',
    limit: '30',
    includeStale: 'true',
  });
  t.deepEqual(
    (eodhd.body as ScreenAnswer).data,
    all.data.map((r) => ({ symbol: r.symbol, exchange: r.exchange, name: r.name, change_1d_pct: r.change_1d_pct })),
  );
});

test.serial('GET with the query string answers as POST does; CSV has the same rows', async (t) => {
  const body = { filters: [['rsi_14', '<', 60]], sort: 'rsi_14.asc', columns: 'rsi_14,name,date', limit: 40 };
  const posted = await screen(body);
  const got = await call('GET', '', {
    filters: JSON.stringify(body.filters),
    sort: body.sort,
    columns: body.columns,
    limit: '40',
  });
  t.is(got.status, 200);
  t.deepEqual(got.body, posted);
  const csv = await call(
    'GET',
    '',
    { filters: JSON.stringify(body.filters), sort: body.sort, columns: body.columns, limit: '40' },
    { accept: 'text/csv' },
  );
  t.regex(csv.headers?.['content-type'] ?? '', /^text\/csv/);
  const lines = parseCsv(csv.body as string);
  t.deepEqual(lines[0], posted.columns);
  t.deepEqual(
    lines.slice(1),
    posted.data.map((r) => posted.columns.map((c) => (r[c] === null ? '' : String(r[c])))),
  );
  const asFormat = await call('POST', JSON.stringify(body), { format: 'csv' });
  t.is(asFormat.body, csv.body);
});

test.serial('money in another currency is the native value times the rates read by hand', async (t) => {
  const usd = await screen({
    columns: 'close,avg_traded_value_30,sma_200,market_cap,currency',
    includeStale: true,
    limit: 1000,
  });
  const eur = await screen({
    columns: 'close,avg_traded_value_30,sma_200,market_cap,currency',
    currency: 'EUR',
    includeStale: true,
    limit: 1000,
  });
  t.is(eur.currency, 'EUR');
  t.is(eur.total, usd.total);
  const eurRate = (await rateByHand('EUR', eur.asOf))!;
  t.true(eurRate > 0);
  let checked = 0;
  const currencies = new Set<string>();
  for (const row of eur.data) {
    const stored = await storedRow(row.symbol as string, eur.asOf, eur.asOf);
    for (const [c, kind] of [
      ['close', 'quote'],
      ['avg_traded_value_30', 'quote_unit'],
      ['sma_200', 'quote_unit'],
      ['market_cap', 'fundamentals'],
    ] as const) {
      const unit = kind === 'quote_unit' ? (stored.quote_per_major as number) : 1;
      const raw = stored[c] as number | null;
      const native = raw === null ? null : raw / unit;
      const cur = stored[kind === 'fundamentals' ? 'fundamentals_currency' : 'currency'] as string | null;
      if (native === null || cur === null) {
        t.is(row[c], null, `${row.symbol} ${c}`);
        continue;
      }
      const expected = (native * (await rateByHand(cur, eur.asOf))!) / eurRate;
      t.true(
        Math.abs((row[c] as number) - expected) <= 1e-9 * Math.abs(expected),
        `${row.symbol} ${c}: ${row[c]} vs ${expected}`,
      );
      checked++;
      currencies.add(cur);
    }
  }
  t.true(checked > 50, `${checked} values checked`);
  t.true(currencies.size >= 2, `in ${[...currencies].join(', ')}`);
  const unknown = await call('POST', JSON.stringify({ currency: 'XYZ' }));
  t.is(unknown.status, 400);
  t.regex((unknown.body as { reason: string }).reason, /XYZ has no rate on .*: use one of .*EUR/);
});

test.serial(
  "the day's universe: a company delisted later is in an earlier day's screen, one listed later is not",
  async (t) => {
    const before = await screen({ asOf: day1, includeStale: true, limit: 1000, columns: 'close' });
    const [gone, later] = before.data.map((r) => r.symbol as string);
    const saved = await q<Row>(
      'SELECT symbol, listed_from, delisted_on, delisted_source FROM assets WHERE symbol IN ($1, $2)',
      [gone, later],
    );
    t.teardown(async () => {
      for (const s of saved)
        await tdb.pool.query(
          'UPDATE assets SET listed_from = $2, delisted_on = $3, delisted_source = $4 WHERE symbol = $1',
          [s.symbol, s.listed_from, s.delisted_on, s.delisted_source],
        );
    });
    // Delisted the day after day 1; listed only from the last day.
    await tdb.pool.query(
      `UPDATE assets SET delisted_on = $2::date + 1, delisted_source = 'vanished', is_active = false WHERE symbol = $1`,
      [gone, day1],
    );
    await tdb.pool.query(`UPDATE assets SET listed_from = $2 WHERE symbol = $1`, [later, last]);
    const then = await screen({ asOf: day1, includeStale: true, limit: 1000, columns: 'close' });
    const now = await screen({ includeStale: true, limit: 1000, columns: 'close' });
    const has = (a: ScreenAnswer, s: string) => a.data.some((r) => r.symbol === s);
    t.true(has(then, gone!), `${gone} was listed on ${day1}`);
    t.false(has(now, gone!), `${gone} is delisted by ${last}`);
    t.false(has(then, later!), `${later} was not listed yet on ${day1}`);
    t.true(has(now, later!), `${later} is listed on ${last}`);
    t.is(then.total, before.total - 1);
  },
);

test.serial(
  'staleness: a row older than screen_stale_sessions of its exchange is left out unless includeStale',
  async (t) => {
    t.teardown(() =>
      tdb.pool.query(`UPDATE pipeline_settings SET value = '5' WHERE key = 'screen_stale_sessions'`).then(() => {}),
    );
    const all = await screen({ includeStale: true, limit: 1 });
    const fresh5 = await screen({ limit: 1 });
    await tdb.pool.query(`UPDATE pipeline_settings SET value = '0' WHERE key = 'screen_stale_sessions'`);
    const fresh0 = await screen({ limit: 1 });
    // With 0: only rows of each exchange's last session (the day of its latest row here).
    const [hand] = await q<{ n: number }>(
      HAND(
        `t.price_date = (SELECT max(t2.price_date) FROM technical_indicators t2 JOIN assets a2 ON a2.id = t2.asset_id WHERE a2.exchange = a.exchange)`,
      ),
      [last],
    );
    t.is(fresh0.total, hand!.n);
    t.true(fresh0.total <= fresh5.total && fresh5.total <= all.total);
    // One asset's row made older than the window leaves it out.
    const [old] = await q<{ symbol: string; price_date: string }>(
      `SELECT a.symbol, t.price_date FROM technical_indicators t JOIN assets a ON a.id = t.asset_id
      WHERE a.exchange = 'US' AND t.price_date = $1 LIMIT 1`,
      [last],
    );
    await tdb.pool.query(
      `UPDATE technical_indicators SET price_date = price_date - 14 WHERE asset_id = (SELECT id FROM assets WHERE symbol = $1)`,
      [old!.symbol],
    );
    t.teardown(() =>
      tdb.pool
        .query(
          `UPDATE technical_indicators SET price_date = $2 WHERE asset_id = (SELECT id FROM assets WHERE symbol = $1)`,
          [old!.symbol, old!.price_date],
        )
        .then(() => {}),
    );
    await tdb.pool.query(`UPDATE pipeline_settings SET value = '5' WHERE key = 'screen_stale_sessions'`);
    const symbolIs = [['symbol', '=', old!.symbol]];
    t.is((await screen({ filters: symbolIs })).total, 0, 'stale: left out');
    t.is((await screen({ filters: symbolIs, includeStale: true })).total, 1, 'asked for: in');
  },
);

test.serial('a quarantined bar is never used', async (t) => {
  const [row] = await q<{ symbol: string; asset_id: number; price_date: string }>(
    `SELECT a.symbol, t.asset_id, t.price_date FROM technical_indicators t JOIN assets a ON a.id = t.asset_id
      WHERE t.price_date = $1 AND NOT EXISTS (SELECT 1 FROM price_quality_findings f WHERE f.asset_id = t.asset_id)
      ORDER BY a.symbol LIMIT 1`,
    [last],
  );
  const symbolIs = [['symbol', '=', row!.symbol]];
  t.is((await screen({ filters: symbolIs })).total, 1);
  const hist = await screen({ filters: symbolIs, asOf: day1, columns: 'date' });
  t.is(hist.total, 1);
  await tdb.pool.query(
    `INSERT INTO price_quality_findings (asset_id, date, check_name, severity, detail) VALUES ($1, $2, 'price_move', 'error', 'screen test'), ($1, $3, 'price_move', 'error', 'screen test')`,
    [row!.asset_id, row!.price_date, day1],
  );
  t.teardown(() =>
    tdb.pool
      .query(`DELETE FROM price_quality_findings WHERE asset_id = $1 AND detail = 'screen test'`, [row!.asset_id])
      .then(() => {}),
  );
  t.is((await screen({ filters: symbolIs })).total, 0, 'its latest row is quarantined');
  const before = await screen({ filters: symbolIs, asOf: day1, columns: 'date', includeStale: true });
  t.is(before.total, 1, 'as of day 1: the session before it');
  t.true(String(before.data[0]!.date) < day1);
});

test('each exchange counts its own sessions: a holiday of one exchange is no session of it', (t) => {
  // Thursday 2026-11-26 (Thanksgiving) closes New York, not London.
  const calendars = new Map([
    ['US', defaultCalendar('US', new Set(['2026-11-26']))],
    ['LSE', defaultCalendar('LSE')],
  ]);
  const since = Object.fromEntries(freshSince(calendars, '2026-11-28', 2));
  // Saturday: each exchange's last session is Friday 27; two sessions before it.
  t.is(since.US, '2026-11-24', 'US: 27, 25, 24 (26 closed)');
  t.is(since.LSE, '2026-11-25', 'LSE: 27, 26, 25');
  t.is(Object.fromEntries(freshSince(calendars, '2026-11-27', 0)).US, '2026-11-27', '0: the last session only');
});

test.serial('?presets and ?fields list what a screen can ask', async (t) => {
  const presets = (await call('GET', '', { presets: '' })).body as {
    presets: Array<{ name: string; filters: unknown[] }>;
  };
  t.deepEqual(
    presets.presets.map((p) => p.name),
    ['value', 'growth', 'momentum', 'quality', 'dividend', 'oversold', 'breakout'],
  );
  for (const p of presets.presets) t.true(p.filters.length > 0, p.name);
  const fields = (await call('GET', '', { fields: '' })).body as {
    fields: Array<{ name: string; aliases: string[]; unit: string }>;
    signals: Array<{ name: string }>;
  };
  t.true(fields.fields.some((f) => f.name === 'market_cap' && f.aliases.includes('market_capitalization')));
  t.true(fields.signals.some((s) => s.name === 'golden_cross'));
  // Every preset runs, and narrows with the request's own filters.
  for (const p of PRESETS) {
    const a = await screen({ preset: p.name, includeStale: true });
    const narrowed = await screen({ preset: p.name, includeStale: true, filters: [['exchange', '=', 'US']] });
    t.true(narrowed.total <= a.total, p.name);
    t.deepEqual(a.columns, ['symbol', 'exchange', 'name', ...p.columns], p.name);
  }
});

const BAD: Array<[string, Row | Record<string, string>, RegExp, 'GET'?]> = [
  ['an unknown field', { filters: [['market_capp', '>', 1]] }, /unknown field "market_capp": did you mean market_cap/],
  ['an alias misspelt', { filters: [['market_capitalisation', '>', 1]] }, /did you mean market_capitalization/],
  ['SQL in a field', { filters: [['market_cap; DROP TABLE assets', '>', 1]] }, /unknown field/],
  [
    'a string op on a number',
    { filters: [['pe_ratio', 'match', 'x']] },
    /"match" is a string operation: pe_ratio is a number field; use one of =/,
  ],
  [
    '> on a string',
    { filters: [['sector', '>', 'A']] },
    /">" is a number or date operation: sector is a string field; use one of =, !=, in, match/,
  ],
  ['an unknown op', { filters: [['pe_ratio', 'OR 1=1', 1]] }, /"OR 1=1" is not an operation/],
  [
    'a string for a number',
    { filters: [['pe_ratio', '<', '15']] },
    /pe_ratio is a number \(ratio\): send a number, not the string "15"/,
  ],
  ['between not a pair', { filters: [['pe_ratio', 'between', 5]] }, /between needs \[low, high\]/],
  ['between the wrong way', { filters: [['pe_ratio', 'between', [20, 5]]] }, /low <= high/],
  ['an empty in', { filters: [['sector', 'in', []]] }, /in needs a non-empty list/],
  [
    'in too long',
    { filters: [['sector', 'in', Array.from({ length: 1001 }, (_, i) => `s${i}`)]] },
    /at most 1000 values/,
  ],
  ['a nested value', { filters: [['sector', 'in', [['a']]]] }, /send a string, not a list/],
  ['an unknown signal', { signals: ['golden_cros'] }, /unknown signal "golden_cros": did you mean golden_cross/],
  [
    'an unknown preset',
    { preset: 'cheap' },
    /unknown preset "cheap": use one of value, growth, momentum, quality, dividend, oversold, breakout/,
  ],
  ['limit 0', { limit: 0 }, /limit must be a whole number from 1 to 1000/],
  ['limit 1001', { limit: 1001 }, /limit must be a whole number from 1 to 1000/],
  ['a negative offset', { offset: -1 }, /offset must be a whole number from 0 to 100000/],
  ['51 filters', { filters: Array.from({ length: 51 }, () => ['pe_ratio', '>', 1]) }, /at most 50 filters/],
  ['10,000 filters', { filters: Array.from({ length: 10_000 }, () => ['pe_ratio', '>', 1]) }, /at most 50 filters/],
  ['a long string', { filters: [['name', 'match', 'x'.repeat(201)]] }, /at most 200 characters/],
  ['an unknown sort', { sort: 'market_cap; DROP TABLE x.desc' }, /unknown sort field/],
  ['an unknown column', { columns: ['pe_ratio', 'password'] }, /unknown column "password"/],
  ['an unknown exchange', { exchanges: ['NYSE'] }, /unknown exchange "NYSE": use EODHD's codes US, LSE/],
  ['a bad asOf', { asOf: '2024-13-45' }, /asOf must be a real day YYYY-MM-DD/],
  [
    'asOf before the history',
    { asOf: '1900-01-01' },
    /asOf 1900-01-01 is outside the history: send a day from \d{4}-\d\d-\d\d \(its first day\) to \d{4}-\d\d-\d\d \(the last session\)/,
  ],
  ['asOf after the last session', { asOf: '2099-01-02' }, /outside the history: send a day from/],
  ['a bad currency', { currency: "US'; --" }, /currency must be a three-letter code/],
  ['an unknown request field', { where: 'x' }, /unknown field "where": send filters, signals/],
  ['a prototype key', JSON.parse('{"__proto__": {"limit": 5}}') as Row, /unknown field "__proto__"/],
  ['filters as bad JSON (GET)', { filters: '[["pe_ratio"' }, /filters must be JSON as EODHD writes it/, 'GET'],
  ['a bad limit (GET)', { limit: '10; DROP' }, /limit must be a whole number/, 'GET'],
  ['a bad format (GET)', { format: 'xml' }, /format is csv or json/, 'GET'],
  ['a filter too short', { filters: [['pe_ratio']] }, /must be \[field, operation, value\]/],
  ['is null with a value', { filters: [['pe_ratio', 'is null', 3]] }, /is null takes no value/],
  ['a date field with a number', { filters: [['date', '>', 20240101]] }, /date is a date: send "YYYY-MM-DD"/],
];

test.serial('every bad request is a 400 whose reason says what to send, and nothing is written', async (t) => {
  const before = await rowCounts(tdb.pool);
  for (const [what, input, reason, method] of BAD) {
    const r =
      method === 'GET'
        ? await call('GET', '', input as Record<string, string>)
        : await call('POST', JSON.stringify(input));
    t.is(r.status, 400, what);
    t.regex(String((r.body as { reason?: string }).reason), reason, what);
    t.false(String((r.body as { reason?: string }).reason).includes('\n'), `${what}: one line`);
  }
  // Deep nesting and other methods.
  const deep = await call('POST', `{"filters": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
  t.is(deep.status, 400);
  t.is((await call('DELETE', '')).status, 405);
  t.is((await call('POST', 'limit=5', {}, { 'content-type': 'application/x-www-form-urlencoded' })).status, 415);
  t.deepEqual(await rowCounts(tdb.pool), before);
});

/** RFC 4180, enough for the test: quoted fields with doubled quotes, CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}
