// Tests of the simulator's clock (dev/simulator): the time of day and the Date header,
// setClock, publication times per exchange, bulk answers for closed or unpublished days,
// EODHD's stale /user counter, and /exchange-details. Everything is read from the
// simulated instant, never from the real clock, so nothing here depends on timing.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Simulator } from '../dev/simulator/index.js';
import { admin, EXCHANGES, get, start } from './helpers/simulator-http.js';

const httpDate = (iso: string) => new Date(iso).toUTCString();

/** Per exchange, a listing with bars on both days (read from a simulator that has published both). */
function tradedOn(sim: Simulator, days: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sim.symbols()) {
    const ex = s.slice(s.lastIndexOf('.') + 1);
    if (out[ex]) continue;
    const dates = new Set(sim.expectedHistory(s, days[0]).map((b) => b.date));
    if (days.every((d) => dates.has(d))) out[ex] = s;
  }
  return out;
}

/** Dates of a bulk answer (JSON), as a set. */
async function bulkDates(sim: Simulator, ex: string, params: Record<string, string> = {}): Promise<string[]> {
  const r = await get(sim, `/eod-bulk-last-day/${ex}`, { fmt: 'json', ...params });
  return [...new Set((r.json as Array<{ date: string }>).map((x) => x.date))];
}

// ------------------------------------------------------------------------- the clock

test('the Date header is the simulated instant, and follows advance and setClock', async (t) => {
  const sim = await start();
  try {
    t.is(sim.now(), '2026-11-20T21:30:00.000Z');
    t.is((await get(sim, '/user')).headers.get('date'), 'Fri, 20 Nov 2026 21:30:00 GMT');
    // every /api answer, errors included
    t.is((await get(sim, '/eod/AAPL.US', {}, 'wrong-key')).headers.get('date'), httpDate(sim.now()));
    t.is((await get(sim, '/nope')).headers.get('date'), httpDate(sim.now()));
    t.is((await get(sim, '/eod/NOSUCH.US')).headers.get('date'), httpDate(sim.now()));

    t.is(sim.advanceTradingDays(), '2026-11-23');
    t.is(sim.now(), '2026-11-23T21:30:00.000Z', 'advance keeps the time of day');
    t.is((await get(sim, '/eod/AAPL.US', { fmt: 'json' })).headers.get('date'), 'Mon, 23 Nov 2026 21:30:00 GMT');

    t.is(sim.setClock('2026-11-24T08:05:30Z'), '2026-11-24T08:05:30.000Z');
    t.is((await get(sim, '/user')).headers.get('date'), 'Tue, 24 Nov 2026 08:05:30 GMT');
    t.is(sim.today(), '2026-11-24');
    t.is(sim.usage().date, '2026-11-24', 'a new day is a new usage day');
    sim.advanceTradingDays();
    t.is(sim.now(), '2026-11-25T08:05:30.000Z');

    // a weekend is a valid place for the clock; advance goes on to the next trading day
    sim.setClock('2026-11-28T12:00:00.250Z');
    t.is(sim.today(), '2026-11-28');
    t.is(sim.lastTradingDay('US'), '2026-11-27');
    t.is(sim.advanceTradingDays(), '2026-11-30');
    t.is(sim.now(), '2026-11-30T12:00:00.250Z');

    const state = await admin(sim, 'GET', '/__sim/state');
    t.is(state.json.now, sim.now());
    const moved = await admin(sim, 'POST', '/__sim/clock?at=2026-12-01T09:00Z');
    t.is(moved.status, 200);
    t.is(moved.json.now, '2026-12-01T09:00:00.000Z');
    t.is(moved.json.today, '2026-12-01');
    t.is((await get(sim, '/user')).headers.get('date'), 'Tue, 01 Dec 2026 09:00:00 GMT');
  } finally {
    await sim.close();
  }
});

