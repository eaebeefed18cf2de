/**
 * EODHD's own documented answers (test/fixtures/eodhd-examples), every one of them,
 * replayed on loopback through the client: its zod schemas, its 403 handling ("not in
 * the plan", recorded), the {"error": "Not found"} answer, and the fundamentals mapping.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import test from 'ava';
import type { CallBook, CallOutcome, EntitlementKind } from '../shared/eodhd/call-book.js';
import { EodhdClient, EodhdError } from '../shared/eodhd/client.js';
import { loadEntitlements } from '../shared/store/api-plan.js';
import { meteredClient } from '../shared/store/call-book.js';
import { extractFundamentals } from '../shared/store/fundamentals.js';
import { createTestDb, type TestDb } from './helpers/db.js';

const DIR = path.resolve('test', 'fixtures', 'eodhd-examples');
const examples = (file: string): unknown[] => JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as unknown[];

let tdb: TestDb;
let server: http.Server;
let base = '';
/** What the replay server answers next (any path). */
let next: { status: number; body: unknown } = { status: 200, body: null };

test.before(async () => {
  tdb = await createTestDb();
  server = http.createServer((_req, res) => {
    const body = JSON.stringify(next.body);
    res.writeHead(next.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-ratelimit-limit': '1000',
      'x-ratelimit-remaining': '999',
    });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
test.after.always(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await tdb?.drop();
});

/** A client on a quota day of its own, so that a 403 of one test does not stop another. */
let day = 0;
function client(): EodhdClient {
  day++;
  return meteredClient({
    baseUrl: base,
    apiKey: 'example-key',
    db: tdb.pool,
    quotaDay: `2026-01-${String(day).padStart(2, '0')}`,
    callLimit: 1_000_000,
    requestsPerMinute: 60_000,
    executionId: null,
    maxAttempts: 1,
  });
}

/** Serves `body` with `status` for the length of one call. */
async function replay<T>(status: number, body: unknown, call: (c: EodhdClient) => Promise<T>): Promise<T> {
  next = { status, body };
  return call(client());
}

/** The example files end with the error body EODHD documents for a refused endpoint: a 403 means "not in the plan". */
async function notInPlan(
  t: import('ava').ExecutionContext,
  body: unknown,
  kind: string,
  call: (c: EodhdClient) => Promise<unknown>,
): Promise<void> {
  t.like(body, { code: 403 });
  const err = await t.throwsAsync(replay(403, body, call));
  t.true(err instanceof EodhdError && err.kind === 'not_in_plan', String(err?.message));
  const e = (await loadEntitlements(tdb.pool)).get(kind as never);
  t.is(e?.status, 'not_in_plan', kind);
  t.is(e?.source, 'answer');
}

test.serial("/user: the plan's figures and feeds; a 403", async (t) => {
  const [user, error] = examples('user-details.json');
  const u = await replay(200, user, (c) => c.user());
  t.like(u, {
    apiRequests: 5301,
    apiRequestsDate: '2026-01-25',
    dailyRateLimit: 100_000,
    extraLimit: 500,
    subscriptionType: 'monthly',
    subscriptionMode: 'paid',
  });
  t.true(u.availableDataFeeds.includes('EOD Historical Data'));
  t.like(error, { code: 403 });
  const err = await t.throwsAsync(replay(403, error, (c) => c.user()));
  t.true(err instanceof EodhdError && err.kind === 'not_in_plan');
});

test.serial('/exchange-symbol-list: every row; a 403 is "not in the plan"', async (t) => {
  const [list, error] = examples('exchange-tickers.json');
  const r = await replay(200, list, (c) => c.exchangeSymbols('US'));
  t.is(r.dropped, 0);
  t.deepEqual(
    r.rows.map((x) => `${x.Code}:${x.Exchange}:${x.Type}`),
    ['AAPL:NASDAQ:Common Stock', 'MSFT:NASDAQ:Common Stock', 'SPY:NYSE ARCA:ETF'],
  );
  await notInPlan(t, error, 'symbol_list', (c) => c.exchangeSymbols('US'));
});

test.serial('/eod: every bar; a 403 is "not in the plan"', async (t) => {
  const [bars, error] = examples('historical-stock-prices.json');
  const r = await replay(200, bars, (c) => c.eod('AAPL.US', '2025-01-01'));
  t.is(r.dropped, 0);
  t.deepEqual(r.warnings, []);
  t.deepEqual(
    r.bars.map((b) => [b.date, b.close, b.adjusted_close, b.volume]),
    [
      ['2025-01-02', 184.25, 184.25, 45678900],
      ['2025-01-03', 186.75, 186.75, 52341200],
    ],
  );
  // The free plan's answer: the same bars and a warning element.
  const warned = await replay(
    200,
    [...(bars as unknown[]), { warning: 'Data is limited by one year as you have free subscription.' }],
    (c) => c.eod('AAPL.US'),
  );
  t.is(warned.bars.length, 2);
  t.deepEqual(warned.warnings, ['Data is limited by one year as you have free subscription.']);
  await notInPlan(t, error, 'eod', (c) => c.eod('AAPL.US'));
});

test.serial('/calendar/splits and /calendar/dividends: every row; a 403 is "not in the plan"', async (t) => {
  const [splits, splitsError] = examples('upcoming-splits.json');
  const s = await replay(200, splits, (c) => c.calendarSplits('2025-10-13', '2025-10-20'));
  t.deepEqual(s, [
    { symbol: '0698.HK', date: '2025-10-13', detail: '1/50' },
    { symbol: '1449.TW', date: '2025-10-13', detail: '1032/1000' },
  ]);
  await notInPlan(t, splitsError, 'calendar', (c) => c.calendarSplits('2025-10-13', '2025-10-20'));
  const [dividends, dividendsError] = examples('upcoming-dividends.json');
  const d = await replay(200, dividends, (c) => c.calendarDividends('2025-08-11'));
  t.deepEqual(
    d.map((x) => x.date),
    ['2025-08-11', '2025-05-12', '2025-02-10'],
  );
  await notInPlan(t, dividendsError, 'calendar', (c) => c.calendarDividends('2025-08-11'));
});

test.serial('/fundamentals, a whole document: the screener columns', async (t) => {
  const [doc, error] = examples('fundamentals-data.json');
  const parsed = await replay(200, doc, (c) => c.fundamentals('AAPL.US'));
  const f = extractFundamentals(parsed, '2025-01-01');
  t.like(f, {
    instrument_type: null,
    currency: 'USD',
    sector: 'Technology',
    industry: 'Consumer Electronics',
    gic_sector: null,
    market_cap: 2_500_000_000_000,
    pe_ratio: 28.5,
    forward_pe: 26.2,
    price_to_book: 41.5,
    dividend_yield: 0.005,
    forward_dividend_rate: 1,
    payout_ratio: 0.15,
    beta: 1.25,
    week_52_high: 260.1,
    analyst_rating: 4.2,
    shares_outstanding: 15_700_000_000,
  });
  await notInPlan(t, error, 'fundamentals', (c) => c.fundamentals('AAPL.US'));
});

test.serial("/fundamentals, a common stock section by section: EODHD's and GICS's classifications apart", async (t) => {
  const s = examples('fundamentals-common-stock.json') as Array<Record<string, unknown>>;
  // The page shows each section on its own, in the document's order.
  const doc = {
    General: s[0],
    Highlights: s[1],
    Valuation: s[2],
    SharesStats: s[3],
    Technicals: s[4],
    SplitsDividends: s[5],
    AnalystRatings: s[6],
    Holders: { ...s[7], ...s[8] },
    InsiderTransactions: s[9],
    outstandingShares: s[10],
    Earnings: { ...s[11], ...s[12], ...s[14] },
    Financials: { Balance_Sheet: s[15], Cash_Flow: s[16], Income_Statement: s[17] },
  };
  const parsed = await replay(200, doc, (c) => c.fundamentals('AAPL.US'));
  const f = extractFundamentals(parsed, '2025-01-01');
  t.like(f, {
    instrument_type: 'Common Stock',
    sector: 'Technology',
    industry: 'Consumer Electronics',
    gic_sector: 'Information Technology',
    market_cap: 3_458_400_518_144,
    pe_ratio: 37.8639,
    dividend_yield: 0.0043,
    forward_dividend_yield: 0.0043,
    payout_ratio: 0.1467,
    analyst_rating: 4.1064,
    analyst_target_price: 247.925,
    ev_to_ebitda: 25.9902,
    isin: 'US0378331005',
    name: 'Apple Inc',
  });
  t.is(typeof f.gic_industry, 'string');
  // Section 13 is the other shape of Earnings.Trend the page shows: it parses alike.
  const other = await replay(200, { General: s[0], Earnings: s[13] }, (c) => c.fundamentals('AAPL.US'));
  t.is(extractFundamentals(other).sector, 'Technology');
});

test.serial(
  '/fundamentals of an ETF: category, costs, yield and returns; "Not found" is an answer, not a document',
  async (t) => {
    const s = examples('fundamentals-etf.json') as Array<Record<string, unknown>>;
    const doc = {
      General: s[0],
      ETF_Data: {
        Market_Capitalisation: s[2],
        Asset_Allocation: s[3],
        World_Regions: s[4],
        Sector_Weights: s[5],
        Fixed_Income: s[6],
        Top_10_Holdings: s[7],
        Holdings: s[8],
        Valuations_Growth: s[9],
        MorningStar: s[10],
        Performance: s[11],
      },
    };
    const f = extractFundamentals(await replay(200, doc, (c) => c.fundamentals('VTI.US')));
    t.like(f, {
      instrument_type: 'ETF',
      fund_category: 'Large Blend',
      sector: null,
      market_cap: null,
      pe_ratio: null,
      morningstar_rating: 3,
      return_1y: 0.3361,
      return_3y: 0.089,
      return_5y: 0.1518,
      currency: 'USD',
      name: 'Vanguard Total Stock Market Index Fund ETF Shares',
    });
    // The Highlights-like block the page also shows maps like a stock's.
    t.like(
      extractFundamentals(await replay(200, { General: s[0], Highlights: s[1] }, (c) => c.fundamentals('VTI.US'))),
      { market_cap: 3_552_741_949_440, pe_ratio: 35.5662, dividend_yield: 0.0043 },
    );
    // A filtered answer (filter=General::Type, as the page shows it) is a document too.
    t.like(extractFundamentals(await replay(200, s[12], (c) => c.fundamentals('VTI.US'))), {
      instrument_type: 'Common Stock',
      market_cap: null,
    });
    const err = await t.throwsAsync(replay(200, s[13], (c) => c.fundamentals('NOSUCH.US')));
    t.true(err instanceof EodhdError && err.kind === 'no_data', String(err?.message));
  },
);

test.serial(
  '/fundamentals of a mutual fund: family and category; its market cap of 0 means "not available"',
  async (t) => {
    const s = examples('fundamentals-fund.json') as Array<Record<string, unknown>>;
    const doc = {
      General: s[0],
      MutualFund_Data: {
        Asset_Allocation: s[1],
        Value_Growth: s[2],
        Top_Holdings: s[3],
        Market_Capitalization: s[4],
        Sector_Weights: s[5],
        World_Regions: s[6],
        Top_Countries: s[7],
      },
    };
    const f = extractFundamentals(await replay(200, doc, (c) => c.fundamentals('SWPPX.US')));
    t.like(f, {
      instrument_type: 'FUND',
      fund_category: 'Large Blend',
      fund_family: 'Schwab Funds',
      market_cap: null,
      isin: 'US8085098551',
      sector: null,
    });
    t.like(extractFundamentals(await replay(200, s[8], (c) => c.fundamentals('SWPPX.US'))), {
      instrument_type: 'Common Stock',
    });
    const err = await t.throwsAsync(replay(200, s[9], (c) => c.fundamentals('NOSUCH.US')));
    t.true(err instanceof EodhdError && err.kind === 'no_data');
  },
);

test.serial(
  'the client needs no database: a book in memory sees every reservation, settlement and refusal',
  async (t) => {
    const seen: string[] = [];
    const refused = new Set<EntitlementKind>();
    let ids = 0;
    const book: CallBook = {
      refused: (kind) => refused.has(kind),
      reserve: async (r) => {
        seen.push(`reserve ${r.endpoint} ${r.cost}`);
        return { ok: true, callId: ++ids };
      },
      settle: async (id, o: CallOutcome) => {
        seen.push(`settle ${id} ${o.outcome === 'answered' ? `${o.httpStatus} charged ${o.charged}` : o.outcome}`);
        return true;
      },
      holdRate: async () => {},
      answered: async (kind, status) => {
        seen.push(`${kind} ${status}`);
        if (status === 'not_in_plan') refused.add(kind);
      },
    };
    const c = new EodhdClient({
      baseUrl: base,
      apiKey: 'example-key',
      book,
      requestsPerMinute: 60_000,
      maxAttempts: 1,
    });
    next = { status: 200, body: examples('historical-stock-prices.json')[0] };
    const h = await c.eod('AAPL.US', '2022-01-03', '2022-01-07');
    t.true(h.bars.length > 0);
    next = { status: 403, body: { error: 'You are not authorized to use this endpoint', code: 403 } };
    const err = await t.throwsAsync(c.fundamentals('AAPL.US'));
    t.is((err as EodhdError).kind, 'not_in_plan');
    // Refused once: the next ask is answered from the book, without a request.
    const again = await t.throwsAsync(c.fundamentals('MSFT.US'));
    t.regex(again!.message, /403 earlier today/);
    t.deepEqual(seen, [
      'reserve eod 1',
      'settle 1 200 charged 1',
      'eod available',
      'reserve fundamentals 10',
      'fundamentals not_in_plan',
      'settle 2 403 charged 0',
    ]);
    t.is(c.callsCharged, 1);
  },
);

test('every example file is replayed above', (t) => {
  const files = fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  t.deepEqual(files, [
    'exchange-tickers.json',
    'fundamentals-common-stock.json',
    'fundamentals-data.json',
    'fundamentals-etf.json',
    'fundamentals-fund.json',
    'historical-stock-prices.json',
    'upcoming-dividends.json',
    'upcoming-splits.json',
    'user-details.json',
  ]);
  t.is(
    examples('fundamentals-common-stock.json').length,
    18,
    "the common-stock page's 18 sections are all placed above",
  );
  t.is(examples('fundamentals-etf.json').length, 14);
  t.is(examples('fundamentals-fund.json').length, 10);
});
