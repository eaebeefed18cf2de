// The price model: a deterministic, O(1)-per-bar OHLCV generator.
//
// Why not a random walk: a walk needs every earlier step to know today's price, so one bar
// would cost O(history) and a bulk answer for 21,817 tickers would be far too slow. The
// log price here is instead a sum of "value noise" octaves over the calendar day number:
// octave k draws a hashed random value every 2^k days and interpolates linearly between
// them, with an amplitude growing like sqrt(2^k). The sum behaves like a random walk (daily
// moves of the chosen volatility, multi-year swings), yet any day is ~25 hashes away.
// The level is pinned so that the close on BASE_DATE equals the ticker's base price.
//
// What this module knows: the "economic" price level (before splits), the shape of one
// candle (open gap, high/low wicks, volume), gaps and flat days. What it does not: splits
// and dividends (corporate-actions.ts), the simulated clock and adjusted prices (market.ts).
//
// Realism knobs, per ticker, all from its seed:
// - a beta (0.3 - 1.8) on its exchange's benchmark index (factors.ts): the log price is
//   beta x the index's market factor + the listing's own noise, sized so that the total
//   daily volatility stays near the ticker's;
// - base price across penny (0.01) to four-digit levels; LSE GBX listings quote in pence;
// - daily volatility 0.8% - 7% (penny stocks the wildest), a drift, occasional big days;
// - volume around a per-ticker average, higher on big moves;
// - thin tickers (35% on Frankfurt, ~8% elsewhere): no bar on 20-35% of trading days and
//   more zero-volume flat candles (O = H = L = C = previous close, volume 0); liquid
//   tickers get a flat candle on ~0.3% of days.

import { BASE_DAY } from './constants.js';
import { factorOf, INDEX_OF_EXCHANGE, MARKET_SIGMA, type MarketFactor, NoiseCache, unitNoise } from './factors.js';
import { gauss3, logUniform, S, u2, u3 } from './hash.js';
import type { Listing } from './universe.js';

export interface PriceParams {
  mu: number; // log of the close on BASE_DATE (quote units), before later splits
  sigma: number; // daily log volatility, in all (candle shapes and volumes are sized on it)
  idio: number; // daily log volatility of the listing's own noise, beside beta x its index's
  market: MarketFactor; // the factor of its exchange's benchmark index (factors.ts)
  drift: number; // annual log drift
  noiseAtBase: number; // octave sum on BASE_DATE, subtracted to pin the level there
  avgVolume: number;
  thin: boolean;
  gapProb: number; // share of trading days without a bar
  flatProb: number; // share of zero-volume flat candles
  major: number; // quote units per currency major unit (100 for GBX)
  sharesOut: number; // shares outstanding on BASE_DATE
  beta: number;
  divFreq: 0 | 1 | 2 | 4;
  divYield: number; // annual
  divMonth: number; // first ex-dividend month offset (0 .. 12/freq - 1)
  divDom: number; // day of month of the ex-date, before jitter and holiday shift
}

/** Exchanges whose volumes come with decimals. */
export const DECIMAL_VOLUMES: ReadonlySet<string> = new Set(['F']);

const DIV_PAYERS: Record<string, number> = {
  US: 0.35,
  LSE: 0.55,
  F: 0.25,
  XETRA: 0.45,
  PA: 0.45,
  AS: 0.45,
  BR: 0.45,
  LS: 0.45,
  MC: 0.5,
  SW: 0.55,
};
const VOLUME_RANGE: Record<string, [number, number]> = {
  US: [5e3, 3e7],
  LSE: [2e3, 1e7],
  F: [10, 2e4],
  XETRA: [1e3, 3e6],
  PA: [500, 3e6],
  AS: [500, 3e6],
  BR: [300, 1e6],
  LS: [300, 1e6],
  MC: [500, 3e6],
  SW: [300, 2e6],
};

