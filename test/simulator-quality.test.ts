// Tests of the simulator's bad data (dev/simulator/quality.ts): bad ticks of each kind and
// late corrections of first prints, seeded and injected, served by /eod and the bulk
// answer (CSV and JSON) until their correction instant, and the ground truth that lists
// them (badTicks, lateCorrections, trueHistory). The clock is moved with setClock and
// advanceTradingDays; nothing waits on the real clock.

import test from 'ava';
import { CALENDARS } from '../dev/simulator/calendar.js';
import { EXCHANGES, type ExchangeCode } from '../dev/simulator/exchanges.js';
import {
  BAD_TICK_KINDS,
  type BadTick,
  type BadTickKind,
  type EodBar,
  type LateCorrection,
  parseBadTicksArg,
  parseCorrectionsArg,
  type Simulator,
} from '../dev/simulator/index.js';
import { admin, get, start } from './helpers/simulator-http.js';

const DAY_MS = 86_400_000;
const SYMBOL = 'AAPL.US';
const dayNumber = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY_MS;
const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
const addDays = (date: string, n: number) => dateOf(dayNumber(date) + n);
const exchangeOf = (symbol: string) => symbol.slice(symbol.lastIndexOf('.') + 1) as ExchangeCode;
const codeOf = (symbol: string) => symbol.slice(0, symbol.lastIndexOf('.'));
const byDate = (bars: EodBar[]) => new Map(bars.map((b) => [b.date, b]));

/** The sessions of a symbol's exchange in [from, to]. */
function sessions(symbol: string, from: string, to: string): string[] {
  const cal = CALENDARS[EXCHANGES[exchangeOf(symbol)].calendar];
  const out: string[] = [];
  for (let d = dayNumber(from); d <= dayNumber(to); d++) if (cal.isTradingDay(d)) out.push(dateOf(d));
  return out;
}

/** The dates a bad tick serves wrong: its date, and for a stale run the next 11 sessions. */
function tickDates(symbol: string, kind: BadTickKind, date: string): string[] {
  return kind === 'stale' ? sessions(symbol, date, addDays(date, 40)).slice(0, 12) : [date];
}

/** Why `served` is not what a bad tick of `kind` makes of `truth` (prev: the true bar of the session before); null when it is. */
function notAsKind(kind: BadTickKind, served: EodBar | undefined, truth: EodBar, prev: EodBar): string | null {
  if (kind === 'missing') return served === undefined ? null : 'a missing bar is served';
  if (!served) return 'no bar served';
  const near = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;
  const prices = ['open', 'high', 'low', 'close', 'adjusted_close'] as const;
  const same = (keys: ReadonlyArray<keyof EodBar>) => keys.every((k) => served[k] === truth[k]);
  let ok: boolean;
  switch (kind) {
    case 'ohlc_order':
      ok = served.high === truth.low && served.low === truth.high && served.high < served.low;
      ok &&= same(['open', 'close', 'adjusted_close', 'volume']);
      break;
    case 'non_positive':
      ok = served.close === 0 && same(['open', 'high', 'low', 'adjusted_close', 'volume']);
      break;
    case 'unit_x100':
      ok = prices.every((k) => near(served[k], truth[k] * 100, 1e-6 * Math.max(1, truth[k] * 100)));
      ok &&= served.volume === truth.volume;
      break;
    case 'unit_div100':
      ok = prices.every((k) => near(served[k], truth[k] / 100, 1e-8));
      ok &&= served.volume === truth.volume;
      break;
    case 'spike': {
      const k = served.close > truth.close ? 1.6 : 0.4;
      ok = near(served.close, truth.close * k, 0.0001) && near(served.adjusted_close, truth.adjusted_close * k, 0.0001);
      ok &&= served.high >= Math.max(served.open, served.close) && served.low <= Math.min(served.open, served.close);
      ok &&= same(['open', 'volume']);
      break;
    }
    case 'volume_spike':
      ok = near(served.volume, truth.volume * 200, 0.01) && same(prices);
      break;
    case 'zero_volume':
      ok = served.volume === 0 && served.close !== prev.close && same(prices);
      break;
    case 'stale':
      ok = prev.volume > 0 && JSON.stringify({ ...served, date: '' }) === JSON.stringify({ ...prev, date: '' });
      break;
    case 'bad_adjusted':
      ok =
        near(Math.abs(served.adjusted_close / truth.adjusted_close - 1), 0.05, 0.0001 / truth.adjusted_close + 1e-9) &&
        same(['open', 'high', 'low', 'close', 'volume']);
      break;
  }
  return ok ? null : `served ${JSON.stringify(served)} for ${JSON.stringify(truth)} (previous ${JSON.stringify(prev)})`;
}