test('setClock refuses an earlier instant and a malformed one, with a one-line reason', async (t) => {
  const sim = await start({ time: '12:00' });
  try {
    t.is(sim.now(), '2026-11-20T12:00:00.000Z');
    const back = t.throws(() => sim.setClock('2026-11-20T11:59:59Z'));
    t.regex(back!.message, /backwards/);
    t.false(back!.message.includes('\n'));
    t.throws(() => sim.setClock('2026-11-19T23:00:00Z'), { message: /backwards/ });
    for (const bad of ['2026-11-20', '2026-11-20T25:00Z', '2026-11-20T12:00:00', '2026-02-30T12:00Z', 'soon']) {
      const e = t.throws(() => sim.setClock(bad), undefined, bad);
      t.false(e!.message.includes('\n'), bad);
    }
    t.is(sim.setClock('2026-11-20T12:00:00Z'), '2026-11-20T12:00:00.000Z', 'the same instant is not backwards');
    t.is(sim.now(), '2026-11-20T12:00:00.000Z');

    const r = await admin(sim, 'POST', '/__sim/clock?at=2026-11-01T00:00Z');
    t.is(r.status, 400);
    t.regex(r.json.message, /backwards/);
    t.is((await admin(sim, 'POST', '/__sim/clock?at=tomorrow')).status, 400);
    t.is((await admin(sim, 'POST', '/__sim/clock')).status, 400);
    t.is(sim.now(), '2026-11-20T12:00:00.000Z', 'refused moves leave the clock alone');
    await t.throwsAsync(() => start({ time: '9:30' }), { message: /HH:MM/ });
    await t.throwsAsync(() => start({ time: '24:00' }), { message: /HH:MM/ });
  } finally {
    await sim.close();
  }
});

