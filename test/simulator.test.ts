// Tests of the offline EODHD simulator (dev/simulator): shapes against the published
// OpenAPI schemas, costs, limits, errors, determinism, the clock, corporate actions,
// universe sizes, speed and fault injection.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { FAULT_KINDS, parseUniverse, type Simulator, startSimulator } from '../dev/simulator/index.js';
import { loadResponseSchema, validate } from './helpers/openapi.js';
import { admin, EXCHANGES, get, KEY, start } from './helpers/simulator-http.js';

/** Splits announced for the next weeks (calendar endpoint), without spending the clock. */
async function upcomingSplits(
  sim: Simulator,
): Promise<Array<{ code: string; split_date: string; old_shares: number; new_shares: number }>> {
  const to = new Date(Date.parse(sim.today()) + 30 * 86_400_000).toISOString().slice(0, 10);
  const r = await get(sim, '/calendar/splits', { from: sim.today(), to, fmt: 'json' });
  return r.json.splits;
}

// ------------------------------------------------------------------------- schemas

test('every endpoint answers in the shape of its OpenAPI schema', async (t) => {
  const sim = await start();
  try {
    const eod = await get(sim, '/eod/AAPL.US', { fmt: 'json', from: '2025-01-01' });
    t.is(eod.status, 200);
    t.true(eod.json.length > 400);
    t.deepEqual(validate(loadResponseSchema('eod_ticker.yaml'), eod.json), []);

    const bulkSchema = loadResponseSchema('eod-bulk-last-day_exchange.yaml');
    for (const ex of EXCHANGES) {
      const b = await get(sim, `/eod-bulk-last-day/${ex}`, { fmt: 'json' });
      t.is(b.status, 200, ex);
      t.true(b.json.length > 0, ex);
      // The published schema says integer volumes; the real API sends decimals for some
      // exchanges (1182479.74), and so does the simulator for Frankfurt.
      const errors = validate(bulkSchema, b.json);
      const otherThanVolume = (e: string) =>
        /\/\d+\/\w+:/.test(e.replace(/\/\d+\/volume: expected integer, got number;?\s*/g, ''));
      if (ex === 'F') t.false(errors.some(otherThanVolume), `bulk F: ${errors[0]}`);
      else t.deepEqual(errors, [], `bulk ${ex}`);
    }
    const ext = await get(sim, '/eod-bulk-last-day/US', { fmt: 'json', filter: 'extended' });
    t.deepEqual(validate(bulkSchema, ext.json), [], 'bulk extended');
    for (const f of [
      'name',
      'type',
      'MarketCapitalization',
      'Beta',
      'ema_50d',
      'ema_200d',
      'hi_250d',
      'lo_250d',
      'prev_close',
      'change',
      'change_p',
      'avgvol_14d',
      'avgvol_50d',
      'avgvol_200d',
    ]) {
      t.true(f in ext.json[0], `extended has ${f}`);
    }

    const list = await get(sim, '/exchange-symbol-list/US', { fmt: 'json' });
    t.deepEqual(validate(loadResponseSchema('exchange-symbol-list_exchangeCode.yaml'), list.json), []);
    t.deepEqual(Object.keys(list.json[0]), ['Code', 'Name', 'Country', 'Exchange', 'Currency', 'Type', 'Isin']);

    const user = await get(sim, '/user');
    t.deepEqual(validate(loadResponseSchema('user.yaml'), user.json), []);

    const cal = await get(sim, '/calendar/splits', { fmt: 'json', from: '2026-11-20', to: '2026-12-31' });
    t.true(cal.json.splits.length >= 2);
    t.deepEqual(validate(loadResponseSchema('calendar_splits.yaml'), cal.json), []);

    // corporate-action bulk rows need a day that has some: walk the next 10 trading days
    const splits: unknown[] = [];
    const divs: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      const d = sim.advanceTradingDays(1);
      for (const ex of EXCHANGES) {
        const s = await get(sim, `/eod-bulk-last-day/${ex}`, { fmt: 'json', type: 'splits', date: d });
        const v = await get(sim, `/eod-bulk-last-day/${ex}`, { fmt: 'json', type: 'dividends', date: d });
        if (s.json.length) {
          t.deepEqual(validate(bulkSchema, s.json), [], `splits ${ex} ${d}`);
          splits.push(...s.json);
        }
        if (v.json.length) {
          t.deepEqual(validate(bulkSchema, v.json), [], `dividends ${ex} ${d}`);
          divs.push(...v.json);
        }
        if (v.json.length) {
          const c = await get(sim, '/calendar/dividends', { 'filter[date_eq]': d });
          t.deepEqual(validate(loadResponseSchema('calendar_dividends.yaml'), c.json), []);
          t.true(c.json.data.length >= v.json.length);
        }
      }
    }
    t.true(splits.length >= 1, 'at least one split in the sample within 10 trading days');
    t.true(divs.length >= 3, `several dividends within 10 trading days (got ${divs.length})`);
    t.log(`first 10 trading days: ${splits.length} splits, ${divs.length} dividends`);
  } finally {
    await sim.close();
  }
});