/** Rows of a CSV answer as objects with numbers (the first column kept as text). */
function csvRows(text: string): Array<Record<string, string | number>> {
  const [head, ...lines] = text.trim().split('\n');
  const keys = head.split(',').map((k) => k.toLowerCase());
  return lines.map((line) =>
    Object.fromEntries(
      line.split(',').map((v, i) => [keys[i], ['code', 'ex', 'date'].includes(keys[i]) ? v : Number(v)]),
    ),
  );
}

/** A symbol's bar of `date` as /eod (JSON, CSV) and the bulk answer (JSON, CSV) serve it; undefined when absent. */
async function servedEverywhere(sim: Simulator, symbol: string, date: string): Promise<Record<string, unknown>> {
  const ex = exchangeOf(symbol);
  const code = codeOf(symbol);
  const eodJson = (await get(sim, `/eod/${symbol}`, { fmt: 'json', from: date, to: date })).json as EodBar[];
  const eodCsv = csvRows((await get(sim, `/eod/${symbol}`, { from: date, to: date })).text);
  const bulkJson = (await get(sim, `/eod-bulk-last-day/${ex}`, { fmt: 'json', date })).json as Array<
    EodBar & { code: string; exchange_short_name: string }
  >;
  const bulkCsv = csvRows((await get(sim, `/eod-bulk-last-day/${ex}`, { date })).text);
  const strip = (r: Record<string, unknown> | undefined) => {
    if (!r) return undefined;
    const { code: _c, ex: _e, exchange_short_name: _x, ...bar } = r;
    return bar;
  };
  return {
    eodJson: eodJson[0],
    eodCsv: eodCsv[0],
    bulkJson: strip(bulkJson.find((r) => r.code === code)),
    bulkCsv: strip(bulkCsv.find((r) => r.code === code)),
  };
}

/** The bar the oracle serves on a date, and that each endpoint serves the same one. */
async function servedBar(t: { deepEqual(a: unknown, b: unknown, m?: string): void }, sim: Simulator, date: string) {
  const expected = sim.expectedHistory(SYMBOL, date, date)[0];
  const all = await servedEverywhere(sim, SYMBOL, date);
  for (const [where, bar] of Object.entries(all)) t.deepEqual(bar, expected, `${where} on ${date}`);
  return expected;
}

// ------------------------------------------------------------------------- on demand, each kind

for (const kind of BAD_TICK_KINDS) {
  test(`an injected ${kind} bad tick is served by /eod and bulk, CSV and JSON, until its correction instant, then the true bar`, async (t) => {
    const sim = await start();
    try {
      // both correct at 2026-11-21 21:15 UTC: publication (16:15 New York) + the days
      const date = kind === 'stale' ? '2026-11-02' : '2026-11-19';
      const days = kind === 'stale' ? 4 : 2;
      const dates = tickDates(SYMBOL, kind, date);
      const before = byDate(sim.expectedHistory(SYMBOL, '2026-10-01'));
      const truth = sim.trueHistory(SYMBOL, '2026-10-01');
      const prev = truth[truth.findIndex((b) => b.date === date) - 1];

      const tick = sim.injectBadTick(SYMBOL, date, kind, { correctedAfterDays: days });
      t.deepEqual(tick, { symbol: SYMBOL, date, kind, correctedOn: '2026-11-21' });
      t.deepEqual(sim.badTicks('2026-10-01', '2026-11-20'), [tick]);

      const served = byDate(sim.expectedHistory(SYMBOL, '2026-10-01'));
      for (const b of truth) {
        if (dates.includes(b.date)) t.is(notAsKind(kind, served.get(b.date), b, prev), null, b.date);
        else t.deepEqual(served.get(b.date), before.get(b.date), `${b.date} is left alone`);
      }
      for (const d of dates) await servedBar(t, sim, d);
      t.deepEqual((await get(sim, `/eod/${SYMBOL}`, { fmt: 'json', from: '2026-10-01' })).json, [...served.values()]);

      sim.setClock('2026-11-21T21:14:59Z');
      t.is(
        notAsKind(kind, sim.expectedHistory(SYMBOL, date, date)[0], truth.find((b) => b.date === date)!, prev),
        null,
      );

      sim.setClock('2026-11-21T21:15:00Z');
      const fixed = byDate(sim.trueHistory(SYMBOL, '2026-10-01'));
      for (const d of dates) t.deepEqual(await servedBar(t, sim, d), fixed.get(d), `${d} corrected`);
    } finally {
      await sim.close();
    }
  });
}

