/**
 * The simulator's benchmark indices and currency pairs (dev/simulator/reference.ts): the
 * shape of /eod, which days have bars and when they are published, no volume for FX, 404
 * (charged) for an unknown symbol; and the stocks move with their index by their beta.
 */
import test from 'ava';
import { beta } from '../shared/domain/beta.js';
import { loadResponseSchema, validate } from './helpers/openapi.js';
import { get, start } from './helpers/simulator-http.js';

const weekday = (d: string) => new Date(`${d}T00:00Z`).getUTCDay();

test('indices and currency pairs answer /eod as EODHD does', async (t) => {
  const sim = await start({ today: '2026-11-20', time: '21:30' });
  try {
    const eodSchema = loadResponseSchema('eod_ticker.yaml');
    for (const s of ['GSPC', 'FTSE', 'GDAXI', 'FCHI', 'AEX', 'BFX', 'IBEX', 'SSMI', 'PSI20']) {
      const r = await get(sim, `/eod/${s}.INDX`, { fmt: 'json', from: '2025-11-01', to: '2026-11-20' });
      t.is(r.status, 200, s);
      t.deepEqual(validate(eodSchema, r.json), [], s);
      // A session of its home exchange each (~265 in these 12.7 months), a price index: adjusted = close.
      t.true(r.json.length > 255 && r.json.length < 275, `${s}: ${r.json.length} bars`);
      t.true(
        r.json.every(
          (b: { adjusted_close: number; close: number; high: number; low: number; open: number }) =>
            b.adjusted_close === b.close && b.high >= Math.max(b.open, b.close) && b.low <= Math.min(b.open, b.close),
        ),
        s,
      );
    }
    // Christmas: no bar of the S&P 500, nor of the FTSE; Thanksgiving: the FTSE only.
    const gspc = await get(sim, '/eod/GSPC.INDX', { fmt: 'json', from: '2025-11-20', to: '2025-12-31' });
    const ftse = await get(sim, '/eod/FTSE.INDX', { fmt: 'json', from: '2025-11-20', to: '2025-12-31' });
    const dates = (r: { json: Array<{ date: string }> }) => r.json.map((b) => b.date);
    t.false(dates(gspc).includes('2025-12-25'));
    t.false(dates(ftse).includes('2025-12-25'));
    t.false(dates(gspc).includes('2025-11-27'));
    t.true(dates(ftse).includes('2025-11-27'));

    // FX: every weekday (holidays too), no weekend, no volume; pairs are each other's inverse.
    const eur = await get(sim, '/eod/EURUSD.FOREX', { fmt: 'json', from: '2025-12-20', to: '2026-01-05' });
    t.deepEqual(validate(eodSchema, eur.json), []);
    t.deepEqual(dates(eur), [
      '2025-12-22',
      '2025-12-23',
      '2025-12-24',
      '2025-12-25',
      '2025-12-26',
      '2025-12-29',
      '2025-12-30',
      '2025-12-31',
      '2026-01-01',
      '2026-01-02',
      '2026-01-05',
    ]);
    t.true(eur.json.every((b: { volume: number }) => b.volume === 0));
    const usd = await get(sim, '/eod/USDEUR.FOREX', { fmt: 'json', from: '2025-12-20', to: '2026-01-05' });
    eur.json.forEach((b: { close: number }, i: number) => {
      t.true(Math.abs(b.close * usd.json[i].close - 1) < 1e-4);
    });
    // The running day's bar is there at 21:30 UTC, and not before its first update (04:00 UTC).
    const today = await get(sim, '/eod/GBPUSD.FOREX', { fmt: 'json', from: '2026-11-16' });
    t.is(today.json.at(-1).date, '2026-11-20');
    t.true(today.json.every((b: { date: string }) => ![0, 6].includes(weekday(b.date))));

    // Unknown: 404 "Ticker Not Found", charged 1, as for an unknown listing.
    const before = sim.usage().calls;
    for (const s of ['NOPE.INDX', 'XXXUSD.FOREX', 'EUREUR.FOREX']) {
      const r = await get(sim, `/eod/${s}`, { fmt: 'json' });
      t.is(r.status, 404, s);
    }
    t.is(sim.usage().calls, before + 3);
  } finally {
    await sim.close();
  }
});

test("an index's session is published with its home exchange's", async (t) => {
  const sim = await start({ today: '2026-11-20', time: '15:00' });
  try {
    // 15:00 UTC: London's Friday is not published yet (16:30 close + delay), nor New York's.
    const ftse = await get(sim, '/eod/FTSE.INDX', { fmt: 'json', from: '2026-11-16' });
    t.is(ftse.json.at(-1).date, sim.publishedThrough('LSE'));
    t.is(ftse.json.at(-1).date, '2026-11-19');
    const gspc = await get(sim, '/eod/GSPC.INDX', { fmt: 'json', from: '2026-11-16' });
    t.is(gspc.json.at(-1).date, '2026-11-19');
    sim.setClock('2026-11-20T21:30Z');
    const later = await get(sim, '/eod/GSPC.INDX', { fmt: 'json', from: '2026-11-16' });
    t.is(later.json.at(-1).date, '2026-11-20');
  } finally {
    await sim.close();
  }
});

test("a stock's beta over 252 returns recovers its simulated beta", async (t) => {
  const sim = await start({ today: '2026-11-20' });
  try {
    // The well-known names (1-2% daily volatility): an estimate over one year has a standard
    // error of about 0.05-0.15 here, so each within 0.3 and on average within 0.1.
    const names: Array<[string, string]> = [
      ['AAPL.US', 'GSPC'],
      ['MSFT.US', 'GSPC'],
      ['GOOGL.US', 'GSPC'],
      ['BRK-B.US', 'GSPC'],
      ['BP.LSE', 'FTSE'],
      ['HSBA.LSE', 'FTSE'],
      ['SAP.XETRA', 'GDAXI'],
      ['VOW3.XETRA', 'GDAXI'],
      ['SAP.F', 'GDAXI'],
      ['ASML.AS', 'AEX'],
      ['MC.PA', 'FCHI'],
      ['ABI.BR', 'BFX'],
      ['EDP.LS', 'PSI20'],
      ['SAN.MC', 'IBEX'],
      ['NESN.SW', 'SSMI'],
    ];
    const errors: number[] = [];
    for (const [symbol, index] of names) {
      const a = await get(sim, `/eod/${symbol}`, { fmt: 'json', from: '2025-06-01' });
      const i = await get(sim, `/eod/${index}.INDX`, { fmt: 'json', from: '2025-06-01' });
      const series = (r: { json: Array<{ date: string; adjusted_close: number }> }) => ({
        dates: r.json.map((b) => b.date),
        closes: r.json.map((b) => b.adjusted_close),
      });
      const b = beta(series(a), series(i), '2026-11-20');
      const configured = sim.betaOf(symbol);
      t.truthy(b, symbol);
      t.truthy(configured, symbol);
      errors.push(Math.abs(b! - configured!));
      t.true(Math.abs(b! - configured!) < 0.3, `${symbol}: ${b} for ${configured}`);
    }
    const mean = errors.reduce((s, x) => s + x, 0) / errors.length;
    t.true(mean < 0.1, `mean error ${mean}`);
    t.log(`mean absolute error ${mean.toFixed(3)}, largest ${Math.max(...errors).toFixed(3)}`);
  } finally {
    await sim.close();
  }
});
