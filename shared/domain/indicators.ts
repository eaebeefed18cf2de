/**
 * The 31 technical-indicator columns of `technical_indicators` (see
 * docs/indicators-reference.md), computed at the latest bar of one asset.
 *
 * Every TA-Lib indicator here reproduces TA-Lib C's own arithmetic (same seeding, same
 * loop order, same zero tests), because the Wilder/EMA recursions carry their seed all
 * the way to the last bar: a textbook formula with a different seed, or a zero test with
 * a different threshold, is off by far more than the 1e-6 agreement we promise. TA-Lib is
 * always run as the npm `talib` package runs it: startIdx 0, endIdx n-1, unstable period 0,
 * default compatibility.
 *
 * Speed: all work happens in module-level Float64Array scratch buffers (sized MAX_BARS)
 * so a call allocates nothing but the result row; each indicator is one pass at most.
 * The function is not reentrant across threads, which JavaScript never asks of it.
 */

export interface Bars {
  date?: string[];
  /** No column reads the open: a caller need not give it (calc-indicators does not read it). */
  open?: ArrayLike<number>;
  high: ArrayLike<number>;
  low: ArrayLike<number>;
  close: ArrayLike<number>;
  volume: ArrayLike<number>;
}

export const INDICATOR_COLUMNS = [
  'sma_50',
  'sma_200',
  'ema_12',
  'ema_26',
  'wma_20',
  'rsi_14',
  'stoch_k',
  'stoch_d',
  'stoch_rsi',
  'cci_20',
  'macd',
  'macd_signal',
  'macd_histogram',
  'dmi_plus',
  'dmi_minus',
  'adx',
  'atr_14',
  'volatility',
  'std_dev',
  'bb_upper',
  'bb_middle',
  'bb_lower',
  'bb_bandwidth',
  'sar',
  'beta',
  'slope',
  'avg_volume_30',
  'avg_volume_90',
  'week_52_high',
  'week_52_low',
  'current_price',
] as const;

export type IndicatorColumn = (typeof INDICATOR_COLUMNS)[number];
export type IndicatorRow = Record<IndicatorColumn, number | null>;

/** An asset with fewer bars gets no row. */
export const MIN_BARS = 200;
/** Only the most recent MAX_BARS bars are used. */
export const MAX_BARS = 500;

const WEEK_52_BARS = 252;

// TA-Lib's TA_IS_ZERO / TA_IS_ZERO_OR_NEG (ta_utility.h): a fixed absolute 1e-8, not an
// exact comparison, so a penny stock's tiny ranges are treated as zero exactly where TA-Lib does.
const TA_EPSILON = 0.00000001;
const isZero = (v: number): boolean => -TA_EPSILON < v && v < TA_EPSILON;
const isZeroOrNeg = (v: number): boolean => v < TA_EPSILON;

// TA-Lib's PER_TO_K.
const perToK = (period: number): number => 2.0 / (period + 1);

// Scratch buffers. The open is never needed by any of the 31 columns, so it is not copied.
const H = new Float64Array(MAX_BARS);
const L = new Float64Array(MAX_BARS);
const C = new Float64Array(MAX_BARS);
const V = new Float64Array(MAX_BARS);
const RSI = new Float64Array(MAX_BARS);
const FAST_K = new Float64Array(MAX_BARS);
const SLOW_K = new Float64Array(MAX_BARS);
// Multi-value results (so the helpers allocate nothing).
const OUT = new Float64Array(4);

/**
 * TA_INT_SMA's running total (add the newest, emit, subtract the trailing), started at
 * `start`. Returns the value at the last index; fills `dst` from start+period-1 on when given.
 */
function sma(src: Float64Array, start: number, n: number, period: number, dst: Float64Array | null): number {
  let total = 0;
  let i = start;
  const firstOut = start + period - 1;
  while (i < firstOut) total += src[i++];
  let trailing = start;
  let out = NaN;
  while (i < n) {
    total += src[i];
    out = total / period;
    total -= src[trailing++];
    if (dst !== null) dst[i] = out;
    i++;
  }
  return out;
}

/** TA_EMA (default compatibility): seeded with the SMA of the first `period` values. */
function ema(src: Float64Array, n: number, period: number): number {
  const k = perToK(period);
  let sum = 0;
  let i = 0;
  while (i < period) sum += src[i++];
  let prev = sum / period;
  while (i < n) prev = (src[i++] - prev) * k + prev;
  return prev;
}