test('fundamentals validate, except the "NA" sections the real API also sends', async (t) => {
  const sim = await start();
  try {
    const schema = loadResponseSchema('fundamentals_ticker.yaml');
    const sections = [
      'General',
      'Highlights',
      'Valuation',
      'SharesStats',
      'Technicals',
      'SplitsDividends',
      'AnalystRatings',
      'Holders',
      'InsiderTransactions',
      'ESGScores',
      'outstandingShares',
      'Earnings',
      'Financials',
    ];
    let clean = 0,
      quirky = 0;
    const quirkValues = new Set<string>();
    for (const s of sim.symbols().slice(0, 80)) {
      const r = await get(sim, `/fundamentals/${encodeURIComponent(s)}`);
      if (!sim.hasFundamentals(s)) {
        // Warrants and units: EODHD answers a 200 whose body is an error.
        t.is(r.status, 200, s);
        t.deepEqual(r.json, { error: 'Not found' }, s);
        continue;
      }
      t.is(r.status, 200, s);
      t.deepEqual(Object.keys(r.json), sections, s);
      for (const k of [
        'Code',
        'Type',
        'Name',
        'Exchange',
        'CurrencyCode',
        'CountryName',
        'CountryISO',
        'ISIN',
        'Sector',
        'Industry',
        'GicSector',
        'IsDelisted',
        'UpdatedAt',
      ])
        t.true(k in r.json.General, `${s} General.${k}`);
      for (const k of ['MarketCapitalization', 'PERatio', 'DividendYield', 'EarningsShare'])
        t.true(k in r.json.Highlights, `${s} Highlights.${k}`);
      const naSections = sections.filter((k) => r.json[k] === 'NA');
      const errors = validate(schema, r.json);
      // the only violations allowed are whole sections sent as the string "NA"
      t.deepEqual(
        errors,
        naSections.map((k) => `/${k}: expected ${k === 'InsiderTransactions' ? 'array' : 'object'}, got string`),
        s,
      );
      if (naSections.length) quirky++;
      else clean++;
      const walk = (v: unknown) => {
        if (v === null) quirkValues.add('null');
        else if (v === 'NA' || v === 'No Data' || v === '0000-00-00') quirkValues.add(v);
        else if (v === 0) quirkValues.add('0');
        else if (typeof v === 'object') for (const x of Object.values(v as object)) walk(x);
      };
      walk(r.json);
      const inc = r.json.Financials.Income_Statement.annual[0];
      if (inc) t.regex(String(inc.totalRevenue), /^-?\d+\.\d\d$/, 'statement values are strings');
    }
    t.true(clean >= 50, `most documents are clean (${clean} clean, ${quirky} with "NA" sections)`);
    t.true(quirky >= 1, 'some documents carry "NA" sections');
    t.deepEqual([...quirkValues].sort(), ['0', '0000-00-00', 'NA', 'No Data', 'null']);
    const narrowed = await get(sim, '/fundamentals/AAPL.US', { filter: 'General,Highlights' });
    t.deepEqual(Object.keys(narrowed.json), ['General', 'Highlights']);
    t.deepEqual(validate(schema, narrowed.json), []);
    t.is(sim.usage().byEndpoint.fundamentals.calls, 81 * 10);
  } finally {
    await sim.close();
  }
});

// ------------------------------------------------------------------------- costs and limits

test('costs are charged per endpoint as EODHD documents them', async (t) => {
  const sim = await start();
  try {
    const calls: Array<[string, Record<string, string>, number]> = [
      ['/eod/MSFT.US', { fmt: 'json' }, 1],
      ['/eod-bulk-last-day/US', { fmt: 'json' }, 100],
      ['/eod-bulk-last-day/US', { fmt: 'json', symbols: 'AAPL,MSFT,BRK-B' }, 103],
      ['/eod-bulk-last-day/LSE', { fmt: 'json', type: 'dividends' }, 100],
      ['/fundamentals/AAPL.US', {}, 10],
      ['/exchange-symbol-list/LSE', { fmt: 'json' }, 1],
      ['/exchanges-list/', { fmt: 'json' }, 1],
      ['/splits/AAPL.US', { fmt: 'json' }, 1],
      ['/div/AAPL.US', { fmt: 'json' }, 1],
      ['/calendar/splits', { fmt: 'json' }, 1],
      ['/calendar/dividends', { 'filter[date_eq]': '2026-11-20' }, 1],
      ['/user', {}, 0],
    ];
    let expected = 0;
    for (const [p, q, cost] of calls) {
      const before = sim.usage().calls;
      const r = await get(sim, p, q);
      t.is(r.status, 200, p);
      t.is(sim.usage().calls - before, cost, `${p} costs ${cost}`);
      t.truthy(r.headers.get('x-ratelimit-limit'));
      t.truthy(r.headers.get('x-ratelimit-remaining'));
      expected += cost;
    }
    const u = sim.usage();
    t.is(u.calls, expected);
    t.is(u.requests, calls.length);
    t.deepEqual(u.byEndpoint['eod-bulk-last-day'], { requests: 3, calls: 303 });
    t.deepEqual(u.byEndpoint.fundamentals, { requests: 1, calls: 10 });
    t.deepEqual(u.byEndpoint.user, { requests: 1, calls: 0 });
    for (const ep of [
      'eod',
      'exchange-symbol-list',
      'exchanges-list',
      'splits',
      'div',
      'calendar-splits',
      'calendar-dividends',
    ]) {
      t.deepEqual(u.byEndpoint[ep], { requests: 1, calls: 1 }, ep);
    }
    const user = await get(sim, '/user');
    t.is(user.json.apiRequests, expected);
    t.is(user.json.apiRequestsDate, '2026-11-20');
    t.is(user.json.dailyRateLimit, 100000);
    t.is(user.json.extraLimit, 0);
  } finally {
    await sim.close();
  }
});