test('an injected bad tick without a correction is still served weeks later, and listed as never corrected', async (t) => {
  const sim = await start();
  try {
    const truth = sim.trueHistory(SYMBOL, '2026-11-18', '2026-11-19');
    t.deepEqual(sim.injectBadTick(SYMBOL, '2026-11-19', 'spike'), {
      symbol: SYMBOL,
      date: '2026-11-19',
      kind: 'spike',
      correctedOn: null,
    });
    sim.advanceTradingDays(25);
    const served = sim.expectedHistory(SYMBOL, '2026-11-19', '2026-11-19')[0];
    const now = sim.trueHistory(SYMBOL, '2026-11-18', '2026-11-19');
    t.is(notAsKind('spike', served, now[1], now[0]), null);
    t.true(Math.abs(served.close / truth[1].close - 1) > 0.5);
    t.is(sim.badTicks('2026-11-19', '2026-11-19')[0].correctedOn, null);
  } finally {
    await sim.close();
  }
});

// ------------------------------------------------------------------------- seeded

test('seeded bad ticks over the full universe are served as their kind says, corrected on their day, persistent ones kept', async (t) => {
  const sim = await start({ universe: 'full', badTicks: 'default' });
  try {
    const from = '2026-10-19';
    const ticks = sim.badTicks(from, '2026-11-20');
    t.true(ticks.length > 100, `${ticks.length} bad ticks in a month`);
    t.deepEqual([...new Set(ticks.map((x) => x.kind))].sort(), [...BAD_TICK_KINDS].sort());
    const check = (tick: BadTick, wrongWanted: boolean) => {
      const served = byDate(sim.expectedHistory(tick.symbol, addDays(from, -10)));
      const truth = sim.trueHistory(tick.symbol, addDays(from, -10));
      const i = truth.findIndex((b) => b.date === tick.date);
      const dates = tickDates(tick.symbol, tick.kind, tick.date).filter((d) => d <= truth[truth.length - 1].date);
      for (const d of dates) {
        const b = truth.find((x) => x.date === d)!;
        const why = notAsKind(tick.kind, served.get(d), b, truth[i - 1]);
        if (wrongWanted) t.is(why, null, `${tick.symbol} ${tick.kind} ${d}`);
        else t.deepEqual(served.get(d), b, `${tick.symbol} ${tick.kind} ${d} corrected`);
      }
    };
    for (const tick of ticks) check(tick, tick.correctedOn === null || tick.correctedOn > sim.today());

    // the bulk answers of the last session carry them too
    const last = ticks.filter((x) => x.date === '2026-11-20');
    t.true(last.length > 0);
    for (const tick of last) {
      const rows = (await get(sim, `/eod-bulk-last-day/${exchangeOf(tick.symbol)}`, { fmt: 'json', date: tick.date }))
        .json as Array<EodBar & { code: string; exchange_short_name: string }>;
      const row = rows.find((r) => r.code === codeOf(tick.symbol));
      const bar = sim.expectedHistory(tick.symbol, tick.date, tick.date)[0];
      if (tick.kind === 'missing') {
        t.is(row, undefined, tick.symbol);
        continue;
      }
      const { code: _c, exchange_short_name: _x, ...rest } = row!;
      t.deepEqual(rest, bar, tick.symbol);
    }

    sim.setClock('2026-11-26T21:30:00Z');
    const fixed = ticks.filter(
      (x) => x.correctedOn !== null && x.correctedOn > '2026-11-20' && x.correctedOn < '2026-11-26',
    );
    const kept = ticks.filter((x) => x.correctedOn === null);
    t.true(fixed.length > 3 && kept.length > 10, `${fixed.length} corrected, ${kept.length} persistent`);
    for (const tick of fixed) check(tick, false);
    for (const tick of kept) check(tick, true);
    // 60% corrected 1-3 days after publication
    const corrected = ticks.filter((x) => x.correctedOn !== null);
    const share = corrected.length / ticks.length;
    t.true(share > 0.45 && share < 0.75, `corrected share ${share}`);
    for (const x of corrected) {
      const lag = dayNumber(x.correctedOn!) - dayNumber(tickDates(x.symbol, x.kind, x.date).at(-1)!);
      t.true(lag >= 1 && lag <= 4, `${x.symbol} ${x.date} corrected ${lag} days after`);
    }
  } finally {
    await sim.close();
  }
});

