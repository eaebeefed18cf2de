/**
 * The data-quality checks of a price series: pure functions from an asset's bars (a window
 * of known-good history before the new or changed ones) to findings. Which check, its
 * severity and a one-line detail; the store keeps them (store/quality-findings.ts) and an
 * error quarantines its bar (indicators and screens leave it out).
 *
 * Errors (the bar cannot be right): OHLC out of order, a non-positive price, a wrong-unit
 * day (x100 or /100: the pence/pound slip; one that holds is a unit change, a warning), a
 * move of quality_move_error_pct or more that no split, dividend or currency switch explains. Warnings (worth a look, still used): a
 * move beyond quality_move_sigmas of the asset's own volatility, a volume spike, a
 * zero-volume day that traded (a range, not one price all day), a stale series, a session missing from an asset that
 * trades every session, adjusted_close out of step with close for one day, a market cap
 * that disagrees with close x shares outstanding.
 *
 * A bar with an error is never the reference of the next one: the day after a x100 slip
 * is compared with the day before it, so one bad tick is one finding, not two. A big move
 * that holds for the next sessions is real (a warning at most), not a bad tick.
 */

export const QUALITY_CHECKS = [
  'ohlc_order',
  'non_positive',
  'unit_slip',
  'price_move',
  'volume_spike',
  'zero_volume',
  'stale_series',
  'missing_session',
  'adjusted_close',
  'market_cap',
] as const;
export type QualityCheck = (typeof QUALITY_CHECKS)[number];
export type Severity = 'error' | 'warning';

export interface QualityBar {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  adjusted_close: number;
  volume: number;
}

export interface Finding {
  date: string;
  check: QualityCheck;
  severity: Severity;
  detail: string;
}

export interface QualityThresholds {
  /** A one-day move of this many percent or more, unexplained, is an error. */
  movePctError: number;
  /** A one-day move beyond this many robust daily volatilities is a warning. */
  moveSigmas: number;
  /** x100 or /100 within this many percent is a wrong-unit day. */
  unitSlipPct: number;
  /** A volume over this multiple of the median of the last 60 sessions is a warning. */
  volumeSpikeRatio: number;
  /** The same bar this many sessions running (volume > 0) is a stale series. */
  staleSessions: number;
  /** adjusted_close/close may move this many percent on a day without an action. */
  adjustedTolerancePct: number;
  /** A market cap off close x shares by more than this many percent is a warning. */
  marketCapTolerancePct: number;
}

export interface SeriesContext {
  /** Days with a split or a dividend ex-date of the asset: they explain a move and a change of adjustment. */
  actionDays: ReadonlySet<string>;
  /** Days the asset's quote currency was seen to change (GBX to GBP): they explain a x100 move. */
  currencySwitchDays: readonly string[];
  /** The sessions the exchange traded (ascending), for missing sessions; null when not known. */
  tradedSessions: readonly string[] | null;
  /** The latest fundamentals, for the market-cap check (major units of the quote currency); null to skip. */
  marketCap: { marketCap: number; sharesOutstanding: number; perMajor: number } | null;
}

/** Returns used for an asset's volatility, and volumes for its median volume. */
const WINDOW = 60;
/** Fewer returns than this: the volatility is not known, and only absolute thresholds apply. */
const MIN_RETURNS = 20;
/** open, high, low and close may disagree by this much (rounding in the feed) before the order is wrong. */
const OHLC_SLACK = 0.001;
/** An asset is expected on every session once it has had a bar on each of this many in a row. */
const REGULAR_SESSIONS = 40;
/** No volatility below this (a series that barely moves would make every tick an outlier). */
const MIN_SIGMA = 0.01;
/** adjusted_close is given to 4 decimals: a difference below this is rounding, not a wrong adjustment. */
const ADJUSTED_ROUNDING = 0.00015;

/**
 * The last WINDOW values, kept in arrival order (to drop the oldest) and sorted (so the
 * median is one read); a push costs a binary search and a short copy, not a sort.
 */
