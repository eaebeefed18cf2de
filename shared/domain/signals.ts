/**
 * The signals of a session (SIGNALS in screen-fields.ts names and describes them): which
 * fired at session t, from the series up to t (none after it) and the indicators of t and of
 * the session before. A crossing fires on the session where the relation changes (t's values
 * on the new side, t-1's not), never on the days after; with no row at t-1 (fewer than 200
 * bars then) no crossing fires. Highs and lows are of adjusted closes over the sessions
 * before t: a session with fewer before it than the window fires neither.
 */
import { SIGNALS } from './screen-fields.js';

/** What a crossing compares (an IndicatorRow has them all). */
export interface CrossingValues {
  sma_50: number | null;
  sma_200: number | null;
  rsi_14: number | null;
  macd: number | null;
  macd_signal: number | null;
}

export interface SignalInputs {
  /** Adjusted closes, oldest first, through t at least. */
  close: ArrayLike<number>;
  t: number;
  /** The indicators of t, and of t-1 (null: no row that session). */
  now: CrossingValues;
  prev: CrossingValues | null;
  /** The session's derived figures (figures.ts). */
  gapPct: number | null;
  relativeVolume: number | null;
  /** Shareholders' equity of the latest balance sheet public on the session. */
  bookValue: number | null;
  /** The close in the major unit of the quote currency, and the analysts' target price when it is in that currency (else null). */
  closeMajor: number | null;
  targetPrice: number | null;
}

/** Sessions before t the highs and lows look at. */
export const HIGH_LOW_WINDOWS = { '50d': 49, '200d': 199, '52w': 251 } as const;
export const GAP_PCT = 4;
export const UNUSUAL_VOLUME = 2;
export const RSI_LOW = 30;
export const RSI_HIGH = 70;

const crossedAbove = (a: number | null, b: number | null, pa: number | null, pb: number | null): boolean =>
  a !== null && b !== null && pa !== null && pb !== null && a > b && pa <= pb;
const crossedBelow = (a: number | null, b: number | null, pa: number | null, pb: number | null): boolean =>
  a !== null && b !== null && pa !== null && pb !== null && a < b && pa >= pb;

const NAMES = new Set(SIGNALS.map((s) => s.name));
const name = (n: string): string => {
  if (!NAMES.has(n)) throw new Error(`signal ${n} is not in SIGNALS`);
  return n;
};
// Checked once against the contract: a signal written is one a screen can ask for.
const S = {
  golden: name('golden_cross'),
  death: name('death_cross'),
  hi52: name('new_52w_high'),
  lo52: name('new_52w_low'),
  rsiLow: name('rsi_below_30'),
  rsiHigh: name('rsi_above_70'),
  macdUp: name('macd_cross_up'),
  macdDown: name('macd_cross_down'),
  above200: name('price_cross_above_sma_200'),
  below200: name('price_cross_below_sma_200'),
  volume: name('unusual_volume'),
  gapUp: name('gap_up'),
  gapDown: name('gap_down'),
  hi50: name('50d_new_hi'),
  lo50: name('50d_new_lo'),
  hi200: name('200d_new_hi'),
  lo200: name('200d_new_lo'),
  bookPos: name('bookvalue_pos'),
  bookNeg: name('bookvalue_neg'),
  wallHi: name('wallstreet_hi'),
  wallLo: name('wallstreet_lo'),
};

/**
 * The names of the signals that fired at session t, in SIGNALS' order, into `out` (emptied
 * first: calc-indicators passes one array for every session), which is returned.
 */
export function signalsAt(x: SignalInputs, out: string[] = []): string[] {
  out.length = 0;
  const { now, prev, close, t } = x;
  const c = close[t]!;
  if (prev !== null) {
    if (crossedAbove(now.sma_50, now.sma_200, prev.sma_50, prev.sma_200)) out.push(S.golden);
    if (crossedBelow(now.sma_50, now.sma_200, prev.sma_50, prev.sma_200)) out.push(S.death);
  }
  // One pass back over the 251 sessions before t gives the three windows' extremes.
  let hi = -Infinity;
  let lo = Infinity;
  let hi50 = false;
  let lo50 = false;
  let hi200 = false;
  let lo200 = false;
  let hi52 = false;
  let lo52 = false;
  const deepest = Math.max(0, t - HIGH_LOW_WINDOWS['52w']);
  for (let k = t - 1, seen = 1; k >= deepest; k--, seen++) {
    const v = close[k]!;
    if (v > hi) hi = v;
    if (v < lo) lo = v;
    if (seen === HIGH_LOW_WINDOWS['50d']) {
      hi50 = c > hi;
      lo50 = c < lo;
    } else if (seen === HIGH_LOW_WINDOWS['200d']) {
      hi200 = c > hi;
      lo200 = c < lo;
    } else if (seen === HIGH_LOW_WINDOWS['52w']) {
      hi52 = c > hi;
      lo52 = c < lo;
    }
  }
  if (hi52) out.push(S.hi52);
  if (lo52) out.push(S.lo52);
  if (prev !== null) {
    if (now.rsi_14 !== null && prev.rsi_14 !== null) {
      if (now.rsi_14 < RSI_LOW && prev.rsi_14 >= RSI_LOW) out.push(S.rsiLow);
      if (now.rsi_14 > RSI_HIGH && prev.rsi_14 <= RSI_HIGH) out.push(S.rsiHigh);
    }
    if (crossedAbove(now.macd, now.macd_signal, prev.macd, prev.macd_signal)) out.push(S.macdUp);
    if (crossedBelow(now.macd, now.macd_signal, prev.macd, prev.macd_signal)) out.push(S.macdDown);
    if (t >= 1) {
      const pc = close[t - 1]!;
      if (crossedAbove(c, now.sma_200, pc, prev.sma_200)) out.push(S.above200);
      if (crossedBelow(c, now.sma_200, pc, prev.sma_200)) out.push(S.below200);
    }
  }
  if (x.relativeVolume !== null && x.relativeVolume >= UNUSUAL_VOLUME) out.push(S.volume);
  if (x.gapPct !== null && x.gapPct >= GAP_PCT) out.push(S.gapUp);
  if (x.gapPct !== null && x.gapPct <= -GAP_PCT) out.push(S.gapDown);
  if (hi50) out.push(S.hi50);
  if (lo50) out.push(S.lo50);
  if (hi200) out.push(S.hi200);
  if (lo200) out.push(S.lo200);
  if (x.bookValue !== null && x.bookValue > 0) out.push(S.bookPos);
  if (x.bookValue !== null && x.bookValue < 0) out.push(S.bookNeg);
  if (x.closeMajor !== null && x.targetPrice !== null) {
    if (x.closeMajor > x.targetPrice) out.push(S.wallHi);
    if (x.closeMajor < x.targetPrice) out.push(S.wallLo);
  }
  return out;
}