test("the 'default' rate gives each kind about 1 in 20,000 stock and ETF bars over the full universe", async (t) => {
  const sim = await start({ universe: 'full', badTicks: 'default' });
  try {
    const from = '2026-05-21';
    const to = '2026-11-20';
    const stocks = sim.symbols(['Common Stock', 'ETF']);
    let bars = 0;
    const perExchange = new Map<string, number>();
    for (const s of stocks) perExchange.set(exchangeOf(s), (perExchange.get(exchangeOf(s)) ?? 0) + 1);
    for (const [ex, n] of perExchange) bars += n * sessions(`X.${ex}`, from, to).length;
    const counts = new Map<string, number>();
    for (const x of sim.badTicks(from, to)) counts.set(x.kind, (counts.get(x.kind) ?? 0) + 1);
    // thin listings (about a sixth) are not eligible, hence a lower bound below the rate
    for (const kind of BAD_TICK_KINDS) {
      const n = counts.get(kind) ?? 0;
      const expected = bars / 20_000;
      t.true(n > expected * 0.5 && n < expected * 1.3, `${kind}: ${n} for about ${Math.round(expected)} at most`);
    }
  } finally {
    await sim.close();
  }
});

test('custom rates by kind come out near their rate over the sample and two years, other kinds never', async (t) => {
  const sim = await start({ badTicks: { spike: 0.004, missing: 0.004 } });
  try {
    const from = '2024-11-20';
    const ticks = sim.badTicks(from, '2026-11-20');
    let bars = 0;
    for (const s of sim.symbols(['Common Stock', 'ETF'])) bars += sim.trueHistory(s, from).length;
    for (const kind of ['spike', 'missing']) {
      const n = ticks.filter((x) => x.kind === kind).length;
      t.true(n > bars * 0.004 * 0.5 && n < bars * 0.004 * 1.3, `${kind}: ${n} of ${bars} bars`);
    }
    t.deepEqual([...new Set(ticks.map((x) => x.kind))].sort(), ['missing', 'spike']);
  } finally {
    await sim.close();
  }
});

