// The market as the API sees it on the simulated "today": bars, adjusted closes, bulk rows.
//
// Why a separate layer: prices.ts and corporate-actions.ts are timeless (a ticker's whole
// past and future are fixed by its seed). What the API answers depends on the clock:
// no bars after the last *published* session (today's only once the clock, today at the
// simulator's time of day, has passed its publication instant: publication.ts),
// `adjusted_close` covering only the actions that already happened, and first prints and
// bad ticks that get corrected later (quality.ts). That dependence lives here, in one
// place, so the HTTP answers and the test oracle (Simulator.expectedHistory) cannot drift
// apart.
//
// Three views of the bars: 'served' (what the API answers: first prints and bad ticks
// until corrected), 'base' (the true bars with the 14-day fixes only: what fundamentals
// are computed from) and 'true' (the final values, nothing wrong: Simulator.trueHistory).
// With both quality options 'none' and nothing injected, 'served' is 'base'.
//
// "Values corrected weeks later": about 1 bar in 500 is first published with a close off
// by 0.4% and 70% of its volume; from 14 days after its date the API serves the final
// values. A pipeline that never re-reads recent history keeps the wrong print.

import type { EodBar } from '../../shared/eodhd/schemas.js';
import { DAY_MS } from './clock.js';
import { type CorporateActions, calendarOf } from './corporate-actions.js';
import { fmtDate } from './dates.js';
import type { ExchangeCode } from './exchanges.js';
import { econLevel, isFlatDay, isGapDay, makeBar, NoiseCache, type RawBar, round4 } from './prices.js';
import { publishedThrough } from './publication.js';
import {
  type BadTicksOption,
  type BarSource,
  type CorrectionsOption,
  DataQuality,
  isLegacyFixDay,
  LEGACY_FIX_DAYS,
  legacyFirstPrint,
} from './quality.js';
import { currencyOn, type Listing, type Universe, unitsPerMajor } from './universe.js';

export type { EodBar };

/** 'served': what the API answers; 'base': the 14-day fixes only; 'true': the final values. */
export type BarView = 'served' | 'base' | 'true';

export class Market implements BarSource {
  private readonly memoMap = new Map<string, unknown>();
  /** First prints and bad ticks beyond the 14-day fixes (quality.ts). */
  readonly quality: DataQuality;

  /**
   * timeOfDay: the simulated clock's time of day (ms after midnight UTC); the default, the
   * last millisecond of the day, sees every session of `today` published.
   */
  constructor(
    readonly universe: Universe,
    readonly actions: CorporateActions,
    private readonly timeOfDay: () => number = () => DAY_MS - 1,
    quality: { badTicks?: BadTicksOption; corrections?: CorrectionsOption } = {},
  ) {
    this.quality = new DataQuality(this, actions, quality.badTicks, quality.corrections);
  }

  /** The instant (ms) of `today` at the clock's time of day. */
  private nowOf(today: number): number {
    return today * DAY_MS + this.timeOfDay();
  }

  /** The last session of an exchange whose bars are visible on `today` (at the clock's time of day). */
  visibleThrough(exchange: ExchangeCode, today: number): number {
    return publishedThrough(exchange, today * DAY_MS + this.timeOfDay());
  }

  /** Small memo for expensive answers that depend only on (request, today): bulk extended. */
  memo<T>(key: string, fn: () => T): T {
    if (this.memoMap.has(key)) return this.memoMap.get(key) as T;
    const v = fn();
    if (this.memoMap.size >= 16) this.memoMap.delete(this.memoMap.keys().next().value as string);
    this.memoMap.set(key, v);
    return v;
  }

  /** A 14-day fix's first print, if this bar is one and today is before the fix. */
  private published(l: Listing, b: RawBar, today: number): RawBar {
    if (b.volume === 0 || today >= b.day + LEGACY_FIX_DAYS || !isLegacyFixDay(l, b.day)) return b;
    return legacyFirstPrint(l, b);
  }

  /** The quality layer when it can change something this view shows, else null (the 14-day fixes' own path). */
  private layer(view: BarView): DataQuality | null {
    return view === 'served' && this.quality.active ? this.quality : null;
  }