/**
 * TA_WMA keeps a running weighted sum and a running plain sum rather than re-weighting the
 * window; the rounding of that running form is what TA-Lib outputs, so we keep it too.
 */
function wma(src: Float64Array, n: number, period: number): number {
  const divider = (period * (period + 1)) >> 1;
  let periodSub = 0;
  let periodSum = 0;
  let inIdx = 0;
  let trailingIdx = 0;
  let w = 1;
  while (inIdx < period - 1) {
    const v = src[inIdx++];
    periodSub += v;
    periodSum += v * w;
    w++;
  }
  let trailingValue = 0;
  let out = NaN;
  while (inIdx < n) {
    const v = src[inIdx++];
    periodSub += v;
    periodSub -= trailingValue;
    periodSum += v * period;
    trailingValue = src[trailingIdx++];
    out = periodSum / divider;
    periodSum -= periodSub;
  }
  return out;
}

/**
 * TA_RSI into dst[period..n-1]. The first averages are plain means of the first `period`
 * changes; afterwards TA-Lib multiplies by (period-1), adds, then divides, in that order.
 * A zero (|x| < 1e-8) gain+loss gives 0, not 50 and not NaN.
 */
function rsiSeries(src: Float64Array, n: number, period: number, dst: Float64Array): void {
  let today = 0;
  let prevValue = src[today];
  let prevGain = 0;
  let prevLoss = 0;
  today++;
  for (let i = period; i > 0; i--) {
    const v = src[today++];
    const d = v - prevValue;
    prevValue = v;
    if (d < 0) prevLoss -= d;
    else prevGain += d;
  }
  prevLoss /= period;
  prevGain /= period;
  let s = prevGain + prevLoss;
  dst[period] = !isZero(s) ? 100.0 * (prevGain / s) : 0.0;
  while (today < n) {
    const v = src[today];
    const d = v - prevValue;
    prevValue = v;
    prevLoss *= period - 1;
    prevGain *= period - 1;
    if (d < 0) prevLoss -= d;
    else prevGain += d;
    prevLoss /= period;
    prevGain /= period;
    s = prevGain + prevLoss;
    dst[today] = !isZero(s) ? 100.0 * (prevGain / s) : 0.0;
    today++;
  }
}

/**
 * The fast %K of TA_STOCH / TA_STOCHF into dst[start+period-1..n-1]: TA-Lib divides by
 * (highest-lowest)/100 rather than multiplying by 100, and writes 0 when the range is
 * exactly 0. The lowest/highest are tracked incrementally (rescan only when the extreme
 * leaves the window), as TA-Lib does, which keeps this one pass.
 */
function fastK(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  start: number,
  n: number,
  period: number,
  dst: Float64Array,
): void {
  let trailingIdx = start;
  let today = start + period - 1;
  let lowestIdx = -1;
  let highestIdx = -1;
  let lowest = 0;
  let highest = 0;
  let diff = 0;
  while (today < n) {
    let tmp = low[today];
    if (lowestIdx < trailingIdx) {
      lowestIdx = trailingIdx;
      lowest = low[lowestIdx];
      for (let i = lowestIdx + 1; i <= today; i++) {
        tmp = low[i];
        if (tmp < lowest) {
          lowestIdx = i;
          lowest = tmp;
        }
      }
      diff = (highest - lowest) / 100.0;
    } else if (tmp <= lowest) {
      lowestIdx = today;
      lowest = tmp;
      diff = (highest - lowest) / 100.0;
    }
    tmp = high[today];
    if (highestIdx < trailingIdx) {
      highestIdx = trailingIdx;
      highest = high[highestIdx];
      for (let i = highestIdx + 1; i <= today; i++) {
        tmp = high[i];
        if (tmp > highest) {
          highestIdx = i;
          highest = tmp;
        }
      }
      diff = (highest - lowest) / 100.0;
    } else if (tmp >= highest) {
      highestIdx = today;
      highest = tmp;
      diff = (highest - lowest) / 100.0;
    }
    dst[today] = diff !== 0.0 ? (close[today] - lowest) / diff : 0.0;
    trailingIdx++;
    today++;
  }
}