test('no seeded bad tick on a split, dividend ex-date, flat or zero-volume day, gap ticker or fund, nor two within 30 sessions', async (t) => {
  const rate = 1 / 600; // the highest: ten kinds at 1/600 fill every block of 60 sessions
  const rates = Object.fromEntries(BAD_TICK_KINDS.map((k) => [k, rate]));
  const sim = await start({ badTicks: rates, corrections: { rate: 0.05 }, perMinuteLimit: 100_000 });
  try {
    const from = '2024-11-20';
    const ticks = sim.badTicks(from, '2026-11-20');
    t.true(ticks.length > 1000, `${ticks.length} bad ticks`);
    const funds = new Set(sim.symbols(['FUND']));
    const stocks = new Set(sim.symbols(['Common Stock', 'ETF']));
    const fixes = new Set(sim.lateCorrections(from, '2026-11-20').map((c) => `${c.symbol}|${c.date}`));
    const bySymbol = new Map<string, BadTick[]>();
    for (const x of ticks) bySymbol.set(x.symbol, [...(bySymbol.get(x.symbol) ?? []), x]);
    for (const [symbol, list] of bySymbol) {
      t.false(funds.has(symbol), `${symbol} is a fund`);
      if (!stocks.has(symbol)) continue; // delisted since: its type is not listed any more
      const truth = sim.trueHistory(symbol, addDays(from, -30));
      const dates = truth.map((b) => b.date);
      // a liquid ticker: a bar on every session (thin ones miss 20-35% of them)
      t.deepEqual(dates, sessions(symbol, dates[0], dates[dates.length - 1]), `${symbol} has gaps`);
      const events = new Set<string>();
      for (const p of ['splits', 'div']) {
        const r = await get(sim, `/${p}/${symbol}`, { fmt: 'json', from: addDays(from, -30) });
        for (const e of r.json as Array<{ date: string }>) events.add(e.date);
      }
      const bars = byDate(truth);
      let lastIndex = -Infinity;
      for (const x of list) {
        const i = dates.indexOf(x.date);
        t.true(i - lastIndex > 30, `${symbol}: ${x.date} is ${i - lastIndex} sessions after the previous bad tick`);
        lastIndex = i;
        const own = tickDates(symbol, x.kind, x.date);
        for (const d of own) t.false(events.has(d), `${symbol} ${x.kind} on ${d}, a split or ex-date`);
        for (const d of [dates[i - 1], ...own]) {
          if (d > dates[dates.length - 1]) continue;
          t.true(bars.get(d)!.volume > 0, `${symbol} ${x.kind}: ${d} is a flat zero-volume day`);
          t.false(fixes.has(`${symbol}|${d}`), `${symbol} ${x.kind}: ${d} is also corrected late`);
        }
      }
    }
  } finally {
    await sim.close();
  }
});

// ------------------------------------------------------------------------- admin routes

test('POST /__sim/bad-tick injects a bad tick the API serves; GET /__sim/bad-ticks and /__sim/state list it', async (t) => {
  const sim = await start();
  try {
    const truth = sim.trueHistory(SYMBOL, '2026-11-19', '2026-11-19')[0];
    const r = await admin(sim, 'POST', '/__sim/bad-tick', {
      symbol: SYMBOL,
      date: '2026-11-19',
      kind: 'unit_x100',
      correctedAfterDays: 1,
    });
    t.is(r.status, 200);
    const tick = { symbol: SYMBOL, date: '2026-11-19', kind: 'unit_x100', correctedOn: '2026-11-20' };
    t.deepEqual(r.json, tick);
    // corrected at 2026-11-20 21:15 UTC: the clock (21:30) is past it
    t.deepEqual(await servedBar(t, sim, '2026-11-19'), truth);
    const p = await admin(sim, 'POST', '/__sim/bad-tick', { symbol: 'AAPL', date: '2026-11-19', kind: 'unit_x100' });
    t.is(p.status, 200, 'a bare code is a US symbol; no correctedAfterDays: never corrected');
    t.is(p.json.correctedOn, null);
    t.is(notAsKind('unit_x100', await servedBar(t, sim, '2026-11-19'), truth, truth), null);
    const listed = await admin(sim, 'GET', '/__sim/bad-ticks?from=2026-11-19&to=2026-11-19');
    t.deepEqual(listed.json, [{ ...tick, correctedOn: null }]);
    const state = await admin(sim, 'GET', '/__sim/state');
    t.deepEqual(state.json.dataQuality.injected.badTicks, [{ ...tick, correctedOn: null }]);
    t.deepEqual(state.json.dataQuality.badTicks, {});
  } finally {
    await sim.close();
  }
});