test('401 for a wrong or missing key: free, and the key is never echoed', async (t) => {
  const secret = 'sk-very-secret-0123456789';
  const sim = await start({ apiKey: secret });
  try {
    const wrong = await get(sim, '/eod/AAPL.US', { fmt: 'json' }, 'not-the-key-987');
    t.is(wrong.status, 401);
    t.false(wrong.text.includes('not-the-key-987'));
    t.truthy(wrong.headers.get('x-ratelimit-limit'));
    t.is((await get(sim, '/eod/AAPL.US', { fmt: 'json' }, null)).status, 401);
    t.is(sim.usage().calls, 0);
    // no answer, error or link carries the key
    const bodies = [
      await get(sim, '/eod/AAPL.US', {}, secret),
      await get(sim, '/eod/NOPE.US', {}, secret),
      await get(sim, '/nope', {}, secret),
      await get(sim, '/calendar/dividends', {}, secret),
      await get(sim, '/calendar/dividends', { 'filter[date_eq]': '2026-11-20', 'page[limit]': '1' }, secret),
      await get(sim, '/eod/AAPL.US', { from: 'garbage' }, secret),
      await get(sim, '/user', {}, secret),
    ];
    for (const b of bodies) t.false(b.text.includes(secret), b.text.slice(0, 80));
    const state = await admin(sim, 'GET', '/__sim/state');
    t.false(JSON.stringify(state.json).includes(secret));
  } finally {
    await sim.close();
  }
});