  /** One bar as `view` shows it on `today` (null: a missing bad tick). */
  private shown(l: Listing, b: RawBar, factor: number, scale: number, today: number, view: BarView): EodBar | null {
    if (view === 'true') return toEod(b, factor, scale);
    const q = this.layer(view);
    if (!q) return toEod(this.published(l, b, today), factor, scale);
    return q.serve(l, b, factor, scale, this.nowOf(today), today);
  }

  /** Last day the API has data for on this listing (published, and before its delisting). */
  lastDataDay(l: Listing, today: number): number {
    return Math.min(this.visibleThrough(l.exchange, today), l.delistDay - 1);
  }

  /** True raw bars with a date in [from, to], of the sessions published on `today`. */
  private rawBars(l: Listing, from: number, to: number, today: number): RawBar[] {
    const cal = calendarOf(l);
    const start = cal.onOrAfter(Math.max(from, l.listDay));
    const end = Math.min(to, this.lastDataDay(l, today));
    const out: RawBar[] = [];
    if (end < start) return out;
    const splits = this.actions.splits(l);
    let prev = this.actions.econClose(l, cal.prev(start));
    let si = 0;
    let mult = this.actions.mult(l, start);
    while (si < splits.length && splits[si].day <= start) si++;
    const cache = new NoiseCache();
    for (let d = start; d <= end; d = cal.next(d)) {
      if (si < splits.length && splits[si].day <= d) {
        mult = this.actions.mult(l, d);
        while (si < splits.length && splits[si].day <= d) si++;
      }
      const flat = isFlatDay(l, d);
      const econ = flat ? prev : econLevel(l, d, cache);
      if (!isGapDay(l, d)) out.push(makeBar(l, d, prev, econ, flat, mult));
      prev = econ;
    }
    return out;
  }

  /** Whether the listing has a true bar of that day, visible on `today` (not: holiday, gap, not listed, unpublished, future). */
  private hasTrueBar(l: Listing, day: number, today: number): boolean {
    return !(
      day < l.listDay ||
      day > this.lastDataDay(l, today) ||
      !calendarOf(l).isTradingDay(day) ||
      isGapDay(l, day)
    );
  }

  /** Whether the API serves a bar of that day on `today` (see hasTrueBar; nor a missing bad tick). */
  hasBar(l: Listing, day: number, today: number): boolean {
    if (!this.hasTrueBar(l, day, today)) return false;
    return !(this.quality.active && this.quality.hidden(l, day, this.nowOf(today)));
  }

  /** The true bar of a session, published or not (null: not listed, no session, a gap). */
  modelBar(l: Listing, day: number): RawBar | null {
    const cal = calendarOf(l);
    if (day < l.listDay || day >= l.delistDay || !cal.isTradingDay(day) || isGapDay(l, day)) return null;
    const prev = this.actions.econClose(l, cal.prev(day));
    const flat = isFlatDay(l, day);
    const econ = flat ? prev : econLevel(l, day);
    return makeBar(l, day, prev, econ, flat, this.actions.mult(l, day));
  }

  /** The adjustment factor of a bar of `day` as of `today`, and served units per model unit. */
  adjustment(l: Listing, day: number, today: number): { factor: number; scale: number } {
    let factor = 1;
    for (const e of this.actions.factorsBetween(l, day, today)) factor *= e.factor;
    return { factor, scale: quoteScale(l, today) };
  }

  toEod(b: RawBar, factor: number, scale: number): EodBar {
    return toEod(b, factor, scale);
  }

  /**
   * Bars with adjusted_close, ascending, as /eod answers on `today` (view 'served'): in the
   * listing's quote currency of `today` (a listing that moved from GBX to GBP is served in
   * pounds all along).
   */
  history(l: Listing, from: number, to: number, today: number, view: BarView = 'served'): EodBar[] {
    const raw = this.rawBars(l, from, to, today);
    if (!raw.length) return [];
    const events = this.actions.factorsBetween(l, raw[0].day, today);
    const scale = quoteScale(l, today);
    const out: Array<EodBar | null> = new Array(raw.length);
    let f = 1;
    let ei = events.length - 1;
    let missing = false;
    for (let i = raw.length - 1; i >= 0; i--) {
      const b = raw[i];
      while (ei >= 0 && events[ei].day > b.day) {
        f *= events[ei].factor;
        ei--;
      }
      out[i] = this.shown(l, b, f, scale, today, view);
      if (out[i] === null) missing = true;
    }
    return missing ? out.filter((b): b is EodBar => b !== null) : (out as EodBar[]);
  }

