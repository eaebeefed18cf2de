// The octave noise the price model is made of, and the market factors stocks move with.
//
// A market factor is the octave noise of its own seed: one per benchmark index (GSPC for
// the US, GDAXI for Xetra and Frankfurt, ...). A stock's log price is its beta times its
// index's factor plus noise of its own, so its daily return is beta x the index's return +
// an idiosyncratic part, and a beta computed from the served series recovers the stock's
// beta (the one its fundamentals report). The index series (reference.ts) is the factor's
// exponential, so its returns are exactly the factor's.
//
// Why memoised per day: every bar of every stock of an exchange reads the same factor value
// of the day; an array lookup keeps the full universe's ~11M bars as fast as before.

import { BASE_DAY } from './constants.js';
import { hashString, S, sym3, u3 } from './hash.js';

export const OCTAVES = 13;
const AMP = new Float64Array(OCTAVES);
const STEP = new Float64Array(OCTAVES);
const INV_STEP = new Float64Array(OCTAVES); // exact: powers of two
for (let k = 0; k < OCTAVES; k++) {
  AMP[k] = 0.5 * Math.sqrt(2 ** k) * (k > 8 ? 0.7 ** (k - 8) : 1);
  STEP[k] = 2 ** k;
  INV_STEP[k] = 1 / 2 ** k;
}

/**
 * Lattice values of the octaves last used, so that walking consecutive days (histories)
 * hashes octave k only every 2^k days instead of every day. Results are bit-identical to
 * the uncached path: same values, same order of additions.
 */
export class NoiseCache {
  readonly j = new Float64Array(OCTAVES).fill(NaN);
  readonly v0 = new Float64Array(OCTAVES);
  readonly v1 = new Float64Array(OCTAVES);
}

/** Sum of the octaves of `seed` on day n: zero mean, daily moves of about 1 (scale by a volatility). */
export function unitNoise(seed: number, n: number, cache?: NoiseCache): number {
  // octave 0: one independent draw per day, with occasional big days (fat tails)
  let z = sym3(seed, S.oct, n);
  if (u3(seed, S.big, n) < 0.015) z *= 3.5;
  let s = AMP[0] * z;
  for (let k = 1; k < OCTAVES; k++) {
    const j = Math.floor(n * INV_STEP[k]);
    const f = (n - j * STEP[k]) * INV_STEP[k];
    let v0: number, v1: number;
    if (cache) {
      if (cache.j[k] !== j) {
        cache.v0[k] = cache.j[k] === j - 1 ? cache.v1[k] : sym3(seed, S.oct + k, j);
        cache.v1[k] = sym3(seed, S.oct + k, j + 1);
        cache.j[k] = j;
      }
      v0 = cache.v0[k];
      v1 = cache.v1[k];
    } else {
      v0 = sym3(seed, S.oct + k, j);
      v1 = sym3(seed, S.oct + k, j + 1);
    }
    s += AMP[k] * (v0 + (v1 - v0) * f);
  }
  return s;
}

/** Daily log volatility of every market factor (an index moves about 0.9% a day). */
export const MARKET_SIGMA = 0.009;

/** Days the memo covers: 1970 .. 2079 (day numbers since 1970-01-01). */
const MEMO_DAYS = 40_000;

/** One benchmark's market factor: log level relative to BASE_DATE, memoised by day. */
export class MarketFactor {
  private readonly memo = new Float64Array(MEMO_DAYS).fill(Number.NaN);
  private readonly seed: number;
  private readonly atBase: number;
  constructor(readonly index: string) {
    this.seed = hashString(`market-factor:${index}`);
    this.atBase = unitNoise(this.seed, BASE_DAY) * MARKET_SIGMA;
  }

  /** log(index level on day n / level on BASE_DATE), before the index's drift. */
  at(n: number): number {
    if (n < 0 || n >= MEMO_DAYS) return unitNoise(this.seed, n) * MARKET_SIGMA - this.atBase;
    let v = this.memo[n]!;
    if (Number.isNaN(v)) {
      v = unitNoise(this.seed, n) * MARKET_SIGMA - this.atBase;
      this.memo[n] = v;
    }
    return v;
  }
}

/** The benchmark index of each exchange (EODHD symbols without `.INDX`), as the pipeline's defaults. */
export const INDEX_OF_EXCHANGE: Record<string, string> = {
  US: 'GSPC',
  LSE: 'FTSE',
  F: 'GDAXI',
  XETRA: 'GDAXI',
  PA: 'FCHI',
  AS: 'AEX',
  BR: 'BFX',
  MC: 'IBEX',
  SW: 'SSMI',
  LS: 'PSI20',
};

const FACTORS = new Map<string, MarketFactor>();

/** The market factor of an index (one instance each: their memos are shared by all stocks). */
export function factorOf(index: string): MarketFactor {
  let f = FACTORS.get(index);
  if (!f) {
    f = new MarketFactor(index);
    FACTORS.set(index, f);
  }
  return f;
}