/**
 * TA_CCI at the last bar only (it has no recursion). TA-Lib sums its circular buffer by
 * slot, not by date, and bar b sits in slot b % period when the call starts at index 0;
 * summing in that slot order reproduces its rounding bit for bit. 0 when either the
 * deviation from the mean or the mean deviation is exactly 0.
 *
 * One deliberate departure: when all typical prices of the window are identical, TA-Lib's
 * exact `!= 0.0` tests see the one-ulp gap between a price and the mean of 20 copies of it
 * and return rounding noise over 0.015 x rounding noise (e.g. -66.67 on a flat 0.0123).
 * A flat window is 0 here; no window with any movement is affected.
 */
function cciLast(high: Float64Array, low: Float64Array, close: Float64Array, n: number, period: number): number {
  const t = n - 1;
  const r = t % period;
  const tpLast = (high[t] + low[t] + close[t]) / 3;
  let flat = true;
  let avg = 0;
  for (let j = 0; j < period; j++) {
    const b = t - ((r - j + period) % period);
    const tp = (high[b] + low[b] + close[b]) / 3;
    if (tp !== tpLast) flat = false;
    avg += tp;
  }
  if (flat) return 0.0;
  avg /= period;
  let dev = 0;
  for (let j = 0; j < period; j++) {
    const b = t - ((r - j + period) % period);
    dev += Math.abs((high[b] + low[b] + close[b]) / 3 - avg);
  }
  const num = tpLast - avg;
  if (num !== 0.0 && dev !== 0.0) return num / (0.015 * (dev / period));
  return 0.0;
}

/**
 * TA_MACD via TA_INT_MACD: both EMAs are started at index slow-1 (so the fast EMA's seed is
 * the SMA of closes[slow-fast .. slow-1], not of the first 12 closes), and the signal is
 * TA_EMA(9) of the MACD line from that index, seeded with the SMA of its first 9 values.
 * OUT = [macd, signal, histogram].
 */
function macd(src: Float64Array, n: number, fast: number, slow: number, signal: number): void {
  const kSlow = perToK(slow);
  const kFast = perToK(fast);
  const kSig = perToK(signal);
  const begin = slow - 1;
  let sum = 0;
  for (let i = 0; i <= begin; i++) sum += src[i];
  let slowEma = sum / slow;
  sum = 0;
  for (let i = begin - fast + 1; i <= begin; i++) sum += src[i];
  let fastEma = sum / fast;

  let m = fastEma - slowEma;
  let sigSum = m;
  let count = 1;
  let sig = NaN;
  if (signal === 1) sig = m;
  for (let i = begin + 1; i < n; i++) {
    const v = src[i];
    slowEma = (v - slowEma) * kSlow + slowEma;
    fastEma = (v - fastEma) * kFast + fastEma;
    m = fastEma - slowEma;
    if (count < signal) {
      sigSum += m;
      count++;
      if (count === signal) sig = sigSum / signal;
    } else {
      sig = (m - sig) * kSig + sig;
    }
  }
  OUT[0] = m;
  OUT[1] = sig;
  OUT[2] = m - sig;
}

// TA-Lib's TRUE_RANGE macro, same comparison order.
function trueRange(h: number, l: number, prevClose: number): number {
  let out = h - l;
  let t = Math.abs(h - prevClose);
  if (t > out) out = t;
  t = Math.abs(l - prevClose);
  if (t > out) out = t;
  return out;
}

/**
 * TA_PLUS_DI, TA_MINUS_DI and TA_ADX share one Wilder state, so one pass gives all three.
 * TA-Lib sums the first period-1 raw DMs/TRs (not period), then smooths with
 * x - x/period + new. The ADX seed is the mean of the first `period` DX values; later, a
 * TR or DI sum that is TA_IS_ZERO leaves the ADX at its previous value. DI is 0 when the
 * smoothed TR is TA_IS_ZERO. OUT = [plusDI, minusDI, adx].
 */