test('402 when a request would pass the daily limit; it costs nothing', async (t) => {
  const sim = await start({ dailyLimit: 150 });
  try {
    t.is((await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' })).status, 200);
    for (let i = 0; i < 5; i++) t.is((await get(sim, '/fundamentals/AAPL.US')).status, 200);
    t.is(sim.usage().calls, 150);
    const over = await get(sim, '/eod/AAPL.US', { fmt: 'json' });
    t.is(over.status, 402);
    t.is(sim.usage().calls, 150);
    t.is((await get(sim, '/user')).status, 200, '/user costs nothing and still answers');
    // a new simulated day resets the counter
    sim.advanceTradingDays(1);
    t.is((await get(sim, '/eod/AAPL.US', { fmt: 'json' })).status, 200);
  } finally {
    await sim.close();
  }
  const small = await start({ dailyLimit: 50 });
  try {
    t.is(
      (await get(small, '/eod-bulk-last-day/US', { fmt: 'json' })).status,
      402,
      'a 100-call bulk does not fit in 50',
    );
    t.is((await get(small, '/eod/AAPL.US', { fmt: 'json' })).status, 200);
  } finally {
    await small.close();
  }
});

test('429 with Retry-After past the per-minute limit; it costs nothing', async (t) => {
  const sim = await start({ perMinuteLimit: 5 });
  try {
    for (let i = 0; i < 5; i++) {
      const r = await get(sim, '/eod/AAPL.US', { fmt: 'json' });
      t.is(r.status, 200);
      t.is(r.headers.get('x-ratelimit-limit'), '5');
      t.is(r.headers.get('x-ratelimit-remaining'), String(4 - i));
    }
    const r = await get(sim, '/eod/AAPL.US', { fmt: 'json' });
    t.is(r.status, 429);
    const ra = Number(r.headers.get('retry-after'));
    t.true(ra >= 1 && ra <= 60, `Retry-After ${ra}`);
    t.is(r.headers.get('x-ratelimit-remaining'), '0');
    t.is(sim.usage().calls, 5);
    t.is((await get(sim, '/user')).status, 429, 'cost-0 requests count against the minute too');
  } finally {
    await sim.close();
  }
});

test('unknown ticker: 404 "Ticker Not Found" costing 1; unknown exchange: 404 free', async (t) => {
  const sim = await start();
  try {
    const r = await get(sim, '/eod/NOSUCHTICKER.US', { fmt: 'json' });
    t.is(r.status, 404);
    t.regex(r.text, /Ticker Not Found/);
    t.is(sim.usage().calls, 1);
    // /fundamentals answers an unknown symbol with a 200 whose body is an error, charged as a document.
    const f = await get(sim, '/fundamentals/NOSUCH.LSE');
    t.is(f.status, 200);
    t.deepEqual(f.json, { error: 'Not found' });
    t.is(sim.usage().calls, 11, 'an unknown ticker costs 1 on /eod, 10 on /fundamentals');
    t.is((await get(sim, '/eod/AAPL.XX', { fmt: 'json' })).status, 404);
    const before = sim.usage().calls;
    t.is((await get(sim, '/eod-bulk-last-day/XX', { fmt: 'json' })).status, 404);
    t.is((await get(sim, '/exchange-symbol-list/NYSE', { fmt: 'json' })).status, 404);
    t.is(sim.usage().calls, before);
    // sample universe: a real ticker outside the sample is unknown too
    const full = new Set(sim.symbols());
    t.false(full.has('AMZN.US'));
    t.is((await get(sim, '/eod/AMZN.US', { fmt: 'json' })).status, 404);
    // lower case and no suffix resolve like EODHD does
    t.is((await get(sim, '/eod/aapl.us', { fmt: 'json' })).status, 200);
    t.is((await get(sim, '/eod/AAPL', { fmt: 'json' })).status, 200);
  } finally {
    await sim.close();
  }
});

test('calendar/dividends: 422 without a date or symbol filter, pages with page[limit]/page[offset]', async (t) => {
  const sim = await start();
  try {
    const r = await get(sim, '/calendar/dividends');
    t.is(r.status, 422);
    t.truthy(r.json.errors.filter);
    t.deepEqual(validate(loadResponseSchema('calendar_dividends.yaml', '422'), r.json), []);
    t.is(
      (await get(sim, '/calendar/dividends', { 'filter[date_eq]': '2026-11-20', 'page[limit]': '10001' })).status,
      422,
    );
    t.is(sim.usage().calls, 0);
    // find a date with at least 2 dividends in the past month
    let date = '';
    let total = 0;
    for (let d = Date.parse('2026-11-20'); d > Date.parse('2026-10-01'); d -= 86_400_000) {
      const iso = new Date(d).toISOString().slice(0, 10);
      const c = await get(sim, '/calendar/dividends', { 'filter[date_eq]': iso });
      if (c.json.meta.total >= 2) {
        date = iso;
        total = c.json.meta.total;
        break;
      }
    }
    t.truthy(date, 'a day with 2+ dividends');
    const p1 = await get(sim, '/calendar/dividends', { 'filter[date_eq]': date, 'page[limit]': '1' });
    const p2 = await get(sim, '/calendar/dividends', {
      'filter[date_eq]': date,
      'page[limit]': '1',
      'page[offset]': '1',
    });
    t.is(p1.json.data.length, 1);
    t.is(p1.json.meta.total, total);
    t.notDeepEqual(p1.json.data[0], p2.json.data[0]);
    t.truthy(p1.json.links.next);
    t.false(JSON.stringify(p1.json.links).includes('api_token'));
    const bySymbol = await get(sim, '/calendar/dividends', { 'filter[symbol]': p1.json.data[0].symbol });
    t.true(bySymbol.json.data.some((x: { date: string }) => x.date === date));
  } finally {
    await sim.close();
  }
});

test('CSV unless fmt=json, as EODHD defaults', async (t) => {
  const sim = await start();
  try {
    const e = await get(sim, '/eod/AAPL.US', { from: '2026-11-16' });
    t.regex(e.headers.get('content-type') ?? '', /text\/csv/);
    const lines = e.text.trim().split('\n');
    t.is(lines[0], 'Date,Open,High,Low,Close,Adjusted_close,Volume');
    t.is(lines.length, 6);
    const b = await get(sim, '/eod-bulk-last-day/SW');
    t.is(b.text.split('\n')[0], 'Code,Ex,Date,Open,High,Low,Close,Adjusted_close,Volume');
    const l = await get(sim, '/exchange-symbol-list/SW');
    t.is(l.text.split('\n')[0], 'Code,Name,Country,Exchange,Currency,Type,Isin');
    const f = await get(sim, '/fundamentals/AAPL.US');
    t.regex(f.headers.get('content-type') ?? '', /json/);
  } finally {
    await sim.close();
  }
});

// ------------------------------------------------------------------------- data

test('determinism: two simulators give identical data, and the oracle matches the API', async (t) => {
  const [a, b] = await Promise.all([start(), start()]);
  try {
    for (const ex of ['US', 'LSE', 'F', 'PA']) {
      const ra = await get(a, `/eod-bulk-last-day/${ex}`, { fmt: 'json' });
      const rb = await get(b, `/eod-bulk-last-day/${ex}`, { fmt: 'json' });
      t.is(ra.text, rb.text, ex);
    }
    t.deepEqual(a.symbols(), b.symbols());
    t.is((await get(a, '/fundamentals/SAP.XETRA')).text, (await get(b, '/fundamentals/SAP.XETRA')).text);
    t.is(
      (await get(a, '/exchange-symbol-list/LSE', { fmt: 'json', delisted: '1' })).text,
      (await get(b, '/exchange-symbol-list/LSE', { fmt: 'json', delisted: '1' })).text,
    );
    // oracle = /eod answer; bulk row = last bar of the history
    const bulk = (await get(a, '/eod-bulk-last-day/US', { fmt: 'json' })).json as Array<Record<string, unknown>>;
    for (const s of a
      .symbols()
      .filter((x) => x.endsWith('.US'))
      .slice(0, 25)) {
      const api = (await get(a, `/eod/${encodeURIComponent(s)}`, { fmt: 'json' })).json;
      const oracle = a.expectedHistory(s);
      t.deepEqual(api, oracle, s);
      t.deepEqual(oracle, b.expectedHistory(s), s);
      const row = bulk.find((r) => r.code === s.slice(0, -3));
      const last = oracle[oracle.length - 1];
      if (row && last.date === row.date) {
        const { code, exchange_short_name, ...rest } = row;
        t.deepEqual(rest, last, `bulk row of ${s}`);
      }
    }
    t.deepEqual(
      a.expectedHistory('AAPL.US', '2026-01-05', '2026-01-09'),
      (await get(a, '/eod/AAPL.US', { fmt: 'json', from: '2026-01-05', to: '2026-01-09' })).json,
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('prices look real: OHLC bounds, 4 decimals, flat days, gaps, GBX, penny to four digits', async (t) => {
  const sim = await start();
  try {
    let bars = 0,
      flat = 0,
      lo = Infinity,
      hi = 0;
    let thin = 0;
    for (const s of sim.symbols()) {
      const h = sim.expectedHistory(s, '2024-01-01');
      for (const b of h) {
        bars++;
        if (!(b.high >= Math.max(b.open, b.close) && b.low <= Math.min(b.open, b.close) && b.low > 0))
          t.fail(`${s} ${b.date} OHLC out of bounds`);
        for (const v of [b.open, b.high, b.low, b.close, b.adjusted_close])
          if (Math.round(v * 1e4) / 1e4 !== v) t.fail(`${s} ${b.date} not 4 decimals`);
        // Frankfurt reports fractional volumes (two decimals), the others whole numbers.
        const whole = s.endsWith('.F') ? Math.round(b.volume * 100) / 100 === b.volume : Number.isInteger(b.volume);
        if (!whole || b.volume < 0) t.fail(`${s} volume ${b.volume}`);
        if (b.volume === 0) {
          flat++;
          if (!(b.open === b.high && b.high === b.low && b.low === b.close))
            t.fail(`${s} ${b.date} zero volume but not flat`);
        }
        lo = Math.min(lo, b.close);
        hi = Math.max(hi, b.close);
      }
      if (h.length && h[0].date === '2024-01-02' && h.length < 0.9 * 730) thin++;
    }
    t.log(`${bars} bars since 2024, ${flat} flat zero-volume, ${thin} tickers with gaps, close from ${lo} to ${hi}`);
    t.true(flat > 10);
    t.true(thin > 5);
    t.true(lo < 1 && hi > 1000);
    const lse = (await get(sim, '/exchange-symbol-list/LSE', { fmt: 'json' })).json as Array<{ Currency: string }>;
    t.true(lse.filter((x) => x.Currency === 'GBX').length > lse.length * 0.7, 'LSE listings quote mostly in GBX');
    const us = (await get(sim, '/exchange-symbol-list/US', { fmt: 'json', type: 'common_stock' })).json as Array<{
      Exchange: string;
      Code: string;
      Isin: string | null;
    }>;
    t.deepEqual([...new Set(us.map((x) => x.Exchange))].sort(), ['NASDAQ', 'NYSE']);
    // Without a type: ETFs (NYSE ARCA) and mutual funds (NMFQS) too.
    const everything = (await get(sim, '/exchange-symbol-list/US', { fmt: 'json' })).json as Array<{
      Exchange: string;
      Type: string;
    }>;
    t.deepEqual([...new Set(everything.map((x) => `${x.Type}@${x.Exchange}`))].sort(), [
      'Common Stock@NASDAQ',
      'Common Stock@NYSE',
      'ETF@NASDAQ',
      'ETF@NYSE ARCA',
      'FUND@NMFQS',
    ]);
    t.true(us.some((x) => x.Code === 'BRK-B'));
    t.false(us.some((x) => x.Code.includes('.')));
    // no bars on weekends or holidays
    const h = sim.expectedHistory('AAPL.US', '2025-12-20', '2026-01-05').map((b) => b.date);
    t.false(h.includes('2025-12-25') || h.includes('2026-01-01') || h.includes('2025-12-27'));
    const x = sim.expectedHistory('SAP.XETRA', '2025-12-20', '2026-01-05').map((b) => b.date);
    t.false(x.includes('2025-12-24') || x.includes('2025-12-31'));
    // history starts at the listing date
    const lens = sim
      .symbols()
      .map((s) => sim.expectedHistory(s)[0]?.date)
      .filter(Boolean)
      .sort();
    t.true(lens.filter((d) => d < '2015-01-01').length > lens.length * 0.6, 'most histories start before 2015');
  } finally {
    await sim.close();
  }
});

test('a split changes earlier adjusted_close while close stays; dividends too', async (t) => {
  const sim = await start();
  try {
    const splits = await upcomingSplits(sim);
    const sp = splits.find((s) => s.new_shares > s.old_shares)!;
    t.truthy(sp, 'an upcoming forward split in the sample');
    const before = sim.expectedHistory(sp.code, '2026-06-01');
    const beforeApi = (await get(sim, `/eod/${sp.code}`, { fmt: 'json', from: '2026-06-01' })).json;
    t.deepEqual(beforeApi, before);
    while (sim.today() < sp.split_date) sim.advanceTradingDays(1);
    const after = sim.expectedHistory(sp.code, '2026-06-01');
    const factor = sp.old_shares / sp.new_shares;
    for (const b of before) {
      const a = after.find((x) => x.date === b.date)!;
      t.is(a.close, b.close, 'raw close unchanged');
      t.true(Math.abs(a.adjusted_close / b.adjusted_close - factor) < 0.002, `${b.date} adjusted by ${factor}`);
    }
    const splitBar = after.find((x) => x.date === sp.split_date)!;
    const prev = before[before.length - 1];
    t.truthy(splitBar);
    t.true(splitBar.close / prev.close < 0.75, 'the raw price drops on the split date');
    t.is(splitBar.adjusted_close, splitBar.close);
    const rows = (
      await get(sim, `/eod-bulk-last-day/${sp.code.split('.')[1]}`, {
        fmt: 'json',
        type: 'splits',
        date: sp.split_date,
      })
    ).json;
    t.true(
      rows.some(
        (r: { code: string; split: string }) =>
          r.code === sp.code.split('.')[0] && r.split === `${sp.new_shares.toFixed(6)}/${sp.old_shares.toFixed(6)}`,
      ),
    );
    const sh = (await get(sim, `/splits/${sp.code}`, { fmt: 'json' })).json;
    t.true(sh.some((r: { date: string }) => r.date === sp.split_date));

    // a dividend: bars before the ex-date get 1 - D / previous close
    let div: { code: string; exchange: string; date: string; unadjustedValue: number } | undefined;
    for (let i = 0; i < 10 && !div; i++) {
      const d = sim.advanceTradingDays(1);
      for (const ex of EXCHANGES) {
        const r = (await get(sim, `/eod-bulk-last-day/${ex}`, { fmt: 'json', type: 'dividends', date: d })).json;
        if (r.length) {
          div = r[0];
          break;
        }
      }
    }
    t.truthy(div, 'a dividend within 10 trading days');
    const sym = `${div!.code}.${div!.exchange}`;
    const h = sim.expectedHistory(sym);
    const i = h.findIndex((b) => b.date >= div!.date);
    const last = h[i - 1];
    const expected = last.close * (1 - div!.unadjustedValue / last.close);
    t.true(
      Math.abs(last.adjusted_close - expected) <= 0.0002 + expected * 1e-6,
      `${sym} ${last.adjusted_close} ~ ${expected}`,
    );
    const dv = (await get(sim, `/div/${sym}`, { fmt: 'json' })).json;
    t.true(dv.some((r: { date: string }) => r.date === div!.date));
  } finally {
    await sim.close();
  }
});

test('advancing a day moves the last trading day and resets usage; holidays differ by exchange', async (t) => {
  const sim = await start();
  try {
    t.is(sim.today(), '2026-11-20');
    t.is(sim.lastTradingDay(), '2026-11-20');
    await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' });
    t.is(sim.usage().calls, 100);
    t.is(sim.advanceTradingDays(), '2026-11-23');
    t.is(sim.lastTradingDay('US'), '2026-11-23');
    t.deepEqual(sim.usage(), { date: '2026-11-23', calls: 0, requests: 0, byEndpoint: {} });
    const bulk = (await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' })).json;
    t.is(bulk[0].date, '2026-11-23');
    // Thanksgiving (Thu 26 Nov 2026): US closed, Xetra open
    t.is(sim.advanceTradingDays(3), '2026-11-26');
    t.is(sim.lastTradingDay('US'), '2026-11-25');
    t.is(sim.lastTradingDay('XETRA'), '2026-11-26');
    // A bulk `date=` that is no session of the exchange answers no rows (it used to answer
    // the session before it; EODHD has no bars to give for a closed day), still charged 100.
    const before = sim.usage().calls;
    t.deepEqual((await get(sim, '/eod-bulk-last-day/US', { fmt: 'json', date: '2026-11-26' })).json, []);
    t.is(sim.usage().calls - before, 100);
    t.is((await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' })).json[0].date, '2026-11-25');
    t.is((await get(sim, '/eod-bulk-last-day/XETRA', { fmt: 'json' })).json[0].date, '2026-11-26');
    // a weekend date: no rows either (it used to answer the Friday)
    t.deepEqual((await get(sim, '/eod-bulk-last-day/LSE', { fmt: 'json', date: '2026-11-22' })).json, []);
    t.is((await get(sim, '/eod-bulk-last-day/LSE', { fmt: 'json', date: '2026-11-20' })).json[0].date, '2026-11-20');
    // no data from the future
    t.is((await get(sim, '/eod/AAPL.US', { fmt: 'json', from: '2026-11-27' })).json.length, 0);
  } finally {
    await sim.close();
  }
});

test("state file: a second simulator continues the clock and the day's usage", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eodhd-sim-'));
  const stateFile = path.join(dir, 'state.json');
  try {
    const a = await start({ stateFile });
    await get(a, '/eod-bulk-last-day/US', { fmt: 'json' });
    a.advanceTradingDays(2);
    await get(a, '/fundamentals/AAPL.US');
    await get(a, '/eod/AAPL.US', { fmt: 'json' });
    await a.close();
    const b = await start({ stateFile, today: '2026-01-01' });
    try {
      t.is(b.today(), '2026-11-24');
      t.is(b.usage().calls, 11);
      t.is(b.usage().date, '2026-11-24');
      t.is((await get(b, '/user')).json.apiRequests, 11);
    } finally {
      await b.close();
    }
    t.false(fs.readFileSync(stateFile, 'utf8').includes(KEY));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('universe: full is the 21,817 tickers of the files on the default date, then changes slowly', async (t) => {
  const sim = await start({ universe: 'full' });
  try {
    const count = async (ex: string) =>
      (await get(sim, `/exchange-symbol-list/${ex}`, { fmt: 'json', type: 'common_stock' })).json as Array<{
        Code: string;
        Exchange: string;
      }>;
    const us = await count('US');
    t.is(us.filter((x) => x.Exchange === 'NYSE').length, 2339);
    t.is(us.filter((x) => x.Exchange === 'NASDAQ').length, 4086);
    t.is((await count('LSE')).length, 3145);
    t.is((await count('F')).length, 10209);
    t.is((await count('XETRA')).length, 691);
    const euronext = await Promise.all(['PA', 'AS', 'BR', 'LS'].map(count));
    t.is(
      euronext.reduce((s, l) => s + l.length, 0),
      890,
    );
    for (const l of euronext) t.true(l.length > 20);
    t.true(euronext[0].length > euronext[1].length, 'mostly Paris');
    t.is((await count('MC')).length, 239);
    t.is((await count('SW')).length, 218);
    const before = new Set(sim.symbols());
    t.is(before.size, 21817);
    // delisted=1 lists the tickers delisted in the past, and only them, each marked.
    const delisted = (await get(sim, '/exchange-symbol-list/US', { fmt: 'json', delisted: '1' })).json as Array<{
      Code: string;
      IsDelisted?: boolean;
    }>;
    t.true(delisted.length > 0, 'delisted=1 lists tickers delisted in the past');
    t.true(
      delisted.every((x) => x.IsDelisted === true),
      'every row of delisted=1 is marked delisted',
    );
    const listedCodes = new Set(us.map((x: { Code: string }) => x.Code));
    t.false(
      delisted.some((x) => listedCodes.has(x.Code)),
      'no listed ticker in delisted=1',
    );

    const startDay = sim.today();
    sim.advanceTradingDays(20);
    const after = new Set(sim.symbols());
    const added = [...after].filter((s) => !before.has(s));
    const removed = [...before].filter((s) => !after.has(s));
    t.log(`20 trading days: +${added.length} listings, -${removed.length} delistings, ${after.size} active`);
    t.true(added.length >= 10 && added.length <= 150);
    t.true(removed.length >= 10 && removed.length <= 150);
    // a new listing has history only from its listing date
    const n = added[0];
    const h = sim.expectedHistory(n);
    t.true(h.length > 0 && h[0].date > startDay);
    // a delisted ticker: gone from the list, no new bars, history still there, listed with delisted=1
    const gone = removed.find((s) => s.endsWith('.US'))!;
    t.truthy(gone);
    const code = gone.slice(0, -3);
    t.false((await count('US')).some((x) => x.Code === code));
    t.true(
      (await get(sim, '/exchange-symbol-list/US', { fmt: 'json', delisted: '1' })).json.some(
        (x: { Code: string }) => x.Code === code,
      ),
    );
    const gh = (await get(sim, `/eod/${encodeURIComponent(gone)}`, { fmt: 'json' })).json;
    t.true(gh.length > 0 && gh[gh.length - 1].date < sim.lastTradingDay('US'));
    t.false(
      (await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' })).json.some((r: { code: string }) => r.code === code),
    );
  } finally {
    await sim.close();
  }
});

test('sample universe: ~330 tickers from every file and exchange code, with events', async (t) => {
  const sim = await start();
  try {
    const syms = sim.symbols();
    t.true(syms.length >= 300 && syms.length <= 380, `${syms.length} symbols`);
    for (const ex of EXCHANGES)
      t.true(
        syms.some((s) => s.endsWith(`.${ex}`)),
        ex,
      );
    const us = (await get(sim, '/exchange-symbol-list/US', { fmt: 'json' })).json as Array<{ Exchange: string }>;
    t.true(us.filter((x) => x.Exchange === 'NYSE').length >= 40);
    t.true(us.filter((x) => x.Exchange === 'NASDAQ').length >= 40);
    const before = new Set(syms);
    sim.advanceTradingDays(5);
    const after = sim.symbols();
    t.true(
      after.some((s) => !before.has(s)),
      'a new listing within days',
    );
    t.true(
      [...before].some((s) => !after.includes(s)),
      'a delisting within days',
    );
  } finally {
    await sim.close();
  }
});

test('bulk: NYSE/NASDAQ venues, symbols=, CSV rows, eod period and order', async (t) => {
  const sim = await start();
  try {
    const all = (await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' })).json.length;
    const nyse = (await get(sim, '/eod-bulk-last-day/NYSE', { fmt: 'json' })).json;
    const nasdaq = (await get(sim, '/eod-bulk-last-day/NASDAQ', { fmt: 'json' })).json;
    // The rest of US: ETFs on NYSE ARCA and mutual funds (NMFQS).
    const venues = new Set([...nyse, ...nasdaq].map((r: { code: string }) => r.code));
    const others = ((await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' })).json as Array<{ code: string }>)
      .filter((r) => !venues.has(r.code))
      .map((r) => r.code);
    t.is(nyse.length + nasdaq.length + others.length, all);
    t.true(
      others.every((c) => ['SPY', 'VTI', 'SWPPX', 'VFIAX'].includes(c)),
      others.join(','),
    );
    t.true(nasdaq.some((r: { code: string }) => r.code === 'AAPL'));
    t.false(nyse.some((r: { code: string }) => r.code === 'AAPL'));
    t.is(nyse[0].exchange_short_name, 'US');
    const some = (await get(sim, '/eod-bulk-last-day/US', { fmt: 'json', symbols: 'AAPL,MSFT.US' })).json;
    t.deepEqual(
      some.map((r: { code: string }) => r.code),
      ['AAPL', 'MSFT'],
    );
    const w = (await get(sim, '/eod/AAPL.US', { fmt: 'json', period: 'w', from: '2026-10-01' })).json;
    const d = sim.expectedHistory('AAPL.US', '2026-10-01');
    t.is(
      w.reduce((s: number, b: { volume: number }) => s + b.volume, 0),
      d.reduce((s, b) => s + b.volume, 0),
    );
    t.true(w.length >= 7 && w.length <= 8);
    const m = (await get(sim, '/eod/AAPL.US', { fmt: 'json', period: 'm', from: '2026-01-01' })).json;
    t.is(m.length, 11);
    const desc = (await get(sim, '/eod/AAPL.US', { fmt: 'json', order: 'd', from: '2026-11-01' })).json;
    t.is(desc[0].date, '2026-11-20');
    const lastClose = (await get(sim, '/eod/AAPL.US', { fmt: 'json', filter: 'last_close' })).json;
    t.is(lastClose, desc[0].close);
    const ex = (await get(sim, '/exchanges-list/', { fmt: 'json' })).json.map((e: { Code: string }) => e.Code);
    t.deepEqual(ex, EXCHANGES);
  } finally {
    await sim.close();
  }
});

// ------------------------------------------------------------------------- speed

test.serial('speed: the full US bulk answer and a 750-day history', async (t) => {
  const sim = await start({ universe: 'full' });
  try {
    let t0 = performance.now();
    const us = await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' });
    const firstMs = performance.now() - t0;
    t0 = performance.now();
    let rows = 0;
    for (const ex of EXCHANGES) rows += (await get(sim, `/eod-bulk-last-day/${ex}`, { fmt: 'json' })).json.length;
    const allMs = performance.now() - t0;
    const syms = sim.symbols();
    sim.expectedHistory(syms[0], '2023-11-01');
    t0 = performance.now();
    let bars = 0;
    const N = 100;
    for (let i = 0; i < N; i++) bars += sim.expectedHistory(syms[(i * 211) % syms.length], '2023-11-01').length;
    const histMs = (performance.now() - t0) / N;
    t.log(
      `full US bulk: ${us.json.length} rows in ${firstMs.toFixed(0)} ms (first call, cold); all 10 exchanges: ${rows} rows in ${allMs.toFixed(0)} ms; 750-day history: ${histMs.toFixed(2)} ms each (${(bars / N).toFixed(0)} bars avg)`,
    );
    t.true(us.json.length > 6000);
    t.true(firstMs < 5000, `US bulk took ${firstMs} ms`);
    t.true(histMs < 50, `history took ${histMs} ms`);
  } finally {
    await sim.close();
  }
});

// ------------------------------------------------------------------------- faults

test('fault injection: each kind on demand, counted, and costed like the real API', async (t) => {
  const sim = await start();
  try {
    sim.setFaults({
      slowMs: 300,
      timeoutMs: 200,
      once: [
        { kind: '429', path: '/eod/AAPL.US' },
        { kind: '402', path: '/eod/AAPL.US' },
        { kind: '500', path: '/eod/AAPL.US' },
        { kind: '502', path: '/eod/AAPL.US' },
        { kind: '503', path: '/eod/AAPL.US' },
        { kind: 'timeout', path: '/eod/MSFT.US' },
        { kind: 'slow', path: '/eod/GOOGL.US' },
        { kind: 'slow-body', path: '/eod/BRK-B.US' },
        { kind: 'truncated', path: '/eod-bulk-last-day/US' },
        { kind: 'malformed', path: '/eod-bulk-last-day/LSE' },
        { kind: 'na-fundamentals', path: '/fundamentals/' },
        { kind: 'unknown-ticker', path: '/div/' },
        { kind: 'empty', path: '/exchange-symbol-list/' },
      ],
    });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(sim, '/eod/AAPL.US', { fmt: 'json' })).status);
    t.deepEqual(statuses, [429, 402, 500, 502, 503]);
    t.is(sim.usage().calls, 0, 'errors cost nothing');
    t.is((await get(sim, '/eod/AAPL.US', { fmt: 'json' })).status, 200, 'once means once');

    await t.throwsAsync(() => get(sim, '/eod/MSFT.US', { fmt: 'json' }), undefined, 'timeout drops the connection');
    let t0 = performance.now();
    const slow = await get(sim, '/eod/GOOGL.US', { fmt: 'json' });
    t.is(slow.status, 200);
    t.true(performance.now() - t0 >= 280);
    t0 = performance.now();
    const trickled = await get(sim, '/eod/BRK-B.US', { fmt: 'json' });
    t.is(trickled.status, 200);
    t.true(Array.isArray(trickled.json) && trickled.json.length > 100, 'the whole body arrives, slowly');
    t.true(performance.now() - t0 >= 280);

    let truncatedFailed = false;
    try {
      const r = await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' });
      truncatedFailed = r.json === undefined;
    } catch {
      truncatedFailed = true;
    }
    t.true(truncatedFailed, 'a truncated body cannot be read as JSON');
    const mal = await get(sim, '/eod-bulk-last-day/LSE', { fmt: 'json' });
    t.is(mal.status, 200);
    t.is(mal.json, undefined);
    const na = await get(sim, '/fundamentals/AAPL.US');
    t.is(na.json.Highlights, 'NA');
    t.is(na.json.General.Code, 'AAPL');
    const before = sim.usage().calls;
    const unk = await get(sim, '/div/AAPL.US', { fmt: 'json' });
    t.is(unk.status, 404);
    t.is(sim.usage().calls - before, 1, 'an unknown ticker costs 1');
    const empty = await get(sim, '/exchange-symbol-list/US', { fmt: 'json' });
    t.deepEqual(empty.json, []);
    const counts = sim.faultsInjected();
    for (const k of FAULT_KINDS) {
      t.is(counts[k], 1, k);
    }
  } finally {
    await sim.close();
  }
});

test('fault injection by rate is deterministic for a seed; admin routes drive it from outside', async (t) => {
  const run = async () => {
    const sim = await start();
    try {
      sim.setFaults({ rate: 0.4, kinds: ['500', '503', 'unknown-ticker', 'empty'], seed: 42 });
      const out: string[] = [];
      for (const s of sim.symbols().slice(0, 40)) {
        const r = await get(sim, `/eod/${encodeURIComponent(s)}`, { fmt: 'json' });
        out.push(`${r.status}:${r.text.length === 2 ? 'empty' : 'data'}`);
      }
      return { out, counts: sim.faultsInjected() };
    } finally {
      await sim.close();
    }
  };
  const [a, b] = [await run(), await run()];
  t.deepEqual(a, b);
  const hit = Object.values(a.counts).reduce((s, n) => s + n, 0);
  t.true(hit >= 6 && hit <= 30, `${hit} of 40 hit`);
  t.true(Object.keys(a.counts).length >= 3);

  const sim = await start();
  try {
    const s0 = await admin(sim, 'GET', '/__sim/state');
    t.is(s0.json.today, '2026-11-20');
    const adv = await admin(sim, 'POST', '/__sim/advance?days=2');
    t.is(adv.json.today, '2026-11-24');
    t.is(sim.today(), '2026-11-24');
    const f = await admin(sim, 'POST', '/__sim/faults', { once: [{ kind: '503' }] });
    t.is(f.status, 200);
    t.is((await get(sim, '/user')).status, 503);
    t.is((await admin(sim, 'POST', '/__sim/faults', { kinds: ['nope'] })).status, 400);
    const eh = await admin(sim, 'GET', '/__sim/expected-history?symbol=AAPL.US&from=2026-11-16');
    t.deepEqual(eh.json, sim.expectedHistory('AAPL.US', '2026-11-16'));
    t.is(sim.usage().calls, 0, 'admin routes are free');
  } finally {
    await sim.close();
  }
});

test('synthetic:N: about N generated listings over the ten exchange codes, each file its real share', async (t) => {
  for (const bad of ['synthetic:', 'synthetic:999', 'synthetic:2000000', 'synthetic:1e5', 'huge'])
    t.regex(parseUniverse(bad) as string, /synthetic:N with N from 1000/, bad);
  const sim = await startSimulator({ universe: 'synthetic:60000', today: '2026-11-02' });
  try {
    const symbols = sim.symbols();
    t.true(symbols.length >= 60_000 && symbols.length < 60_100, String(symbols.length));
    t.is(new Set(symbols).size, symbols.length);
    const by = new Map<string, number>();
    for (const s of symbols)
      by.set(s.slice(s.lastIndexOf('.') + 1), (by.get(s.slice(s.lastIndexOf('.') + 1)) ?? 0) + 1);
    t.deepEqual([...by.keys()].sort(), ['AS', 'BR', 'F', 'LS', 'LSE', 'MC', 'PA', 'SW', 'US', 'XETRA']);
    // Frankfurt is 10,209 of the real 21,817: near 47% here too.
    t.true(Math.abs(by.get('F')! / symbols.length - 10_209 / 21_817) < 0.01);
    for (const known of ['AAPL.US', 'SAP.XETRA', 'NESN.SW']) t.true(symbols.includes(known), known);
  } finally {
    await sim.close();
  }
});