class Window {
  private readonly ring = new Float64Array(WINDOW);
  private readonly sorted = new Float64Array(WINDOW);
  private readonly scratch = new Float64Array(WINDOW);
  private n = 0;
  private at = 0;
  private absSum = 0;
  push(v: number): void {
    if (this.n === WINDOW) {
      const old = this.ring[this.at]!;
      this.absSum -= Math.abs(old);
      const i = this.find(old);
      this.sorted.copyWithin(i, i + 1, this.n);
      this.n--;
    }
    this.ring[this.at] = v;
    this.at = (this.at + 1) % WINDOW;
    this.absSum += Math.abs(v);
    const j = this.find(v);
    this.sorted.copyWithin(j + 1, j, this.n);
    this.sorted[j] = v;
    this.n++;
  }
  /** The first index whose value is not below v. */
  private find(v: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  get size(): number {
    return this.n;
  }
  median(): number {
    return this.sorted[this.n >> 1]!;
  }
  /**
   * A robust daily volatility: the larger of the median absolute deviation and the mean
   * absolute return, each scaled to a normal's standard deviation. The median alone is 0
   * for a price that moves in ticks and stands still most days (a penny stock), which would
   * make its every tick an outlier.
   */
  robustSigma(): number {
    const m = this.median();
    for (let i = 0; i < this.n; i++) this.scratch[i] = Math.abs(this.sorted[i]! - m);
    return Math.max(1.4826 * select(this.scratch, this.n, this.n >> 1), 1.2533 * (this.absSum / this.n));
  }
}

/** The k-th smallest of a[0..n) (Hoare's selection; reorders a). */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[lo]!;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const num = (x: number) => (Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : String(+x.toPrecision(6)));

/**
 * Checks the bars dated fromDate or later (ascending `bars`, with the history before them
 * as their baseline) and returns what it finds. The adjustment check also judges the bar
 * just before fromDate: a one-day blip shows only once the next bar is there.
 */
export function checkSeries(
  bars: readonly QualityBar[],
  fromDate: string,
  ctx: SeriesContext,
  t: QualityThresholds,
): Finding[] {
  const out: Finding[] = [];
  const returns = new Window();
  const volumes = new Window();
  let ref: QualityBar | null = null;
  let prev: QualityBar | null = null;
  let staleRun = 0;
  let presentRun = 0;
  let sessionAt = 0;
  const sessions = ctx.tradedSessions;
  const slip = Math.log(1 + t.unitSlipPct / 100);
  const firstJudged = bars.findIndex((b) => b.date >= fromDate);
  if (firstJudged < 0) return out;
  const adjustedFrom = Math.max(0, firstJudged - 1);

  for (let i = 0; i < bars.length; i++) {
    const b = bars[i]!;
    const judged = i >= firstJudged;
    const errors: Finding[] = [];
    const warnings: Finding[] = [];
    const add = (list: Finding[], check: QualityCheck, severity: Severity, detail: string) =>
      list.push({ date: b.date, check, severity, detail });

    // Sessions the exchange traded between the previous bar and this one: missing for an
    // asset that has been there every session.
    if (sessions) {
      while (sessionAt < sessions.length && sessions[sessionAt]! < b.date) {
        const s = sessions[sessionAt]!;
        if (prev && s > prev.date) {
          if (presentRun >= REGULAR_SESSIONS && s >= fromDate)
            out.push({
              date: s,
              check: 'missing_session',
              severity: 'warning',
              detail: `no bar on ${s}, a session of its exchange, after ${presentRun} sessions without a gap`,
            });
          presentRun = 0;
        }
        sessionAt++;
      }
      if (sessionAt < sessions.length && sessions[sessionAt] === b.date) {
        presentRun++;
        sessionAt++;
      }
    }

    if (!(b.open > 0 && b.high > 0 && b.low > 0 && b.close > 0)) {
      add(
        errors,
        'non_positive',
        'error',
        `a price of zero or less (open ${num(b.open)}, high ${num(b.high)}, low ${num(b.low)}, close ${num(b.close)})`,
      );
    } else if (
      b.low > b.high * (1 + OHLC_SLACK) ||
      Math.max(b.open, b.close) > b.high * (1 + OHLC_SLACK) ||
      Math.min(b.open, b.close) < b.low * (1 - OHLC_SLACK)
    ) {
      add(
        errors,
        'ohlc_order',
        'error',
        `prices out of order: low ${num(b.low)}, open ${num(b.open)}, close ${num(b.close)}, high ${num(b.high)}`,
      );
    }

    const explained = ref !== null && (explains(ctx, ref.date, b.date) || adjustedExplains(ref, b));
    let logReturn: number | null = null;
    if (ref && b.close > 0 && !explained) {
      const lr = Math.log(b.close / ref.close);
      if (
        (Math.abs(lr - Math.log(100)) <= slip || Math.abs(lr + Math.log(100)) <= slip) &&
        !held(bars, i, ref.close, lr)
      ) {
        add(
          errors,
          'unit_slip',
          'error',
          `close ${num(b.close)} is ${num(b.close / ref.close)}x the ${ref.date} close ${num(ref.close)}: a wrong unit (x100 or /100)`,
        );
      } else if (Math.abs(lr - Math.log(100)) <= slip || Math.abs(lr + Math.log(100)) <= slip) {
        // The new unit held: the listing changed its quote unit (pence and pounds) before the
        // pipeline recorded its currency; the series is mixed from here, which a person should see.
        add(
          warnings,
          'unit_slip',
          'warning',
          `the quote unit changed here and held: close ${num(b.close)} is ${num(b.close / ref.close)}x the ${ref.date} close ${num(ref.close)} (a currency switch not recorded?)`,
        );
      } else {
        logReturn = lr;
        const move = b.close / ref.close - 1;
        // Below this no volatility (at least MIN_SIGMA) makes a move a finding: the common
        // case, which then needs no volatility at all.
        const quiet = Math.abs(lr) < (t.moveSigmas / 2) * MIN_SIGMA && Math.abs(move) * 100 < t.movePctError;
        const sigma = quiet || returns.size < MIN_RETURNS ? null : Math.max(MIN_SIGMA, returns.robustSigma());
        const z = quiet ? 0 : sigma === null ? null : Math.abs(lr) / sigma;
        if (
          Math.abs(move) * 100 >= t.movePctError &&
          (z === null || z >= t.moveSigmas / 2) &&
          !held(bars, i, ref.close, lr)
        )
          add(
            errors,
            'price_move',
            'error',
            `close ${num(b.close)} moved ${pct(move)} from ${num(ref.close)} on ${ref.date}${z === null ? '' : ` (${z.toFixed(1)} daily volatilities)`} with no split, dividend or currency switch to explain it`,
          );
        else if (z !== null && z >= t.moveSigmas)
          add(
            warnings,
            'price_move',
            'warning',
            `close moved ${pct(move)} from ${ref.date}: ${z.toFixed(1)} times its daily volatility of ${pct(sigma!)}`,
          );
      }
    }

    if (errors.length === 0) {
      if (volumes.size >= MIN_RETURNS) {
        const median = volumes.median();
        if (median > 0 && b.volume > t.volumeSpikeRatio * median)
          add(
            warnings,
            'volume_spike',
            'warning',
            `volume ${num(b.volume)} is ${num(b.volume / median)}x its median of ${num(median)} over ${volumes.size} sessions`,
          );
      }
      // A day with a range traded; one price all day (a quote, a reference price) did not.
      if (b.volume === 0 && b.high > b.low)
        add(
          warnings,
          'zero_volume',
          'warning',
          `volume 0 on a day that traded (high ${num(b.high)}, low ${num(b.low)}, close ${num(b.close)})`,
        );
      const same =
        prev !== null &&
        b.volume > 0 &&
        b.open === prev.open &&
        b.high === prev.high &&
        b.low === prev.low &&
        b.close === prev.close &&
        b.volume === prev.volume;
      staleRun = same ? staleRun + 1 : 1;
      if (staleRun >= t.staleSessions)
        add(
          warnings,
          'stale_series',
          'warning',
          `the same bar (close ${num(b.close)}, volume ${num(b.volume)}) ${staleRun} sessions running`,
        );
      // adjusted_close/close jumps for one day and comes back, with no action on either side.
      const next = bars[i + 1];
      if (i >= adjustedFrom && ref && next && b.close > 0 && next.close > 0 && ref.close > 0) {
        const f = b.adjusted_close / b.close;
        const before = ref.adjusted_close / ref.close;
        const after = next.adjusted_close / next.close;
        const tol = t.adjustedTolerancePct / 100;
        const offBefore = f / before - 1;
        const offAfter = f / after - 1;
        if (
          Math.abs(b.adjusted_close - before * b.close) > ADJUSTED_ROUNDING &&
          Math.abs(offBefore) > tol &&
          Math.abs(offAfter) > tol &&
          Math.sign(offBefore) === Math.sign(offAfter) &&
          Math.abs(after / before - 1) <= tol &&
          !explains(ctx, ref.date, next.date)
        )
          out.push({
            date: b.date,
            check: 'adjusted_close',
            severity: 'warning',
            detail: `adjusted_close ${num(b.adjusted_close)} is ${pct(offBefore)} out of step with close ${num(b.close)} for one day, with no split or dividend`,
          });
      }
      if (logReturn !== null) returns.push(logReturn);
      volumes.push(b.volume);
      ref = b;
    } else {
      staleRun = 0;
    }
    if (judged) out.push(...errors, ...warnings);
    prev = b;
  }

  // The latest fundamentals against the latest good close.
  const last = ref;
  if (ctx.marketCap && last && last.date >= fromDate) {
    const { marketCap, sharesOutstanding, perMajor } = ctx.marketCap;
    if (marketCap > 0 && sharesOutstanding > 0) {
      const implied = (last.close / perMajor) * sharesOutstanding;
      const off = marketCap / implied - 1;
      if (Math.abs(off) * 100 > t.marketCapTolerancePct)
        out.push({
          date: last.date,
          check: 'market_cap',
          severity: 'warning',
          detail: `market cap ${num(marketCap)} is ${pct(off)} off close x shares outstanding (${num(implied)})`,
        });
    }
  }
  return out;
}

/**
 * EODHD's adjusted_close covers the splits and dividends it knows, older ones included
 * (the pipeline records only those since it started): a raw move that the adjusted series
 * does not make (less than half of it) is a corporate action, not a bad tick. A bad tick
 * moves both.
 */
function adjustedExplains(ref: QualityBar, b: QualityBar): boolean {
  if (!(ref.adjusted_close > 0 && b.adjusted_close > 0 && ref.close > 0 && b.close > 0)) return false;
  const raw = Math.abs(Math.log(b.close / ref.close));
  const adjusted = Math.abs(Math.log(b.adjusted_close / ref.adjusted_close));
  return raw > 0.05 && adjusted < raw / 2;
}

/** Sessions after a big move that must stay at its new level for it to count as real. */
const HOLD_SESSIONS = 2;

/**
 * Whether the move to bar i held: the next HOLD_SESSIONS bars stay away from the old level
 * (`from`), on the side the move went, by at least half of it. A bad tick comes back to the
 * old level the next day; a real jump (news, a takeover, a rally that goes on) does not.
 * The newest bars cannot tell yet: an open error is judged again when the next bars come.
 */
function held(bars: readonly QualityBar[], i: number, from: number, logMove: number): boolean {
  if (i + HOLD_SESSIONS >= bars.length) return false;
  for (let k = 1; k <= HOLD_SESSIONS; k++) {
    const c = bars[i + k]!.close;
    if (!(c > 0) || Math.log(c / from) * Math.sign(logMove) < Math.abs(logMove) / 2) return false;
  }
  return true;
}

/** A split, dividend or currency switch after `from` and on or before `to` explains a move. */
function explains(ctx: SeriesContext, from: string, to: string): boolean {
  for (const d of ctx.actionDays) if (d > from && d <= to) return true;
  for (const d of ctx.currencySwitchDays) if (d > from && d <= to) return true;
  return false;
}