function dmi(high: Float64Array, low: Float64Array, close: Float64Array, n: number, period: number): void {
  let today = 0;
  let prevHigh = high[0];
  let prevLow = low[0];
  let prevClose = close[0];
  let pDM = 0;
  let mDM = 0;
  let tr = 0;
  for (let i = period - 1; i-- > 0; ) {
    today++;
    let t = high[today];
    const diffP = t - prevHigh;
    prevHigh = t;
    t = low[today];
    const diffM = prevLow - t;
    prevLow = t;
    if (diffM > 0 && diffP < diffM) mDM += diffM;
    else if (diffP > 0 && diffP > diffM) pDM += diffP;
    tr += trueRange(prevHigh, prevLow, prevClose);
    prevClose = close[today];
  }
  let sumDX = 0;
  for (let i = period; i-- > 0; ) {
    today++;
    let t = high[today];
    const diffP = t - prevHigh;
    prevHigh = t;
    t = low[today];
    const diffM = prevLow - t;
    prevLow = t;
    mDM -= mDM / period;
    pDM -= pDM / period;
    if (diffM > 0 && diffP < diffM) mDM += diffM;
    else if (diffP > 0 && diffP > diffM) pDM += diffP;
    tr = tr - tr / period + trueRange(prevHigh, prevLow, prevClose);
    prevClose = close[today];
    if (!isZero(tr)) {
      const minusDI = 100.0 * (mDM / tr);
      const plusDI = 100.0 * (pDM / tr);
      const s = minusDI + plusDI;
      if (!isZero(s)) sumDX += 100.0 * (Math.abs(minusDI - plusDI) / s);
    }
  }
  let adx = sumDX / period;
  while (today < n - 1) {
    today++;
    let t = high[today];
    const diffP = t - prevHigh;
    prevHigh = t;
    t = low[today];
    const diffM = prevLow - t;
    prevLow = t;
    mDM -= mDM / period;
    pDM -= pDM / period;
    if (diffM > 0 && diffP < diffM) mDM += diffM;
    else if (diffP > 0 && diffP > diffM) pDM += diffP;
    tr = tr - tr / period + trueRange(prevHigh, prevLow, prevClose);
    prevClose = close[today];
    if (!isZero(tr)) {
      const minusDI = 100.0 * (mDM / tr);
      const plusDI = 100.0 * (pDM / tr);
      const s = minusDI + plusDI;
      if (!isZero(s)) {
        const dx = 100.0 * (Math.abs(minusDI - plusDI) / s);
        adx = (adx * (period - 1) + dx) / period;
      }
    }
  }
  const trZero = isZero(tr);
  OUT[0] = trZero ? 0.0 : 100.0 * (pDM / tr);
  OUT[1] = trZero ? 0.0 : 100.0 * (mDM / tr);
  OUT[2] = adx;
}

/**
 * TA_ATR: the first value is the mean of the true ranges of bars 1..period (bar 0 has no
 * previous close and is skipped), then prev*(period-1) + TR, divided by period, in that order.
 */
function atr(high: Float64Array, low: Float64Array, close: Float64Array, n: number, period: number): number {
  let sum = 0;
  for (let i = 1; i <= period; i++) sum += trueRange(high[i], low[i], close[i - 1]);
  let prev = sum / period;
  for (let i = period + 1; i < n; i++) {
    prev *= period - 1;
    prev += trueRange(high[i], low[i], close[i - 1]);
    prev /= period;
  }
  return prev;
}

/**
 * TA_BBANDS(SMA): the middle band is TA_INT_SMA's running total and the deviation is
 * TA-Lib's running sum of squares, E[x^2] - mean^2 with the same running rounding, forced
 * to 0 when TA_IS_ZERO_OR_NEG (so a flat window gives 0, not sqrt of rounding noise).
 * OUT = [upper, middle, lower].
 */
function bbands(src: Float64Array, n: number, period: number, nbDev: number): void {
  let total = 0;
  let total2 = 0;
  let i = 0;
  while (i < period - 1) {
    const v = src[i++];
    total += v;
    total2 += v * v;
  }
  let trailing = 0;
  let mid = NaN;
  let sd = NaN;
  while (i < n) {
    let v = src[i];
    total += v;
    mid = total / period;
    total2 += v * v;
    let meanSq = total2 / period;
    v = src[trailing++];
    total -= v;
    total2 -= v * v;
    meanSq -= mid * mid;
    sd = !isZeroOrNeg(meanSq) ? Math.sqrt(meanSq) : 0.0;
    i++;
  }
  const dev = sd * nbDev;
  OUT[0] = mid + dev;
  OUT[1] = mid;
  OUT[2] = mid - dev;
}

/**
 * TA_SAR. The starting direction comes from TA_MINUS_DM(1) of bars 0/1 (short only when
 * bar 1 has a positive minus-DM), the starting SAR is bar 0's low (long) or high (short).
 * The value written for a bar is the SAR *before* it is advanced, and each advance is
 * clamped against both the previous and the current bar's low (long) or high (short).
 */