test('injectBadTick and POST /__sim/bad-tick refuse an unknown symbol, kind, a day without a session, with a one-line reason', async (t) => {
  const sim = await start();
  try {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ symbol: 'NOSUCH.US', date: '2026-11-19', kind: 'spike' }, /unknown symbol NOSUCH\.US/],
      [{ symbol: SYMBOL, date: '2026-11-21', kind: 'spike' }, /2026-11-21 is not a session of US \(a weekend\)/],
      [{ symbol: SYMBOL, date: '2026-11-26', kind: 'spike' }, /not a session of US \(a holiday\)/],
      [{ symbol: SYMBOL, date: '2026-13-01', kind: 'spike' }, /date must be YYYY-MM-DD/],
      [{ symbol: SYMBOL, date: '2026-11-19', kind: 'typo' }, /unknown bad tick kind typo: one of ohlc_order, /],
      [{ symbol: SYMBOL, date: '2026-11-19', kind: 'spike', correctedAfterDays: -1 }, /correctedAfterDays must be/],
      [{ symbol: SYMBOL, date: '1970-01-02', kind: 'spike' }, /AAPL\.US was listed on .*, after 1970-01-02/],
    ];
    for (const [body, reason] of cases) {
      const r = await admin(sim, 'POST', '/__sim/bad-tick', body);
      t.is(r.status, 400, JSON.stringify(body));
      t.regex(r.json.message, reason);
      t.false(r.json.message.includes('\n'));
      const e = t.throws(() =>
        sim.injectBadTick(body.symbol as string, body.date as string, body.kind as BadTickKind, {
          correctedAfterDays: body.correctedAfterDays as number | undefined,
        }),
      );
      t.regex(e!.message, reason);
    }
    t.is((await admin(sim, 'POST', '/__sim/bad-tick', [])).status, 400, 'not an object');
    t.deepEqual(sim.badTicks('2026-01-01', '2026-12-31'), [], 'nothing was injected');
  } finally {
    await sim.close();
  }
});

test('POST /__sim/correction serves its first print until the correction instant, then the final bar; GET /__sim/late-corrections lists it', async (t) => {
  const sim = await start();
  try {
    const final = sim.trueHistory(SYMBOL, '2026-11-19', '2026-11-19')[0];
    const close = Math.round(final.high * 1.01 * 10_000) / 10_000;
    const r = await admin(sim, 'POST', '/__sim/correction', {
      symbol: SYMBOL,
      date: '2026-11-19',
      close,
      volume: 1234,
      correctedAfterDays: 1.5,
    });
    t.is(r.status, 200);
    // published 2026-11-19 21:15 UTC, corrected 36 hours later
    t.deepEqual(r.json, { symbol: SYMBOL, date: '2026-11-19', correctedOn: '2026-11-21' });
    const first = {
      ...final,
      high: close,
      close,
      adjusted_close: final.adjusted_close * (close / final.close),
      volume: 1234,
    };
    const served = await servedBar(t, sim, '2026-11-19');
    t.true(Math.abs(served.adjusted_close - first.adjusted_close) < 0.0001);
    t.deepEqual({ ...served, adjusted_close: 0 }, { ...first, adjusted_close: 0 });
    const listed = await admin(sim, 'GET', '/__sim/late-corrections?from=2026-11-19&to=2026-11-19');
    const mine = (listed.json as LateCorrection[]).find((c) => c.symbol === SYMBOL)!;
    t.deepEqual(mine, { symbol: SYMBOL, date: '2026-11-19', correctedOn: '2026-11-21', firstPrint: served, final });

    sim.setClock('2026-11-21T09:14:59Z');
    t.deepEqual(sim.expectedHistory(SYMBOL, '2026-11-19', '2026-11-19')[0], served);
    sim.setClock('2026-11-21T09:15:00Z');
    t.deepEqual(await servedBar(t, sim, '2026-11-19'), sim.trueHistory(SYMBOL, '2026-11-19', '2026-11-19')[0]);
  } finally {
    await sim.close();
  }
});

test('injectCorrection and POST /__sim/correction refuse bad input with a one-line reason', async (t) => {
  const sim = await start();
  try {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ symbol: 'NOSUCH.US', date: '2026-11-19', close: 1, correctedAfterDays: 1 }, /unknown symbol/],
      [{ symbol: SYMBOL, date: '2026-11-22', close: 1, correctedAfterDays: 1 }, /not a session of US/],
      [{ symbol: SYMBOL, date: '2026-11-19', correctedAfterDays: 1 }, /needs the first print's close or volume/],
      [{ symbol: SYMBOL, date: '2026-11-19', close: 0, correctedAfterDays: 1 }, /close must be a number > 0/],
      [{ symbol: SYMBOL, date: '2026-11-19', volume: -5, correctedAfterDays: 1 }, /volume must be a number >= 0/],
      [{ symbol: SYMBOL, date: '2026-11-19', close: 1 }, /correctedAfterDays must be/],
    ];
    for (const [body, reason] of cases) {
      const r = await admin(sim, 'POST', '/__sim/correction', body);
      t.is(r.status, 400, JSON.stringify(body));
      t.regex(r.json.message, reason);
      t.false(r.json.message.includes('\n'));
      const e = t.throws(() =>
        sim.injectCorrection(
          body.symbol as string,
          body.date as string,
          body as { close?: number; volume?: number; correctedAfterDays: number },
        ),
      );
      t.regex(e!.message, reason);
    }
    const r = await admin(sim, 'GET', '/__sim/late-corrections?from=2026-11-20');
    t.is(r.status, 400);
    t.regex(r.json.message, /from and to are required/);
  } finally {
    await sim.close();
  }
});