test('the state file keeps the time of day and what /user shows; an older file loads with the default time', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eodhd-sim-clock-'));
  const stateFile = path.join(dir, 'state.json');
  try {
    const a = await start({ stateFile });
    await get(a, '/eod-bulk-last-day/US', { fmt: 'json' });
    a.setClock('2026-11-23T10:15:00Z');
    await a.close();
    const b = await start({ stateFile, time: '21:30' });
    try {
      t.is(b.now(), '2026-11-23T10:15:00.000Z', 'the file wins over the option');
      t.deepEqual(b.userView(), { date: '2026-11-20', calls: 100 }, 'still the stale view');
      t.is(b.usage().calls, 0);
    } finally {
      await b.close();
    }
    // a file written before the time of day was kept
    const older = JSON.stringify({
      version: 1,
      today: '2026-11-24',
      usage: { date: '2026-11-24', calls: 7, requests: 7, byEndpoint: {} },
    });
    fs.writeFileSync(stateFile, older);
    const c = await start({ stateFile });
    try {
      t.is(c.now(), '2026-11-24T21:30:00.000Z');
      t.deepEqual(c.userView(), { date: '2026-11-24', calls: 7 });
      t.is(c.usage().calls, 7);
    } finally {
      await c.close();
    }
    fs.writeFileSync(stateFile, older);
    const d = await start({ stateFile, time: '06:00' });
    try {
      t.is(d.now(), '2026-11-24T06:00:00.000Z', 'an older file takes the time from the options');
    } finally {
      await d.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------------- publication

test('at 10:00 UTC on a weekday every exchange ends at the previous session; at 21:30 the day is there', async (t) => {
  const ref = await start();
  const LIQUID = tradedOn(ref, ['2026-11-19', '2026-11-20']);
  await ref.close();
  t.deepEqual(Object.keys(LIQUID).sort(), [...EXCHANGES].sort());
  const sim = await start({ time: '10:00' });
  try {
    t.is(sim.today(), '2026-11-20');
    for (const ex of EXCHANGES) {
      t.is(sim.lastTradingDay(ex), '2026-11-20', ex);
      t.is(sim.publishedThrough(ex), '2026-11-19', ex);
      t.deepEqual(await bulkDates(sim, ex), ['2026-11-19'], `bulk ${ex}`);
      const eod = (await get(sim, `/eod/${LIQUID[ex]}`, { fmt: 'json', from: '2026-11-01' })).json;
      t.is(eod.at(-1).date, '2026-11-19', `eod ${LIQUID[ex]}`);
      t.deepEqual(eod, sim.expectedHistory(LIQUID[ex], '2026-11-01'), `oracle ${LIQUID[ex]}`);
      // asking for the day explicitly does not reveal it either
      const upTo = (await get(sim, `/eod/${LIQUID[ex]}`, { fmt: 'json', from: '2026-11-19', to: '2026-11-20' })).json;
      t.deepEqual(
        upTo.map((b: { date: string }) => b.date),
        ['2026-11-19'],
      );
    }
    // a bulk of the unpublished day: no rows, still charged
    const before = sim.usage().calls;
    t.deepEqual((await get(sim, '/eod-bulk-last-day/LSE', { fmt: 'json', date: '2026-11-20' })).json, []);
    t.is(sim.usage().calls - before, 100);

    sim.setClock('2026-11-20T21:30:00Z');
    for (const ex of EXCHANGES) {
      t.is(sim.publishedThrough(ex), '2026-11-20', ex);
      t.deepEqual(await bulkDates(sim, ex), ['2026-11-20'], `bulk ${ex}`);
      const eod = (await get(sim, `/eod/${LIQUID[ex]}`, { fmt: 'json', from: '2026-11-01' })).json;
      t.is(eod.at(-1).date, '2026-11-20', `eod ${LIQUID[ex]}`);
      t.deepEqual(eod, sim.expectedHistory(LIQUID[ex], '2026-11-01'));
    }
    t.true((await get(sim, '/eod-bulk-last-day/LSE', { fmt: 'json', date: '2026-11-20' })).json.length > 0);
  } finally {
    await sim.close();
  }
});

test('at 20:00 UTC in winter London has published and New York has not; in summer New York publishes at 20:15', async (t) => {
  const sim = await start({ time: '20:00' });
  try {
    t.is(sim.publishedThrough('US'), '2026-11-19', 'US: 16:15 New York is 21:15 UTC in November');
    t.is(sim.publishedThrough('NYSE'), '2026-11-19');
    for (const ex of EXCHANGES.filter((e) => e !== 'US')) t.is(sim.publishedThrough(ex), '2026-11-20', ex);
    t.deepEqual(await bulkDates(sim, 'US'), ['2026-11-19']);
    t.deepEqual(await bulkDates(sim, 'LSE'), ['2026-11-20']);
    t.is(sim.expectedHistory('AAPL.US').at(-1)!.date, '2026-11-19');
    t.is(sim.expectedHistory('BP.LSE').at(-1)!.date, '2026-11-20');
    sim.setClock('2026-11-20T21:14:59Z');
    t.is(sim.publishedThrough('US'), '2026-11-19');
    sim.setClock('2026-11-20T21:15:00Z');
    t.is(sim.publishedThrough('US'), '2026-11-20');
  } finally {
    await sim.close();
  }
  const summer = await start({ today: '2026-07-20', time: '20:14' });
  try {
    t.is(summer.publishedThrough('US'), '2026-07-17', 'Monday 16:14 New York: Friday is the last published');
    summer.setClock('2026-07-20T20:15:00Z');
    t.is(summer.publishedThrough('US'), '2026-07-20');
  } finally {
    await summer.close();
  }
});

test('at the default 21:30 UTC every session of the day is published, winter and summer', async (t) => {
  // A year of days at 21:30, weekends and holidays included: the last published session is
  // always the last session on or before the day (what lastTradingDay says).
  const sim = await start({ today: '2026-01-01' });
  try {
    let days = 0;
    for (let ms = Date.parse('2026-01-01T21:30:00Z'); ms < Date.parse('2027-01-01T00:00:00Z'); ms += 86_400_000) {
      sim.setClock(new Date(ms).toISOString());
      for (const ex of EXCHANGES)
        if (sim.publishedThrough(ex) !== sim.lastTradingDay(ex)) t.fail(`${ex} on ${sim.today()}`);
      days++;
    }
    t.is(days, 365);
    t.is(sim.today(), '2026-12-31');
  } finally {
    await sim.close();
  }
  const july = await start({ today: '2026-07-15' });
  try {
    for (const ex of EXCHANGES) t.deepEqual(await bulkDates(july, ex), ['2026-07-15'], ex);
  } finally {
    await july.close();
  }
});

test('bulk with date= a holiday is empty and charged 100; another exchange open that day has rows', async (t) => {
  const sim = await start({ today: '2026-11-27' });
  try {
    let before = sim.usage().calls;
    t.deepEqual((await get(sim, '/eod-bulk-last-day/US', { fmt: 'json', date: '2026-11-26' })).json, []);
    t.is(sim.usage().calls - before, 100);
    before = sim.usage().calls;
    const some = await get(sim, '/eod-bulk-last-day/US', { fmt: 'json', date: '2026-11-26', symbols: 'AAPL,MSFT' });
    t.deepEqual(some.json, []);
    t.is(sim.usage().calls - before, 102);
    const csv = await get(sim, '/eod-bulk-last-day/NYSE', { date: '2026-11-26' });
    t.is(csv.text, 'Code,Ex,Date,Open,High,Low,Close,Adjusted_close,Volume\n', 'CSV: the header line only');
    t.deepEqual(
      (await get(sim, '/eod-bulk-last-day/US', { fmt: 'json', date: '2026-11-26', filter: 'extended' })).json,
      [],
    );
    t.deepEqual(await bulkDates(sim, 'LSE', { date: '2026-11-26' }), ['2026-11-26']);
    t.deepEqual(await bulkDates(sim, 'US', { date: '2026-11-25' }), ['2026-11-25'], 'a past session answers as before');
    t.deepEqual((await get(sim, '/eod-bulk-last-day/US', { fmt: 'json', date: '2026-11-28' })).json, [], 'a Saturday');
    t.deepEqual((await get(sim, '/eod-bulk-last-day/US', { fmt: 'json', date: '2026-11-30' })).json, [], 'the future');
    t.deepEqual(await bulkDates(sim, 'US'), ['2026-11-27'], 'without a date: the last published session');
  } finally {
    await sim.close();
  }
});

// ------------------------------------------------------------------------- /user's stale counter

test("/user shows the last active day until the new day's first charged call", async (t) => {
  const sim = await start();
  try {
    await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' });
    await get(sim, '/eod/AAPL.US', { fmt: 'json' });
    t.deepEqual(sim.userView(), { date: '2026-11-20', calls: 101 });
    sim.advanceTradingDays();
    const user = (await get(sim, '/user')).json;
    t.is(user.apiRequestsDate, '2026-11-20', 'Monday: /user still says Friday');
    t.is(user.apiRequests, 101);
    t.deepEqual(sim.userView(), { date: '2026-11-20', calls: 101 });
    t.deepEqual(sim.usage(), {
      date: '2026-11-23',
      calls: 0,
      requests: 1,
      byEndpoint: { user: { requests: 1, calls: 0 } },
    });
    // free requests (and refused ones) do not move it
    await get(sim, '/user');
    await get(sim, '/eod/AAPL.US', {}, 'wrong-key');
    t.is((await get(sim, '/user')).json.apiRequestsDate, '2026-11-20');
    // the first charged call does
    await get(sim, '/eod/MSFT.US', { fmt: 'json' });
    const now = (await get(sim, '/user')).json;
    t.is(now.apiRequestsDate, '2026-11-23');
    t.is(now.apiRequests, 1);
    t.deepEqual(sim.userView(), { date: '2026-11-23', calls: 1 });
    t.is((await admin(sim, 'GET', '/__sim/state')).json.userView.date, '2026-11-23');

    // Days without a charge keep showing the last day that had one.
    sim.advanceTradingDays();
    await get(sim, '/user');
    sim.advanceTradingDays();
    sim.setClock('2026-11-28T10:00:00Z');
    t.deepEqual((await get(sim, '/user')).json.apiRequestsDate, '2026-11-23');
    t.deepEqual(sim.userView(), { date: '2026-11-23', calls: 1 });
    t.is(sim.usage().calls, 0);
  } finally {
    await sim.close();
  }
});

test('a stale /user never blocks: the limit is on the current day', async (t) => {
  const sim = await start({ dailyLimit: 150 });
  try {
    await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' });
    for (let i = 0; i < 5; i++) await get(sim, '/fundamentals/AAPL.US');
    t.is((await get(sim, '/eod/AAPL.US', { fmt: 'json' })).status, 402);
    sim.advanceTradingDays();
    t.deepEqual(sim.userView(), { date: '2026-11-20', calls: 150 });
    t.is((await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' })).status, 200);
    t.deepEqual(sim.userView(), { date: '2026-11-23', calls: 100 });
    t.is((await get(sim, '/eod-bulk-last-day/LSE', { fmt: 'json' })).status, 402, 'still limited on its own count');
    t.deepEqual(sim.userView(), { date: '2026-11-23', calls: 100 }, 'a 402 is not charged');
  } finally {
    await sim.close();
  }
});

test('setLastActiveDay: /user dated 3 days back with 95,000 calls, and today has its full budget', async (t) => {
  const sim = await start({ today: '2026-11-23' });
  try {
    sim.setLastActiveDay('2026-11-20', 95_000);
    const u = (await get(sim, '/user')).json;
    t.is(u.apiRequestsDate, '2026-11-20');
    t.is(u.apiRequests, 95_000);
    t.is(u.dailyRateLimit, 100_000);
    t.is(sim.usage().calls, 0);
    // 95,000 of another day do not count against today's 100,000
    const bulk = await get(sim, '/eod-bulk-last-day/US', { fmt: 'json' });
    t.is(bulk.status, 200);
    for (let i = 0; i < 60; i++) t.is((await get(sim, '/fundamentals/AAPL.US')).status, 200);
    t.deepEqual(sim.userView(), { date: '2026-11-23', calls: 700 });
    t.throws(() => sim.setLastActiveDay('2026-11-20', 1), { message: /already has charged calls/ });
  } finally {
    await sim.close();
  }
  const other = await start({ today: '2026-11-23' });
  try {
    t.throws(() => other.setLastActiveDay('2026-11-23', 1), { message: /before 2026-11-23/ });
    t.throws(() => other.setLastActiveDay('2026-11-31', 1));
    t.throws(() => other.setLastActiveDay('2026-11-20', -1), { message: />= 0/ });
    t.throws(() => other.setLastActiveDay('2026-11-20', 1.5));
    other.setLastActiveDay('2026-11-18', 0);
    t.deepEqual(other.userView(), { date: '2026-11-18', calls: 0 });
    other.advanceTradingDays();
    t.deepEqual(other.userView(), { date: '2026-11-18', calls: 0 }, 'still the last active day after a quiet one');
  } finally {
    await other.close();
  }
});

test('staleCounter: false moves /user to the new day at once', async (t) => {
  const sim = await start({ staleCounter: false });
  try {
    await get(sim, '/eod/AAPL.US', { fmt: 'json' });
    sim.advanceTradingDays();
    const u = (await get(sim, '/user')).json;
    t.is(u.apiRequestsDate, '2026-11-23');
    t.is(u.apiRequests, 0);
    t.is((await admin(sim, 'GET', '/__sim/state')).json.staleCounter, false);
  } finally {
    await sim.close();
  }
});

// ------------------------------------------------------------------------- /exchange-details

type Holiday = { Holiday: string; Date: string; Type: string };
const listOf = (o: Record<string, Holiday>): Holiday[] => Object.values(o);

test('/exchange-details: EODHD shape, holidays by the calendar, bank holidays, early closes, cost 5', async (t) => {
  const sim = await start();
  try {
    const before = sim.usage().calls;
    const r = await get(sim, '/exchange-details/US', { from: '2026-01-01', to: '2026-12-31' });
    t.is(r.status, 200);
    t.regex(r.headers.get('content-type') ?? '', /json/, 'JSON without fmt');
    t.is(sim.usage().calls - before, 5);
    t.deepEqual(sim.usage().byEndpoint['exchange-details'], { requests: 1, calls: 5 });
    const d = r.json;
    t.deepEqual(Object.keys(d), [
      'Name',
      'Code',
      'OperatingMIC',
      'Country',
      'Currency',
      'Timezone',
      'isOpen',
      'TradingHours',
      'ExchangeHolidays',
      'ExchangeEarlyCloseDays',
      'ActiveTickers',
      'PreviousDayUpdatedTickers',
      'UpdatedTickers',
    ]);
    t.like(d, { Name: 'USA Stocks', Code: 'US', Country: 'USA', Currency: 'USD', Timezone: 'America/New_York' });
    t.is(typeof d.OperatingMIC, 'string');
    t.false(d.isOpen, 'Friday 21:30 UTC is 16:30 in New York');
    t.deepEqual(d.TradingHours, {
      Open: '09:30:00',
      Close: '16:00:00',
      OpenUTC: '14:30:00',
      CloseUTC: '21:00:00',
      WorkingDays: 'Mon,Tue,Wed,Thu,Fri',
    });
    const hol = listOf(d.ExchangeHolidays);
    t.deepEqual(
      Object.keys(d.ExchangeHolidays),
      hol.map((_, i) => String(i)),
    );
    t.deepEqual(
      hol.map((h) => h.Date),
      [...hol.map((h) => h.Date)].sort(),
      'in date order',
    );
    t.deepEqual(
      hol.find((h) => h.Date === '2026-11-26'),
      { Holiday: 'Thanksgiving Day', Date: '2026-11-26', Type: 'official' },
    );
    t.is(hol.filter((h) => h.Type === 'official').length, 10);
    t.deepEqual(
      hol.filter((h) => h.Type === 'bank').map((h) => [h.Date, h.Holiday]),
      [
        ['2026-10-12', 'Columbus Day'],
        ['2026-11-11', 'Veterans Day'],
      ],
    );
    t.deepEqual(listOf(d.ExchangeEarlyCloseDays), [
      { Holiday: 'Day after Thanksgiving', Date: '2026-11-27', Type: 'official' },
      { Holiday: 'Christmas Eve', Date: '2026-12-24', Type: 'official' },
    ]);
    // an official holiday has no bars; a bank holiday is a session
    t.false(sim.expectedHistory('AAPL.US', '2026-11-01').some((b) => b.date === '2026-11-26'));
    t.true(sim.expectedHistory('AAPL.US', '2026-11-01').some((b) => b.date === '2026-11-11'));

    const lse = (await get(sim, '/exchange-details/LSE', { fmt: 'json', from: '2026-11-01', to: '2026-12-31' })).json;
    const lh = listOf(lse.ExchangeHolidays);
    t.false(
      lh.some((h) => h.Date === '2026-11-26'),
      'Thanksgiving is a London session',
    );
    t.deepEqual(
      lh.map((h) => [h.Date, h.Holiday, h.Type]),
      [
        ['2026-12-25', 'Christmas Day', 'official'],
        ['2026-12-28', 'Boxing Day (substitute day)', 'official'],
      ],
    );
    t.deepEqual(
      listOf(lse.ExchangeEarlyCloseDays).map((h) => h.Date),
      ['2026-12-24', '2026-12-31'],
    );
    t.like(lse.TradingHours, { Open: '08:00:00', Close: '16:30:00', OpenUTC: '08:00:00', CloseUTC: '16:30:00' });

    const xetra = (await get(sim, '/exchange-details/xetra', { from: '2026-05-01', to: '2026-06-30' })).json;
    t.is(xetra.Code, 'XETRA');
    t.is(xetra.Timezone, 'Europe/Berlin');
    t.deepEqual(
      listOf(xetra.ExchangeHolidays).map((h) => [h.Date, h.Type]),
      [
        ['2026-05-01', 'official'],
        ['2026-05-14', 'bank'],
        ['2026-05-25', 'bank'],
        ['2026-06-04', 'bank'],
      ],
    );
    t.deepEqual(xetra.ExchangeEarlyCloseDays, {});
    t.like(xetra.TradingHours, { OpenUTC: '08:00:00', CloseUTC: '16:30:00' }, 'CET on the simulated day');

    // the default range: six months either side of today
    const def = listOf((await get(sim, '/exchange-details/US')).json.ExchangeHolidays).map((h) => h.Date);
    t.true(def[0] >= '2026-05-20' && def.at(-1)! <= '2027-05-20', `${def[0]}..${def.at(-1)}`);
    t.true(def.includes('2026-05-25') && def.includes('2027-01-01'), 'Memorial Day 2026, New Year 2027');
    t.false(def.includes('2027-05-31'), 'Memorial Day 2027 is past the range');
    t.is(sim.usage().byEndpoint['exchange-details'].calls, 20);
  } finally {
    await sim.close();
  }
});

test('/exchange-details: isOpen and UTC hours follow the simulated instant and summer time', async (t) => {
  const sim = await start({ today: '2026-07-20', time: '13:45' });
  try {
    const us = (await get(sim, '/exchange-details/US')).json;
    t.true(us.isOpen, 'Monday 09:45 in New York');
    t.like(us.TradingHours, { OpenUTC: '13:30:00', CloseUTC: '20:00:00' });
    const sw = (await get(sim, '/exchange-details/SW')).json;
    t.true(sw.isOpen);
    t.like(sw.TradingHours, { OpenUTC: '07:00:00', CloseUTC: '15:30:00' });
    sim.setClock('2026-07-20T15:45:00Z');
    t.false((await get(sim, '/exchange-details/SW')).json.isOpen, '17:45 in Zurich');
    t.false((await get(sim, '/exchange-details/LS')).json.isOpen, '16:45 in Lisbon');
    t.true((await get(sim, '/exchange-details/US')).json.isOpen);
    sim.setClock('2026-07-25T15:00:00Z');
    t.false((await get(sim, '/exchange-details/US')).json.isOpen, 'a Saturday');
  } finally {
    await sim.close();
  }
  const thanksgiving = await start({ today: '2026-11-26', time: '15:00' });
  try {
    t.false((await get(thanksgiving, '/exchange-details/US')).json.isOpen, 'Thanksgiving');
    t.true((await get(thanksgiving, '/exchange-details/LSE')).json.isOpen);
  } finally {
    await thanksgiving.close();
  }
});

test('/exchange-details: ticker counts agree with the bulk answers', async (t) => {
  const sim = await start({ time: '10:00' });
  try {
    const early = (await get(sim, '/exchange-details/LSE')).json;
    t.is(early.UpdatedTickers, 0, 'not published at 10:00 UTC');
    const prev = (await get(sim, '/eod-bulk-last-day/LSE', { fmt: 'json', date: '2026-11-19' })).json.length;
    t.is(early.PreviousDayUpdatedTickers, prev);
    sim.setClock('2026-11-20T21:30:00Z');
    for (const ex of EXCHANGES) {
      const d = (await get(sim, `/exchange-details/${ex}`)).json;
      const today = (await get(sim, `/eod-bulk-last-day/${ex}`, { fmt: 'json' })).json.length;
      t.is(d.UpdatedTickers, today, ex);
      t.true(d.UpdatedTickers > 0, ex);
      t.true(d.ActiveTickers >= d.UpdatedTickers, ex);
      t.true(d.PreviousDayUpdatedTickers > 0, ex);
    }
    sim.setClock('2026-11-21T12:00:00Z');
    const saturday = (await get(sim, '/exchange-details/US')).json;
    t.is(saturday.UpdatedTickers, 0);
    t.true(saturday.PreviousDayUpdatedTickers > 0, 'Friday');
  } finally {
    await sim.close();
  }
});

test('/exchange-details: 403 outside the all-in-one plan (free), 404 unknown code, 400 bad range, 402 past the limit', async (t) => {
  const eodOnly = await start({ plan: 'eod-only' });
  try {
    const r = await get(eodOnly, '/exchange-details/US');
    t.is(r.status, 403);
    t.is(r.json.code, 403);
    t.is(eodOnly.usage().calls, 0);
  } finally {
    await eodOnly.close();
  }
  const free = await start({ plan: 'free' });
  try {
    t.is((await get(free, '/exchange-details/US')).status, 403);
  } finally {
    await free.close();
  }
  const sim = await start({ dailyLimit: 12 });
  try {
    const unknownBulk = (await get(sim, '/eod-bulk-last-day/XX')).json;
    for (const code of ['XX', 'NYSE', 'NASDAQ']) {
      const r = await get(sim, `/exchange-details/${code}`);
      t.is(r.status, 404, code);
      t.deepEqual(r.json, unknownBulk, `${code}: the bulk endpoint's 404`);
    }
    for (const q of <Array<Record<string, string>>>[
      { from: '2026-13-01' },
      { to: '20261231' },
      { from: '2026-12-01', to: '2026-11-01' },
      { from: '2010-01-01', to: '2026-01-01' },
      { from: '2020-01-01', to: '2030-01-02' },
    ]) {
      const r = await get(sim, '/exchange-details/US', q);
      t.is(r.status, 400, JSON.stringify(q));
      t.is(r.json.status, 400);
    }
    t.is((await get(sim, '/exchange-details/US', { from: '2020-01-01', to: '2029-12-31' })).status, 200, '10 years');
    t.is(sim.usage().calls, 5, 'errors cost nothing');
    t.is((await get(sim, '/exchange-details/LSE')).status, 200);
    t.is((await get(sim, '/exchange-details/LSE')).status, 402, '5 more would pass 12');
    t.is(sim.usage().calls, 10);
  } finally {
    await sim.close();
  }
});