function sar(high: Float64Array, low: Float64Array, n: number, acceleration: number, maximum: number): number {
  if (acceleration > maximum) acceleration = maximum;
  let af = acceleration;
  const diffP = high[1] - high[0];
  const diffM = low[0] - low[1];
  let isLong = !(diffM > 0 && diffP < diffM);
  let ep: number;
  let s: number;
  if (isLong) {
    ep = high[1];
    s = low[0];
  } else {
    ep = low[1];
    s = high[0];
  }
  let newLow = low[1];
  let newHigh = high[1];
  let out = NaN;
  for (let today = 1; today < n; today++) {
    const prevLow = newLow;
    const prevHigh = newHigh;
    newLow = low[today];
    newHigh = high[today];
    if (isLong) {
      if (newLow <= s) {
        isLong = false;
        s = ep;
        if (s < prevHigh) s = prevHigh;
        if (s < newHigh) s = newHigh;
        out = s;
        af = acceleration;
        ep = newLow;
        s = s + af * (ep - s);
        if (s < prevHigh) s = prevHigh;
        if (s < newHigh) s = newHigh;
      } else {
        out = s;
        if (newHigh > ep) {
          ep = newHigh;
          af += acceleration;
          if (af > maximum) af = maximum;
        }
        s = s + af * (ep - s);
        if (s > prevLow) s = prevLow;
        if (s > newLow) s = newLow;
      }
    } else if (newHigh >= s) {
      isLong = true;
      s = ep;
      if (s > prevLow) s = prevLow;
      if (s > newLow) s = newLow;
      out = s;
      af = acceleration;
      ep = newHigh;
      s = s + af * (ep - s);
      if (s > prevLow) s = prevLow;
      if (s > newLow) s = newLow;
    } else {
      out = s;
      if (newLow < ep) {
        ep = newLow;
        af += acceleration;
        if (af > maximum) af = maximum;
      }
      s = s + af * (ep - s);
      if (s < prevHigh) s = prevHigh;
      if (s < newHigh) s = newHigh;
    }
  }
  return out;
}

/** Two-pass sample standard deviation of src[from..to). */
function sampleStd(src: Float64Array, from: number, to: number): number {
  const count = to - from;
  let mean = 0;
  for (let i = from; i < to; i++) mean += src[i];
  mean /= count;
  let ss = 0;
  for (let i = from; i < to; i++) {
    const d = src[i] - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / (count - 1));
}

/** Sample std of the last `count` simple returns, annualised (x sqrt(252)) and in percent. */
function volatility(close: Float64Array, n: number, count: number): number {
  const from = n - count;
  let mean = 0;
  for (let i = from; i < n; i++) mean += close[i] / close[i - 1] - 1;
  mean /= count;
  let ss = 0;
  for (let i = from; i < n; i++) {
    const d = close[i] / close[i - 1] - 1 - mean;
    ss += d * d;
  }
  return Math.sqrt(ss / (count - 1)) * Math.sqrt(252) * 100;
}

function mean(src: Float64Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += src[i];
  return s / (to - from);
}

const fin = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** The indicators a signal's crossing compares with the session before (signals.ts). */
export interface CrossingRow {
  sma_50: number | null;
  sma_200: number | null;
  rsi_14: number | null;
  macd: number | null;
  macd_signal: number | null;
}

/**
 * sma_50, sma_200, rsi_14, macd and macd_signal at the last bar, exactly as computeIndicators
 * gives them (the same window, the same arithmetic, so the same doubles) for a fraction of its
 * cost: calc-indicators needs them for the session before the first it computes (a signal's
 * crossing). Null with fewer than MIN_BARS bars, as computeIndicators.
 */
export function crossingValues(close: ArrayLike<number>): CrossingRow | null {
  const total = close.length;
  if (total < MIN_BARS) return null;
  const n = Math.min(total, MAX_BARS);
  const off = total - n;
  for (let i = 0; i < n; i++) C[i] = +close[off + i];
  const sma50 = sma(C, 0, n, 50, null);
  const sma200 = sma(C, 0, n, 200, null);
  rsiSeries(C, n, 14, RSI);
  const rsi14 = RSI[n - 1];
  macd(C, n, 12, 26, 9);
  return { sma_50: fin(sma50), sma_200: fin(sma200), rsi_14: fin(rsi14), macd: fin(OUT[0]), macd_signal: fin(OUT[1]) };
}

/**
 * The 31 columns at the last bar. Bars are oldest first; only the last MAX_BARS are used.
 * Returns null with fewer than MIN_BARS bars. `beta` is null here: it needs the dates of
 * the asset and of its benchmark, which calc-indicators has (domain/beta.ts).
 */
