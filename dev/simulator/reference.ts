// Benchmark indices (/eod/{IDX}.INDX) and currency pairs (/eod/{PAIR}.FOREX), as EODHD serves them.
//
// Indices: each is the exponential of its market factor (factors.ts) with a drift, so that
// the stocks of the exchanges it serves move with it by their beta. Bars on its home
// exchange's sessions (GDAXI: Xetra's), published with that exchange's bars; price indices
// (no dividends), so adjusted_close = close; a volume (EODHD has one for the indices here).
//
// Forex: one level per currency in US dollars, each its own octave noise (0.5% a day);
// a pair's close is the ratio of its two levels. A bar every Monday to Friday, holidays
// included, none on a weekend (the market closes from Friday 22:00 to Sunday 22:00 UTC and
// EODHD has no Saturday bar); EODHD's day ends at 23:59 UTC and it updates every 4 hours,
// so the running day's bar is there from 04:00 UTC (the simulator serves its final values
// at once). No volume: EODHD has none for FX (0). adjusted_close = close.

import { CALENDARS } from './calendar.js';
import { DAY_MS } from './clock.js';
import { BASE_DAY } from './constants.js';
import { fmtDate, isWeekend } from './dates.js';
import { EXCHANGES, type ExchangeCode } from './exchanges.js';
import { factorOf, NoiseCache, unitNoise } from './factors.js';
import { gauss3, hashString } from './hash.js';
import type { EodBar } from './market.js';

export interface Index {
  code: string;
  /** whose calendar and publication it follows */
  home: ExchangeCode;
  /** level on BASE_DATE */
  base: number;
  currency: string;
  /** typical daily volume (0: none) */
  volume: number;
}

export const INDICES: Record<string, Index> = {
  GSPC: { code: 'GSPC', home: 'US', base: 5900, currency: 'USD', volume: 3.2e9 },
  FTSE: { code: 'FTSE', home: 'LSE', base: 8200, currency: 'GBP', volume: 7.5e8 },
  GDAXI: { code: 'GDAXI', home: 'XETRA', base: 19_000, currency: 'EUR', volume: 6.5e7 },
  FCHI: { code: 'FCHI', home: 'PA', base: 7300, currency: 'EUR', volume: 8.0e7 },
  AEX: { code: 'AEX', home: 'AS', base: 880, currency: 'EUR', volume: 9.0e7 },
  BFX: { code: 'BFX', home: 'BR', base: 4200, currency: 'EUR', volume: 1.5e7 },
  IBEX: { code: 'IBEX', home: 'MC', base: 11_700, currency: 'EUR', volume: 1.6e8 },
  SSMI: { code: 'SSMI', home: 'SW', base: 11_600, currency: 'CHF', volume: 2.5e7 },
  PSI20: { code: 'PSI20', home: 'LS', base: 6400, currency: 'EUR', volume: 1.2e8 },
};

const INDEX_DRIFT = 0.06;

/** US dollars per unit on BASE_DATE, for the currencies a universe may quote in. */
export const USD_PER_UNIT: Record<string, number> = {
  USD: 1,
  EUR: 1.055,
  GBP: 1.255,
  CHF: 1.132,
  JPY: 0.00648,
  CAD: 0.716,
  AUD: 0.651,
  SEK: 0.0911,
  NOK: 0.0903,
  DKK: 0.1414,
  PLN: 0.243,
  HKD: 0.1285,
  ZAR: 0.0551,
  ILS: 0.268,
};
const FX_SIGMA = 0.005;
/** The running day's FX bar is served from its first update after midnight UTC. */
const FX_FIRST_UPDATE_MS = 4 * 3_600_000;

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
/** FX quotes keep 6 significant digits or so (USDJPY 154.321, EURUSD 1.05512). */
function roundFx(x: number): number {
  const digits = Math.max(4, 6 - Math.ceil(Math.log10(Math.max(x, 1e-9))));
  const f = 10 ** Math.min(digits, 10);
  return Math.round(x * f) / f;
}

/** `GSPC.INDX` -> its index, else undefined (case-insensitive, as EODHD). */
export function indexOf(symbol: string): Index | undefined {
  const m = /^([A-Z0-9]+)\.INDX$/i.exec(symbol);
  return m ? INDICES[m[1]!.toUpperCase()] : undefined;
}