  /** Adjusted bar of one day, as `view` shows it on `today` (null when there is none: see hasBar). */
  bar(l: Listing, day: number, today: number, view: BarView = 'served'): EodBar | null {
    if (!this.hasTrueBar(l, day, today)) return null;
    const b = this.modelBar(l, day)!;
    const { factor, scale } = this.adjustment(l, day, today);
    return this.shown(l, b, factor, scale, today, view);
  }

  /** Bulk rows of one exchange (or US venue) on a trading day, sorted by code. */
  bulk(
    exchange: ExchangeCode,
    venue: string | null,
    day: number,
    today: number,
    codes?: Set<string>,
  ): Array<{ l: Listing; bar: EodBar }> {
    const out: Array<{ l: Listing; bar: EodBar }> = [];
    for (const l of this.universe.activeOn(exchange, day, today)) {
      if (venue && l.venue !== venue) continue;
      if (codes && !codes.has(l.code.toUpperCase())) continue;
      const bar = this.bar(l, day, today);
      if (bar) out.push({ l, bar });
    }
    return out;
  }

  /** How many listings of an exchange have a visible bar of `day`: bulk's row count, without the bars. */
  barCount(exchange: ExchangeCode, day: number, today: number): number {
    let n = 0;
    for (const l of this.universe.activeOn(exchange, day, today)) if (this.hasBar(l, day, today)) n++;
    return n;
  }

  /** Shares outstanding on a day (forward splits multiply them). */
  sharesOn(l: Listing, day: number): number {
    return Math.round(l.params.sharesOut / this.actions.mult(l, day));
  }
}

/** Served units per model unit: 1, or 1/100 (100) for a listing that moved from pence to pounds (back). */
export function quoteScale(l: Listing, today: number): number {
  return unitsPerMajor(currencyOn(l, today)) / unitsPerMajor(l.currency);
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export function toEod(b: RawBar, factor: number, scale = 1): EodBar {
  const adjusted = factor === 1 ? b.close : Math.max(0.0001, round4(b.close * factor));
  if (scale !== 1) {
    return {
      date: fmtDate(b.day),
      open: round6(b.open * scale),
      high: round6(b.high * scale),
      low: round6(b.low * scale),
      close: round6(b.close * scale),
      adjusted_close: round6(adjusted * scale),
      volume: b.volume,
    };
  }
  return {
    date: fmtDate(b.day),
    open: b.open,
    high: b.high,
    low: b.low,
    close: b.close,
    adjusted_close: adjusted,
    volume: b.volume,
  };
}

/** Indicator fields of bulk `filter=extended`, from the last ~250 bars up to `day`. */
export interface Extended {
  ema_50d: number;
  ema_200d: number;
  hi_250d: number;
  lo_250d: number;
  prev_close: number;
  change: number;
  change_p: number;
  avgvol_14d: number;
  avgvol_50d: number;
  avgvol_200d: number;
}

export function extendedFrom(bars: EodBar[]): Extended {
  const n = bars.length;
  const ema = (period: number) => {
    const a = 2 / (period + 1);
    let e = bars[0].adjusted_close;
    for (let i = 1; i < n; i++) e = a * bars[i].adjusted_close + (1 - a) * e;
    return round4(e);
  };
  const last = bars[n - 1];
  const prev = n > 1 ? bars[n - 2].close : last.open;
  const tail = (k: number) => bars.slice(Math.max(0, n - k));
  const avg = (k: number) => {
    const t = tail(k);
    return Math.round((t.reduce((s, b) => s + b.volume, 0) / t.length) * 100) / 100;
  };
  const y = tail(250);
  return {
    ema_50d: ema(50),
    ema_200d: ema(200),
    hi_250d: Math.max(...y.map((b) => b.high)),
    lo_250d: Math.min(...y.map((b) => b.low)),
    prev_close: prev,
    change: round4(last.close - prev),
    change_p: prev ? round4(((last.close - prev) / prev) * 100) : 0,
    avgvol_14d: avg(14),
    avgvol_50d: avg(50),
    avgvol_200d: avg(200),
  };
}