export function computeIndicators(bars: Bars): IndicatorRow | null {
  const total = bars.close.length;
  if (bars.high.length !== total || bars.low.length !== total || bars.volume.length !== total) {
    throw new RangeError(
      `computeIndicators: high/low/close/volume lengths differ (${bars.high.length}/${bars.low.length}/${total}/${bars.volume.length})`,
    );
  }
  if (total < MIN_BARS) return null;
  const n = Math.min(total, MAX_BARS);
  const off = total - n;
  const { high, low, close, volume } = bars;
  for (let i = 0; i < n; i++) {
    H[i] = +high[off + i];
    L[i] = +low[off + i];
    C[i] = +close[off + i];
    V[i] = +volume[off + i];
  }
  const last = n - 1;

  const sma50 = sma(C, 0, n, 50, null);
  const sma200 = sma(C, 0, n, 200, null);
  const ema12 = ema(C, n, 12);
  const ema26 = ema(C, n, 26);
  const wma20 = wma(C, n, 20);

  rsiSeries(C, n, 14, RSI);
  const rsi14 = RSI[last];

  // STOCH(14, 3 SMA, 3 SMA): fast %K from bar 13, slow %K = SMA3 of it, slow %D = SMA3 of that.
  fastK(H, L, C, 0, n, 14, FAST_K);
  sma(FAST_K, 13, n, 3, SLOW_K);
  const stochK = SLOW_K[last];
  const stochD = sma(SLOW_K, 15, n, 3, null);

  // STOCHRSI(14, 14, 3 SMA) is TA_STOCHF on the RSI series (from bar 14), output fast %D.
  fastK(RSI, RSI, RSI, 14, n, 14, FAST_K);
  const stochRsi = sma(FAST_K, 27, n, 3, null);

  const cci20 = cciLast(H, L, C, n, 20);

  macd(C, n, 12, 26, 9);
  const macdLine = OUT[0];
  const macdSignal = OUT[1];
  const macdHist = OUT[2];

  dmi(H, L, C, n, 14);
  const dmiPlus = OUT[0];
  const dmiMinus = OUT[1];
  const adx = OUT[2];

  const atr14 = atr(H, L, C, n, 14);
  const vol = volatility(C, n, 30);
  const stdDev = sampleStd(C, n - 20, n);

  bbands(C, n, 20, 2);
  const bbUpper = OUT[0];
  const bbMiddle = OUT[1];
  const bbLower = OUT[2];
  const bbBandwidth = bbMiddle !== 0 ? (100 * (bbUpper - bbLower)) / bbMiddle : NaN;

  const sar002 = sar(H, L, n, 0.02, 0.2);

  const slope = (C[last] - C[last - 20]) / 20;
  const avgVol30 = mean(V, n - 30, n);
  const avgVol90 = mean(V, n - 90, n);

  let hi52 = NaN;
  let lo52 = NaN;
  if (n >= WEEK_52_BARS) {
    hi52 = -Infinity;
    lo52 = Infinity;
    for (let i = n - WEEK_52_BARS; i < n; i++) {
      if (H[i] > hi52) hi52 = H[i];
      if (L[i] < lo52) lo52 = L[i];
    }
  }

  return {
    sma_50: fin(sma50),
    sma_200: fin(sma200),
    ema_12: fin(ema12),
    ema_26: fin(ema26),
    wma_20: fin(wma20),
    rsi_14: fin(rsi14),
    stoch_k: fin(stochK),
    stoch_d: fin(stochD),
    stoch_rsi: fin(stochRsi),
    cci_20: fin(cci20),
    macd: fin(macdLine),
    macd_signal: fin(macdSignal),
    macd_histogram: fin(macdHist),
    dmi_plus: fin(dmiPlus),
    dmi_minus: fin(dmiMinus),
    adx: fin(adx),
    atr_14: fin(atr14),
    volatility: fin(vol),
    std_dev: fin(stdDev),
    bb_upper: fin(bbUpper),
    bb_middle: fin(bbMiddle),
    bb_lower: fin(bbLower),
    bb_bandwidth: fin(bbBandwidth),
    sar: fin(sar002),
    // Against the exchange's benchmark: calc-indicators (domain/beta.ts), which has its dates.
    beta: null,
    slope: fin(slope),
    avg_volume_30: fin(avgVol30),
    avg_volume_90: fin(avgVol90),
    week_52_high: fin(hi52),
    week_52_low: fin(lo52),
    current_price: fin(C[last]),
  };
}