// ------------------------------------------------------------------------- late corrections

test('seeded late corrections serve the first print until their correction instant and the final bar after', async (t) => {
  const sim = await start({ corrections: { rate: 0.05 } });
  try {
    const all = sim.lateCorrections('2026-11-09', '2026-11-20');
    const seeded = all.filter((c) => dayNumber(c.correctedOn) - dayNumber(c.date) <= 6);
    const pending = seeded.filter((c) => c.correctedOn > sim.today());
    t.true(pending.length > 20, `${pending.length} first prints pending`);
    for (const c of pending) {
      t.deepEqual(sim.expectedHistory(c.symbol, c.date, c.date)[0], c.firstPrint, `${c.symbol} ${c.date}`);
      t.deepEqual(sim.trueHistory(c.symbol, c.date, c.date)[0], c.final);
    }
    sim.setClock('2026-11-27T21:30:00Z');
    const after = sim.lateCorrections('2026-11-09', '2026-11-20');
    for (const c of after.filter((x) => pending.some((p) => p.symbol === x.symbol && p.date === x.date)))
      t.deepEqual(sim.expectedHistory(c.symbol, c.date, c.date)[0], c.final, `${c.symbol} ${c.date} corrected`);
  } finally {
    await sim.close();
  }
});

test('a seeded first print has the volume 5-20% off, a third of them the close 0.2-2% off, OHLC kept consistent', async (t) => {
  const sim = await start({ corrections: 'default' });
  try {
    const from = '2025-11-20';
    const all = sim.lateCorrections(from, '2026-11-20');
    // the 14-day fixes: corrected 14 days after the date, close 0.4% off, 70% of the volume
    const legacy = all.filter((c) => dayNumber(c.correctedOn) - dayNumber(c.date) === 14);
    const seeded = all.filter((c) => dayNumber(c.correctedOn) - dayNumber(c.date) <= 6);
    t.is(legacy.length + seeded.length, all.length);
    let bars = 0;
    for (const s of sim.symbols(['Common Stock', 'ETF', 'FUND']))
      bars += sim.trueHistory(s, from).filter((b) => b.volume > 0).length;
    t.true(seeded.length > bars * 0.002 * 0.7 && seeded.length < bars * 0.002 * 1.3, `${seeded.length} of ${bars}`);
    let closeOff = 0;
    for (const c of seeded) {
      const f = c.firstPrint;
      const v = Math.abs(f.volume / c.final.volume - 1);
      t.true(c.final.volume < 1000 || (v > 0.049 && v < 0.201), `${c.symbol} ${c.date} volume ${v}`);
      t.not(f.volume, c.final.volume);
      t.true(f.high >= Math.max(f.open, f.close) && f.low <= Math.min(f.open, f.close), `${c.symbol} ${c.date}`);
      if (f.close !== c.final.close) {
        closeOff++;
        const x = Math.abs(f.close / c.final.close - 1);
        t.true(
          x > 0.002 - 0.0001 / c.final.close && x < 0.02 + 0.0001 / c.final.close,
          `${c.symbol} ${c.date} close ${x}`,
        );
      }
    }
    t.true(closeOff > seeded.length * 0.2 && closeOff < seeded.length * 0.47, `${closeOff} of ${seeded.length}`);
  } finally {
    await sim.close();
  }
});

// ------------------------------------------------------------------------- 'none'