/** `EURUSD.FOREX` -> ['EUR', 'USD'] when both are known and differ, else undefined. */
export function pairOf(symbol: string): [string, string] | undefined {
  const m = /^([A-Z]{3})([A-Z]{3})\.FOREX$/i.exec(symbol);
  if (!m) return undefined;
  const a = m[1]!.toUpperCase();
  const b = m[2]!.toUpperCase();
  return a !== b && a in USD_PER_UNIT && b in USD_PER_UNIT ? [a, b] : undefined;
}

/** Index level (close) on day n. */
export function indexLevel(ix: Index, n: number): number {
  return ix.base * Math.exp((INDEX_DRIFT * (n - BASE_DAY)) / 365.25 + factorOf(ix.code).at(n));
}

/**
 * The index's bars with a date in [from, to], through `through` (its home exchange's last
 * published session: the caller knows the clock).
 */
export function indexHistory(ix: Index, from: number, to: number, through: number): EodBar[] {
  const cal = CALENDARS[EXCHANGES[ix.home].calendar];
  const seed = hashString(`index:${ix.code}`);
  const out: EodBar[] = [];
  const end = Math.min(to, through);
  for (let d = cal.onOrAfter(from); d <= end; d = cal.next(d)) {
    const close = indexLevel(ix, d);
    const prev = indexLevel(ix, cal.prev(d));
    const open = prev * Math.exp(gauss3(seed, 1, d) * 0.002);
    const high = Math.max(open, close) * Math.exp(Math.abs(gauss3(seed, 2, d)) * 0.004);
    const low = Math.min(open, close) * Math.exp(-Math.abs(gauss3(seed, 3, d)) * 0.004);
    const c = round4(close);
    out.push({
      date: fmtDate(d),
      open: round4(open),
      high: round4(high),
      low: round4(low),
      close: c,
      adjusted_close: c,
      volume: ix.volume ? Math.round(ix.volume * Math.exp(0.25 * gauss3(seed, 4, d))) : 0,
    });
  }
  return out;
}

/** US dollars per unit of a currency on day n. */
function usdPerUnit(cur: string, n: number, cache?: NoiseCache): number {
  if (cur === 'USD') return 1;
  const seed = hashString(`fx:${cur}`);
  return USD_PER_UNIT[cur]! * Math.exp((unitNoise(seed, n, cache) - unitNoise(seed, BASE_DAY)) * FX_SIGMA);
}

/** The last day with an FX bar at instant `now` (a weekday whose 04:00 UTC has passed). */
export function fxThrough(now: number): number {
  let d = Math.floor((now - FX_FIRST_UPDATE_MS) / DAY_MS);
  while (isWeekend(d)) d--;
  return d;
}

/** Bars of the pair base/quote (close = quote units per base unit) with a date in [from, to], at instant `now`. */
export function forexHistory(pair: [string, string], from: number, to: number, now: number): EodBar[] {
  const [base, quote] = pair;
  const seed = hashString(`fx-bar:${base}${quote}`);
  const ca = new NoiseCache();
  const cb = new NoiseCache();
  const out: EodBar[] = [];
  const end = Math.min(to, fxThrough(now));
  let prev = NaN;
  for (let d = from; d <= end; d++) {
    if (isWeekend(d)) continue;
    const close = usdPerUnit(base, d, ca) / usdPerUnit(quote, d, cb);
    // The open is the previous weekday's close (FX trades round the clock) moved a little.
    if (Number.isNaN(prev)) {
      let p = d - 1;
      while (isWeekend(p)) p--;
      prev = usdPerUnit(base, p) / usdPerUnit(quote, p);
    }
    const open = prev * Math.exp(gauss3(seed, 1, d) * 0.0005);
    const high = Math.max(open, close) * Math.exp(Math.abs(gauss3(seed, 2, d)) * 0.002);
    const low = Math.min(open, close) * Math.exp(-Math.abs(gauss3(seed, 3, d)) * 0.002);
    const c = roundFx(close);
    out.push({
      date: fmtDate(d),
      open: roundFx(open),
      high: roundFx(high),
      low: roundFx(low),
      close: c,
      adjusted_close: c,
      volume: 0,
    });
    prev = close;
  }
  return out;
}