export function makePriceParams(l: Listing): PriceParams {
  const s = l.seed;
  const u = (i: number) => u2(s, S.price + i);
  const pennyShare = l.exchange === 'F' ? 0.2 : l.exchange === 'US' ? 0.1 : 0.08;
  const bigShare = 0.03;
  const tier = l.wellKnown ? 0.5 + 0.5 * u(0) : u(0);
  // Price tiers in the currency's major unit. London quotes lower in pounds (GBX listings
  // then show them in pence: 20p .. 15,000p), the rest spans cents to four digits.
  const scale = l.exchange === 'LSE' ? 0.1 : 1;
  let majorPrice: number, sigma: number;
  if (l.wellKnown) {
    majorPrice = logUniform(u(1), 30, 600) * scale;
    sigma = 0.01 + 0.01 * u(2);
  } else if (tier < pennyShare) {
    majorPrice = logUniform(u(1), 0.02, 1) * scale;
    sigma = 0.035 + 0.035 * u(2);
  } else if (tier < 1 - bigShare) {
    majorPrice = logUniform(u(1), 1, 250) * scale;
    sigma = 0.01 + 0.02 * u(2);
  } else {
    majorPrice = logUniform(u(1), 250, 3500) * (l.exchange === 'LSE' ? 0.05 : 1);
    sigma = 0.008 + 0.012 * u(2);
  }
  const major = l.currency === 'GBX' ? 100 : 1;
  const thinShare = l.exchange === 'F' ? 0.35 : l.exchange === 'XETRA' ? 0.1 : 0.08;
  const thin = u(3) < thinShare;
  const [vlo, vhi] = VOLUME_RANGE[l.exchange] ?? [500, 1e6];
  let avgVolume = logUniform(u(4), vlo, vhi) * (tier < pennyShare ? 5 : 1);
  if (thin) avgVolume = Math.max(20, avgVolume / 20);
  const mcap = logUniform(u(5), 2e7, 5e11) * (tier >= 1 - bigShare ? 3 : tier < pennyShare ? 0.05 : 1);
  const payer = u(6) < (DIV_PAYERS[l.exchange] ?? 0.4) * (tier < pennyShare ? 0.1 : 1);
  let divFreq: 0 | 1 | 2 | 4 = 0;
  if (payer) {
    const f = u(7);
    if (l.exchange === 'US') divFreq = 4;
    else if (l.exchange === 'LSE') divFreq = f < 0.6 ? 2 : 4;
    else divFreq = f < 0.6 ? 1 : f < 0.85 ? 2 : 4;
  }
  const beta = Math.round((0.3 + 1.5 * u(10)) * 1000) / 1000;
  // The listing's own noise keeps its total volatility near sigma, and never below half of it
  // (a low-volatility, high-beta stock is then a little wilder than sigma says).
  const idio = Math.sqrt(Math.max(sigma * sigma - (beta * MARKET_SIGMA) ** 2, 0.25 * sigma * sigma));
  const p: PriceParams = {
    mu: Math.log(majorPrice * major),
    sigma,
    idio,
    market: factorOf(INDEX_OF_EXCHANGE[l.exchange] ?? 'GSPC'),
    drift: -0.04 + 0.12 * u(8),
    noiseAtBase: 0,
    avgVolume,
    thin,
    gapProb: thin ? 0.2 + 0.15 * u(9) : 0,
    flatProb: thin ? 0.05 : 0.003,
    major,
    sharesOut: Math.max(1e5, Math.round(mcap / majorPrice)),
    beta,
    divFreq,
    divYield: 0.005 + 0.065 * u(11),
    divMonth: divFreq ? Math.floor(u(12) * (12 / divFreq)) : 0,
    divDom: 1 + Math.floor(u(13) * 28),
  };
  p.noiseAtBase = noise(p, s, BASE_DAY);
  return p;
}

/** The listing's own octave noise on day n (zero mean), scaled by its idiosyncratic volatility. */
function noise(p: PriceParams, seed: number, n: number, cache?: NoiseCache): number {
  return unitNoise(seed, n, cache) * p.idio;
}

/** Economic (split-free) close level on day n, ignoring flat days. Pass a cache when walking days in order. */
export function econLevel(l: Listing, n: number, cache?: NoiseCache): number {
  const p = l.params;
  return Math.exp(
    p.mu + (p.drift * (n - BASE_DAY)) / 365.25 + noise(p, l.seed, n, cache) - p.noiseAtBase + p.beta * p.market.at(n),
  );
}

/** Trend level (no noise): what dividends are sized on, so that they are sticky. */
export function trendLevel(l: Listing, n: number): number {
  const p = l.params;
  return Math.exp(p.mu + (p.drift * (n - BASE_DAY)) / 365.25);
}

export function isFlatDay(l: Listing, n: number): boolean {
  return u3(l.seed, S.flat, n) < l.params.flatProb;
}

/** No bar on this trading day (thin tickers); never on the listing day. */
export function isGapDay(l: Listing, n: number): boolean {
  return n !== l.listDay && l.params.gapProb > 0 && u3(l.seed, S.noBar, n) < l.params.gapProb;
}

export function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** Positive, 4-decimal price. */
export function px(x: number): number {
  const r = Math.round(x * 10_000) / 10_000;
  return r > 0 ? r : 0.0001;
}

export { NoiseCache };

export interface RawBar {
  day: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/**
 * One candle from the previous and current economic closes and the split multiplier of
 * the day. Rounding is monotone, so high >= max(open, close) and low <= min(open, close)
 * survive it.
 */
export function makeBar(l: Listing, n: number, prevEcon: number, econ: number, flat: boolean, mult: number): RawBar {
  const p = l.params;
  const close = econ * mult;
  if (flat) {
    const c = px(close);
    return { day: n, open: c, high: c, low: c, close: c, volume: 0 };
  }
  const open = prevEcon * mult * Math.exp(gauss3(l.seed, S.gap, n) * p.sigma * 0.35);
  const wickHi = Math.abs(gauss3(l.seed, S.hi, n)) * p.sigma * 0.5;
  const wickLo = Math.abs(gauss3(l.seed, S.lo, n)) * p.sigma * 0.5;
  const high = Math.max(open, close) * Math.exp(wickHi);
  const low = Math.min(open, close) * Math.exp(-wickLo);
  const move = Math.abs(Math.log(close / open)) / p.sigma;
  const raw = p.avgVolume * Math.exp(0.6 * gauss3(l.seed, S.vol, n)) * (0.6 + 0.4 * move);
  // Some exchanges report fractional volumes (EODHD's answers carry 1182479.74).
  const volume = DECIMAL_VOLUMES.has(l.exchange)
    ? Math.max(0.01, Math.round(raw * 100) / 100)
    : Math.max(1, Math.round(raw));
  return { day: n, open: px(open), high: px(high), low: px(low), close: px(close), volume };
}