test("with both options 'none', expectedHistory is trueHistory but for the 14-day fixes' first prints", async (t) => {
  const sim = await start();
  try {
    const from = '2026-08-03';
    t.deepEqual(sim.badTicks(from, '2026-11-20'), []);
    const fixes = sim.lateCorrections(from, '2026-11-20');
    t.true(fixes.length > 0);
    const pending = new Map<string, EodBar>();
    for (const c of fixes) {
      t.is(dayNumber(c.correctedOn) - dayNumber(c.date), 14, 'only the 14-day fixes');
      if (c.correctedOn > sim.today()) pending.set(`${c.symbol}|${c.date}`, c.firstPrint);
    }
    t.true(pending.size > 0);
    for (const s of sim.symbols(['Common Stock', 'ETF', 'FUND'])) {
      const want = sim.trueHistory(s, from).map((b) => pending.get(`${s}|${b.date}`) ?? b);
      t.deepEqual(sim.expectedHistory(s, from), want, s);
    }
  } finally {
    await sim.close();
  }
});

test("the seeded layers change only the bars their ground truth lists; every other bar is as with 'none'", async (t) => {
  const [plain, bad] = await Promise.all([
    start(),
    start({ badTicks: Object.fromEntries(BAD_TICK_KINDS.map((k) => [k, 1 / 1000])), corrections: { rate: 0.02 } }),
  ]);
  try {
    const from = '2026-05-01';
    const touched = new Set<string>();
    for (const x of bad.badTicks(addDays(from, -30), '2026-11-20'))
      for (const d of tickDates(x.symbol, x.kind, x.date)) touched.add(`${x.symbol}|${d}`);
    for (const c of bad.lateCorrections(from, '2026-11-20')) touched.add(`${c.symbol}|${c.date}`);
    let changed = 0;
    for (const s of plain.symbols(['Common Stock', 'ETF', 'FUND'])) {
      const b = byDate(bad.expectedHistory(s, from));
      for (const bar of plain.expectedHistory(s, from)) {
        if (touched.has(`${s}|${bar.date}`)) continue;
        if (JSON.stringify(b.get(bar.date)) !== JSON.stringify(bar)) changed++;
      }
      t.deepEqual(bad.trueHistory(s, from), plain.trueHistory(s, from), s);
    }
    t.is(changed, 0);
    t.true(touched.size > 100);
  } finally {
    await Promise.all([plain.close(), bad.close()]);
  }
});

// ------------------------------------------------------------------------- options

test('the options and CLI values parse, and refuse what is not one with a reason', async (t) => {
  t.is(parseBadTicksArg('none'), 'none');
  t.is(parseBadTicksArg('default'), 'default');
  t.deepEqual(parseBadTicksArg('spike=0.001,missing=1e-4'), { spike: 0.001, missing: 0.0001 });
  t.throws(() => parseBadTicksArg('spike'), { message: /--bad-ticks is none, default or kind=rate/ });
  t.throws(() => parseBadTicksArg('spikes=0.1'), { message: /unknown kind spikes/ });
  t.throws(() => parseBadTicksArg('spike=0.01,missing=0.01'), { message: /add up to 0.02; at most 1\/60/ });
  t.deepEqual(parseCorrectionsArg('0.01'), { rate: 0.01 });
  t.is(parseCorrectionsArg('default'), 'default');
  t.throws(() => parseCorrectionsArg('lots'), { message: /--corrections is none, default or a rate/ });
  await t.throwsAsync(start({ badTicks: { spike: -1 } }), { message: /rate of spike must be a number from 0 to 1/ });
  await t.throwsAsync(start({ corrections: { rate: 0.1, maxDays: 0 } }), { message: /maxDays must be a whole number/ });
});

test("the bulk's extended rows show a bad tick injected after an earlier answer of the same day", async (t) => {
  const sim = await start();
  try {
    const row = async () =>
      (
        (await get(sim, '/eod-bulk-last-day/US', { fmt: 'json', filter: 'extended', symbols: SYMBOL })).json as Array<
          EodBar & { code: string }
        >
      )[0];
    const before = await row();
    t.is(before.date, '2026-11-20');
    sim.injectBadTick(SYMBOL, '2026-11-20', 'volume_spike');
    const after = await row();
    t.is(after.volume, before.volume * 200);
    t.is(after.close, before.close);
  } finally {
    await sim.close();
  }
});
