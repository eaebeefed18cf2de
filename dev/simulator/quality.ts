// Bad ticks and late corrections, as EODHD has them.
//
// Why: EODHD corrects data "hours, days, or even weeks after initial publication", and its
// data has bad ticks. The pipeline's quality checks and re-reads can only be proved against
// an API that sends both, seeded and on demand, with a ground truth saying which bar is
// wrong, how, and from when the true bar is served. market.ts applies three layers over the
// true bars (prices.ts, corporate-actions.ts), at the simulated instant:
//
// 1. The 14-day fixes (always on; they predate this module and keep their bytes): ~0.2% of
//    bars with volume are first printed with the close 0.4% off and 70% of the volume; the
//    final values are served from 00:00 UTC 14 calendar days after the bar's date.
// 2. Late corrections (option `corrections`, library default 'none', CLI 'default': 0.2%
//    of bars with volume, every listing): the first print has the volume 5-20% off and, on
//    a third of them, the close (and adjusted_close) 0.2-2% off, high/low widened to hold
//    it; served from publication until 1..maxDays (default 5) calendar days later.
// 3. Bad ticks (option `badTicks`, library default 'none', CLI 'default': 1 in 20,000
//    eligible bars per kind): ohlc_order (high and low swapped), non_positive (close 0),
//    unit_x100 / unit_div100 (open, high, low, close, adjusted_close x100 or /100), spike
//    (close and adjusted_close +-60%, high/low widened), volume_spike (x200), zero_volume
//    (volume 0 on a bar whose close moved), stale (the bar and the next 11 sessions repeat
//    the previous session's bar, date aside), missing (no bar although it traded),
//    bad_adjusted (adjusted_close 5% off). 60% are corrected 1-3 calendar days after the
//    publication of their (last) bar, 40% never.
// Injections (injectBadTick, injectCorrection) win over the seeded layers: a seeded bad
// tick within 42 sessions of an injected one, and any seeded correction or bad tick on the
// bars an injection touches, give way. Injections live in memory, as faults do.
//
// Eligibility of seeded bad ticks, so that the ground truth stays clean: liquid (not thin)
// common stocks and ETFs; every bar of the tick and the session before it (what stale
// repeats and zero_volume is compared with) listed, not flat (volume > 0), not a gap, not a
// 14-day fix; no split, dividend ex-date or currency switch on the tick's days; ohlc_order
// needs high > low, zero_volume a close that differs from the previous one.
//
// O(1) per bar: a ticker's sessions (its exchange's calendar, indexed once) are cut into
// blocks of 60 with a seeded phase; a block holds at most one bad tick, drawn with
// probability 60 x (sum of the rates) at one of its positions 1..30, the kind in proportion
// to the rates. Two bad ticks of a ticker are thus always more than 30 sessions apart, a
// stale run and the session before it stay inside one block, and the rate per eligible bar
// is the configured one on average over the phase. The sum of the rates is at most 1/60.

import type { EodBar } from '../../shared/eodhd/schemas.js';
import { CALENDARS, type CalendarId, type TradingCalendar } from './calendar.js';
import { DAY_MS, dayOfInstant } from './clock.js';
import { type CorporateActions, calendarOf } from './corporate-actions.js';
import { fmtDate, isWeekend } from './dates.js';
import { EXCHANGES } from './exchanges.js';
import { h2, h3, S, u3 } from './hash.js';
import { DECIMAL_VOLUMES, isFlatDay, isGapDay, px, type RawBar } from './prices.js';
import { publicationInstant } from './publication.js';
import type { Listing } from './universe.js';

export const BAD_TICK_KINDS = [
  'ohlc_order',
  'non_positive',
  'unit_x100',
  'unit_div100',
  'spike',
  'volume_spike',
  'zero_volume',
  'stale',
  'missing',
  'bad_adjusted',
] as const;
export type BadTickKind = (typeof BAD_TICK_KINDS)[number];

/** 'none', 'default' (1 in 20,000 eligible bars per kind), or a rate per eligible bar by kind. */
export type BadTicksOption = 'none' | 'default' | Partial<Record<BadTickKind, number>>;
/** 'none', 'default' (0.2% of bars, corrected within 5 days), or a share of bars and the longest delay in days. */
export type CorrectionsOption = 'none' | 'default' | { rate: number; maxDays?: number };

export const DEFAULT_BAD_TICK_RATE = 1 / 20_000;
export const DEFAULT_CORRECTION_RATE = 0.002;
export const DEFAULT_CORRECTION_MAX_DAYS = 5;
/** Sessions a stale run covers (its first bar included). */
export const STALE_SESSIONS = 12;

const BLOCK = 60;
const SLOTS = 30;
/** The largest sum of bad tick rates: one per block of 60 sessions. */
export const MAX_BAD_TICK_RATE = 1 / BLOCK;
const SUPPRESS_SESSIONS = SLOTS + STALE_SESSIONS;
const CORRECTED_SHARE = 0.6;
const SPIKE = 0.6;
const BAD_ADJUSTED = 0.05;
const VOLUME_SPIKE = 200;
const MAX_CORRECTION_DAYS = 60;

/** The 14-day fixes (layer 1): share of bars, and days after the bar's date. */
export const LEGACY_FIX_SHARE = 0.002;
export const LEGACY_FIX_DAYS = 14;

/** A bad tick, as the ground truth lists it (a stale run by its first date). */
export interface BadTick {
  symbol: string;
  date: string;
  kind: BadTickKind;
  /** the UTC day of the instant from which the true bar is served; null: never corrected */
  correctedOn: string | null;
}

/** A bar first printed with other values than its final ones. */
export interface LateCorrection {
  symbol: string;
  date: string;
  /** the UTC day of the instant from which the final values are served */
  correctedOn: string;
  firstPrint: EodBar;
  final: EodBar;
}

export function isBadTickKind(k: unknown): k is BadTickKind {
  return typeof k === 'string' && (BAD_TICK_KINDS as readonly string[]).includes(k);
}

/** Rates by kind (kinds with a rate > 0, in BAD_TICK_KINDS order); throws a one-line reason. */
export function resolveBadTicks(o: unknown = 'none'): Array<[BadTickKind, number]> {
  if (o === 'none') return [];
  if (o === 'default') return BAD_TICK_KINDS.map((k) => [k, DEFAULT_BAD_TICK_RATE]);
  if (!o || typeof o !== 'object' || Array.isArray(o))
    throw new Error(`badTicks must be 'none', 'default' or rates by kind, not ${JSON.stringify(o)}`);
  const rates = o as Record<string, unknown>;
  let total = 0;
  for (const [k, r] of Object.entries(rates)) {
    if (!isBadTickKind(k)) throw new Error(`unknown bad tick kind ${k}: one of ${BAD_TICK_KINDS.join(', ')}`);
    if (typeof r !== 'number' || !(r >= 0 && r <= 1)) throw new Error(`the rate of ${k} must be a number from 0 to 1`);
    total += r;
  }
  if (total > MAX_BAD_TICK_RATE * (1 + 1e-9))
    throw new Error(
      `bad tick rates add up to ${total}; at most 1/${BLOCK} per bar (one bad tick per ${BLOCK} sessions)`,
    );
  return BAD_TICK_KINDS.filter((k) => (rates[k] as number | undefined) !== undefined && (rates[k] as number) > 0).map(
    (k) => [k, rates[k] as number],
  );
}

/** The share of bars corrected late and the longest delay; throws a one-line reason. */
export function resolveCorrections(o: unknown = 'none'): { rate: number; maxDays: number } {
  if (o === 'none') return { rate: 0, maxDays: DEFAULT_CORRECTION_MAX_DAYS };
  if (o === 'default') return { rate: DEFAULT_CORRECTION_RATE, maxDays: DEFAULT_CORRECTION_MAX_DAYS };
  const c = o as { rate?: unknown; maxDays?: unknown };
  if (!c || typeof c !== 'object' || Array.isArray(c))
    throw new Error(`corrections must be 'none', 'default' or { rate, maxDays? }, not ${JSON.stringify(o)}`);
  if (typeof c.rate !== 'number' || !(c.rate >= 0 && c.rate <= 1))
    throw new Error('corrections.rate must be a number from 0 to 1');
  const maxDays = c.maxDays ?? DEFAULT_CORRECTION_MAX_DAYS;
  if (typeof maxDays !== 'number' || !Number.isInteger(maxDays) || maxDays < 1 || maxDays > MAX_CORRECTION_DAYS)
    throw new Error(`corrections.maxDays must be a whole number from 1 to ${MAX_CORRECTION_DAYS}`);
  return { rate: c.rate, maxDays };
}

/** A --bad-ticks value: none, default, or kind=rate,... (throws a one-line reason). */
export function parseBadTicksArg(raw: string): BadTicksOption {
  if (raw === 'none' || raw === 'default') return raw;
  const out: Partial<Record<BadTickKind, number>> = {};
  for (const part of raw.split(',')) {
    const [k, v, extra] = part.split('=');
    if (v === undefined || extra !== undefined || v.trim() === '' || !Number.isFinite(Number(v)))
      throw new Error(
        `--bad-ticks is none, default or kind=rate,... (kinds: ${BAD_TICK_KINDS.join(', ')}), not ${raw}`,
      );
    if (!isBadTickKind(k.trim()))
      throw new Error(`--bad-ticks: unknown kind ${k.trim()}: one of ${BAD_TICK_KINDS.join(', ')}`);
    out[k.trim() as BadTickKind] = Number(v);
  }
  resolveBadTicks(out);
  return out;
}

/** A --corrections value: none, default, or a share of bars (throws a one-line reason). */
export function parseCorrectionsArg(raw: string): CorrectionsOption {
  if (raw === 'none' || raw === 'default') return raw;
  const rate = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!(rate >= 0 && rate <= 1)) throw new Error(`--corrections is none, default or a rate from 0 to 1, not ${raw}`);
  return { rate };
}

/** Where the pipeline reads bars from (market.ts implements it). */
export interface BarSource {
  /** The true bar of a session, published or not; null when the listing has none that day. */
  modelBar(l: Listing, day: number): RawBar | null;
  /** The adjustment factor of a bar of `day` as of `today`, and served units per model unit. */
  adjustment(l: Listing, day: number, today: number): { factor: number; scale: number };
  toEod(b: RawBar, factor: number, scale: number): EodBar;
}

// ------------------------------------------------------------------ sessions, indexed

const INDEX_DAYS = 73_000; // day numbers 0 (1970-01-01) .. 2169

/** A calendar's sessions, numbered: a ticker's blocks of 60 sessions in O(1). */
class Sessions {
  private readonly before = new Int32Array(INDEX_DAYS + 1);
  private readonly days: Int32Array;

  constructor(cal: TradingCalendar) {
    const list: number[] = [];
    for (let d = 0; d < INDEX_DAYS; d++) {
      this.before[d] = list.length;
      if (cal.isTradingDay(d)) list.push(d);
    }
    this.before[INDEX_DAYS] = list.length;
    this.days = Int32Array.from(list);
  }

  /** Sessions before `day`: the index of `day` when it is a session. */
  index(day: number): number {
    return this.before[Math.max(0, Math.min(INDEX_DAYS, day))];
  }

  /** The session of an index, or -1 out of range. */
  day(i: number): number {
    return i >= 0 && i < this.days.length ? this.days[i] : -1;
  }
}

const sessionsByCalendar = new Map<CalendarId, Sessions>();

function sessionsOf(l: Listing): Sessions {
  const id = EXCHANGES[l.exchange].calendar;
  let s = sessionsByCalendar.get(id);
  if (!s) {
    s = new Sessions(CALENDARS[id]);
    sessionsByCalendar.set(id, s);
  }
  return s;
}

// ------------------------------------------------------------------ helpers

/** The 14-day fixes' draw (u < LEGACY_FIX_SHARE: this bar is one, when it has volume). */
export function isLegacyFixDay(l: Listing, day: number): boolean {
  return u3(l.seed, S.corr, day) < LEGACY_FIX_SHARE;
}

/** A 14-day fix's first print: close 0.4% off (either way), 70% of the volume. */
export function legacyFirstPrint(l: Listing, b: RawBar): RawBar {
  const u = u3(l.seed, S.corr, b.day);
  const close = px(b.close * (u < LEGACY_FIX_SHARE / 2 ? 1.004 : 0.996));
  return {
    day: b.day,
    open: b.open,
    close,
    high: Math.max(b.high, close),
    low: Math.min(b.low, close),
    volume: DECIMAL_VOLUMES.has(l.exchange)
      ? Math.max(0.01, Math.round(b.volume * 70) / 100)
      : Math.max(1, Math.round(b.volume * 0.7)),
  };
}

function liquid(l: Listing): boolean {
  return (l.type === 'Common Stock' || l.type === 'ETF') && !l.params.thin;
}

const phaseOf = (l: Listing) => h2(l.seed, S.badPhase) % BLOCK;
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
const round8 = (x: number) => Math.round(x * 1e8) / 1e8;
/** A price in the bar's precision: 4 decimals in model units, 6 in restated ones (GBX <-> GBP). */
const price = (x: number, scale: number) => (scale === 1 ? px(x) : Math.max(0.000001, round6(x)));
const tickOf = (scale: number) => (scale === 1 ? 0.0001 : 0.000001);
const volumeOf = (l: Listing, v: number) =>
  DECIMAL_VOLUMES.has(l.exchange) ? Math.max(0, Math.round(v * 100) / 100) : Math.max(0, Math.round(v));

interface Tick {
  symbol: string;
  kind: BadTickKind;
  start: number;
  startIdx: number;
  /** first day of the footprint: the session before `start` (stale repeats it, zero_volume differs from it) */
  from: number;
  /** last day served wrong (stale: the 12th session) */
  last: number;
  /** the instant (ms) from which the true bars are served; null: never */
  fixAt: number | null;
  sign: 1 | -1;
  injected: boolean;
}

interface Fix {
  symbol: string;
  day: number;
  /** the instant (ms) from which the final values are served */
  fixAt: number;
  source: 'legacy' | 'seeded' | 'injected';
  /** seeded: the first print's volume and close, as factors of the final ones */
  volumeFactor: number;
  closeFactor: number;
  /** injected: the first print's values, in served units of quote scale `scale` */
  close?: number;
  volume?: number;
  scale?: number;
}

// ------------------------------------------------------------------ the layer

export class DataQuality {
  private readonly rates: Array<[BadTickKind, number]>;
  private readonly total: number;
  private readonly pBlock: number;
  private readonly fixRate: number;
  private readonly fixMaxDays: number;
  private readonly injectedTicks = new Map<string, Tick[]>();
  private readonly injectedFixes = new Map<string, Map<number, Fix>>();
  private readonly memo = new Map<string, Tick | null>();
  /** Counts the injections: answers memoized before one are stale (api.ts, bulk extended). */
  version = 0;

  constructor(
    private readonly bars: BarSource,
    private readonly actions: CorporateActions,
    badTicks: unknown = 'none',
    corrections: unknown = 'none',
  ) {
    this.rates = resolveBadTicks(badTicks);
    this.total = this.rates.reduce((s, [, r]) => s + r, 0);
    this.pBlock = Math.min(1, this.total * BLOCK);
    const c = resolveCorrections(corrections);
    this.fixRate = c.rate;
    this.fixMaxDays = c.maxDays;
  }

  /** Whether anything beyond the 14-day fixes can change a bar (market.ts takes its old path when not). */
  get active(): boolean {
    return this.total > 0 || this.fixRate > 0 || this.injectedTicks.size > 0 || this.injectedFixes.size > 0;
  }

  /** What /__sim/state shows. */
  state(): {
    badTicks: Partial<Record<BadTickKind, number>>;
    corrections: { rate: number; maxDays: number };
    injected: { badTicks: BadTick[]; corrections: Array<{ symbol: string; date: string; correctedOn: string }> };
  } {
    return {
      badTicks: Object.fromEntries(this.rates),
      corrections: { rate: this.fixRate, maxDays: this.fixMaxDays },
      injected: {
        badTicks: [...this.injectedTicks.values()].flat().map((t) => this.record(t)),
        corrections: [...this.injectedFixes.values()]
          .flatMap((m) => [...m.values()])
          .map((f) => ({ symbol: f.symbol, date: fmtDate(f.day), correctedOn: fmtDate(dayOfInstant(f.fixAt)) })),
      },
    };
  }

  // ---------------------------------------------------------------- serving

  /**
   * The bar the API serves at instant `now` for a true bar `b` (adjusted by `factor`, in
   * units `scale`): its first print until corrected, a bad tick until corrected; null for
   * a missing one.
   */
  serve(l: Listing, b: RawBar, factor: number, scale: number, now: number, today: number): EodBar | null {
    const fix = this.fixOf(l, b);
    const early = fix !== null && now < fix.fixAt;
    let e = this.bars.toEod(early && fix.source === 'legacy' ? legacyFirstPrint(l, b) : b, factor, scale);
    if (early && fix.source !== 'legacy') e = this.firstPrint(l, fix, e, scale);
    const t = this.tickAt(l, b.day, false);
    if (t && (t.fixAt === null || now < t.fixAt)) return this.wrong(l, t, e, scale, today);
    return e;
  }

  /** Whether a `missing` bad tick hides the bar of `day` at instant `now`. */
  hidden(l: Listing, day: number, now: number): boolean {
    const t = this.tickAt(l, day, false);
    return t !== null && t.kind === 'missing' && (t.fixAt === null || now < t.fixAt);
  }

  private wrong(l: Listing, t: Tick, e: EodBar, scale: number, today: number): EodBar | null {
    switch (t.kind) {
      case 'ohlc_order':
        return { ...e, high: e.low, low: e.high };
      case 'non_positive':
        return { ...e, close: 0 };
      case 'unit_x100':
      case 'unit_div100': {
        const f = t.kind === 'unit_x100' ? (x: number) => round6(x * 100) : (x: number) => round8(x / 100);
        return {
          ...e,
          open: f(e.open),
          high: f(e.high),
          low: f(e.low),
          close: f(e.close),
          adjusted_close: f(e.adjusted_close),
        };
      }
      case 'spike': {
        const k = 1 + SPIKE * t.sign;
        const close = price(e.close * k, scale);
        return {
          ...e,
          high: Math.max(e.high, close),
          low: Math.min(e.low, close),
          close,
          adjusted_close: price(e.adjusted_close * k, scale),
        };
      }
      case 'volume_spike':
        return { ...e, volume: volumeOf(l, e.volume * VOLUME_SPIKE) };
      case 'zero_volume':
        return { ...e, volume: 0 };
      case 'stale': {
        const prev = this.trueBar(l, t.from, today);
        return prev ? { ...prev, date: e.date } : e;
      }
      case 'missing':
        return null;
      case 'bad_adjusted':
        return { ...e, adjusted_close: price(e.adjusted_close * (1 + BAD_ADJUSTED * t.sign), scale) };
    }
  }

  private firstPrint(l: Listing, fix: Fix, e: EodBar, scale: number): EodBar {
    let out = { ...e };
    if (fix.source === 'injected') {
      if (fix.volume !== undefined) out.volume = fix.volume;
      if (fix.close !== undefined)
        out = withClose(out, fix.scale === scale ? fix.close : price((fix.close * scale) / fix.scale!, scale), scale);
      return out;
    }
    let v = volumeOf(l, e.volume * fix.volumeFactor);
    if (v === e.volume) v = e.volume + (DECIMAL_VOLUMES.has(l.exchange) ? 0.01 : 1);
    out.volume = v;
    if (fix.closeFactor !== 1) {
      let c = price(e.close * fix.closeFactor, scale);
      if (c === e.close)
        c = price(e.close + tickOf(scale) * (fix.closeFactor > 1 || e.close <= tickOf(scale) ? 1 : -1), scale);
      out = withClose(out, c, scale);
    }
    return out;
  }

  /** The true bar of a session as of `today`, published or not. */
  private trueBar(l: Listing, day: number, today: number): EodBar | null {
    const raw = this.bars.modelBar(l, day);
    if (!raw) return null;
    const { factor, scale } = this.bars.adjustment(l, day, today);
    return this.bars.toEod(raw, factor, scale);
  }

  // ---------------------------------------------------------------- corrections

  /** The correction of a true bar, if it has one: injected, a 14-day fix, or seeded. */
  private fixOf(l: Listing, b: RawBar): Fix | null {
    const injected = this.injectedFixes.get(l.key)?.get(b.day);
    if (injected) return injected;
    if (b.volume === 0) return null;
    const legacy = isLegacyFixDay(l, b.day);
    if (!legacy && !(this.fixRate > 0 && u3(l.seed, S.lateFix, b.day) < this.fixRate)) return null;
    // A bad tick's bars are never corrected besides: the 14-day fixes only give way to an
    // injected tick (seeded ones avoid them), seeded corrections to any.
    if (legacy ? this.injectedTickAt(l, b.day, true) : this.tickAt(l, b.day, true)) return null;
    if (legacy)
      return {
        symbol: l.key,
        day: b.day,
        fixAt: (b.day + LEGACY_FIX_DAYS) * DAY_MS,
        source: 'legacy',
        volumeFactor: 1,
        closeFactor: 1,
      };
    const m = (i: number) => u3(l.seed, S.lateFixMeta + i, b.day);
    const days = 1 + Math.floor(m(0) * this.fixMaxDays);
    const sign = (i: number) => (m(i) < 0.5 ? -1 : 1);
    return {
      symbol: l.key,
      day: b.day,
      fixAt: publicationInstant(l.exchange, b.day) + days * DAY_MS,
      source: 'seeded',
      volumeFactor: 1 + sign(1) * (0.05 + 0.15 * m(2)),
      closeFactor: m(3) < 1 / 3 ? 1 + sign(4) * (0.002 + 0.018 * m(5)) : 1,
    };
  }

  // ---------------------------------------------------------------- bad ticks

  /** The bad tick serving `day` wrong (footprint: or reading the session before it), if any. */
  private tickAt(l: Listing, day: number, footprint: boolean): Tick | null {
    const injected = this.injectedTickAt(l, day, footprint);
    if (injected) return injected;
    if (this.total === 0 || !liquid(l)) return null;
    const t = this.seededTick(l, Math.floor((sessionsOf(l).index(day) + phaseOf(l)) / BLOCK));
    return t && (footprint ? t.from : t.start) <= day && day <= t.last ? t : null;
  }

  private injectedTickAt(l: Listing, day: number, footprint: boolean): Tick | null {
    const ticks = this.injectedTicks.get(l.key);
    if (ticks) for (const t of ticks) if ((footprint ? t.from : t.start) <= day && day <= t.last) return t;
    return null;
  }

  /** The seeded bad tick of a block of the ticker's sessions, if any (and not displaced by an injection). */
  private seededTick(l: Listing, block: number): Tick | null {
    const u = u3(l.seed, S.badTick, block);
    if (u >= this.pBlock) return null;
    const key = `${l.key}|${block}`;
    let t = this.memo.get(key);
    if (t === undefined) {
      t = this.drawTick(l, block, u);
      if (this.memo.size >= 200_000) this.memo.clear();
      this.memo.set(key, t);
    }
    return t && !this.displaced(l, t) ? t : null;
  }

  private drawTick(l: Listing, block: number, u: number): Tick | null {
    let x = (u / this.pBlock) * this.total;
    let kind = this.rates[this.rates.length - 1][0];
    for (const [k, r] of this.rates) {
      if (x < r) {
        kind = k;
        break;
      }
      x -= r;
    }
    const startIdx = block * BLOCK + 1 + (h3(l.seed, S.badPos, block) % SLOTS) - phaseOf(l);
    const m = u3(l.seed, S.badMeta, block);
    const fixDays = m < CORRECTED_SHARE ? 1 + Math.floor((m / CORRECTED_SHARE) * 3) : null;
    const t = this.makeTick(l, kind, startIdx, fixDays, u3(l.seed, S.badMeta + 1, block) < 0.5 ? 1 : -1, false);
    return t && this.eligible(l, t) ? t : null;
  }

  private makeTick(
    l: Listing,
    kind: BadTickKind,
    startIdx: number,
    fixDays: number | null,
    sign: 1 | -1,
    injected: boolean,
  ): Tick | null {
    const s = sessionsOf(l);
    let lastIdx = kind === 'stale' ? startIdx + STALE_SESSIONS - 1 : startIdx;
    // an injected run ends at the delisting
    if (injected) while (lastIdx > startIdx && s.day(lastIdx) >= l.delistDay) lastIdx--;
    const start = s.day(startIdx);
    const from = s.day(startIdx - 1);
    const last = s.day(lastIdx);
    if (start < 0 || from < 0 || last < 0) return null;
    return {
      symbol: l.key,
      kind,
      start,
      startIdx,
      from,
      last,
      fixAt: fixDays === null ? null : publicationInstant(l.exchange, last) + Math.round(fixDays * DAY_MS),
      sign,
      injected,
    };
  }

  private eligible(l: Listing, t: Tick): boolean {
    if (t.from < l.listDay || t.last >= l.delistDay) return false;
    const cal = calendarOf(l);
    for (let d = t.from; d <= t.last; d = cal.next(d))
      if (isFlatDay(l, d) || isGapDay(l, d) || isLegacyFixDay(l, d)) return false;
    for (const s of this.actions.splits(l)) if (s.day >= t.start && s.day <= t.last) return false;
    if (l.currencySwitch && l.currencySwitch.day >= t.start && l.currencySwitch.day <= t.last) return false;
    if (this.actions.dividendsBetween(l, t.start, t.last).length > 0) return false;
    return this.misfit(l, t.kind, t.start) === null;
  }

  /** Why `kind` cannot show on the bar of `day` (null: it can). */
  private misfit(l: Listing, kind: BadTickKind, day: number): string | null {
    const date = fmtDate(day);
    const bar = this.bars.modelBar(l, day);
    if (!bar) return `${l.key} has no bar on ${date}`;
    const prevBar = () => (day > l.listDay ? this.bars.modelBar(l, calendarOf(l).prev(day)) : null);
    switch (kind) {
      case 'ohlc_order':
        return bar.high > bar.low ? null : `${l.key} has high = low on ${date}: nothing to swap`;
      case 'volume_spike':
        return bar.volume > 0 ? null : `${l.key} traded no volume on ${date}`;
      case 'zero_volume': {
        const prev = prevBar();
        if (!prev) return `${l.key} has no bar on the session before ${date} to differ from`;
        return bar.volume > 0 && bar.close !== prev.close
          ? null
          : `${l.key}'s close on ${date} does not move from the session before (or it traded no volume)`;
      }
      case 'stale': {
        const prev = prevBar();
        return prev && prev.volume > 0
          ? null
          : `${l.key} has no bar with volume on the session before ${date} to repeat`;
      }
      default:
        return null;
    }
  }

  /** A seeded tick gives way to an injected one within 42 sessions, and to an injected correction on its bars. */
  private displaced(l: Listing, t: Tick): boolean {
    const ticks = this.injectedTicks.get(l.key);
    if (ticks) for (const i of ticks) if (Math.abs(i.startIdx - t.startIdx) <= SUPPRESS_SESSIONS) return true;
    const fixes = this.injectedFixes.get(l.key);
    if (fixes) for (const d of fixes.keys()) if (d >= t.from && d <= t.last) return true;
    return false;
  }

  // ---------------------------------------------------------------- on demand

  /** A bar of `day` must exist (a session, listed, not a gap); throws the reason. */
  private checkSession(l: Listing, day: number): void {
    const date = fmtDate(day);
    if (!calendarOf(l).isTradingDay(day))
      throw new Error(`${date} is not a session of ${l.exchange} (${isWeekend(day) ? 'a weekend' : 'a holiday'})`);
    if (day < l.listDay) throw new Error(`${l.key} was listed on ${fmtDate(l.listDay)}, after ${date}`);
    if (day >= l.delistDay) throw new Error(`${l.key} was delisted on ${fmtDate(l.delistDay)}, before ${date}`);
    if (isGapDay(l, day)) throw new Error(`${l.key} has no bar on ${date} (a thin ticker's day without trades)`);
  }

  injectBadTick(l: Listing, day: number, kind: unknown, correctedAfterDays: unknown): BadTick {
    if (!isBadTickKind(kind))
      throw new Error(`unknown bad tick kind ${String(kind)}: one of ${BAD_TICK_KINDS.join(', ')}`);
    const fixDays = checkDays(correctedAfterDays ?? null, true);
    this.checkSession(l, day);
    const why = this.misfit(l, kind, day);
    if (why) throw new Error(`${kind} cannot show there: ${why}`);
    const sign = u3(l.seed, S.badMeta + 2, day) < 0.5 ? 1 : -1;
    const t = this.makeTick(l, kind, sessionsOf(l).index(day), fixDays, sign, true);
    if (!t) throw new Error(`${fmtDate(day)} is outside the simulated calendar`);
    const ticks = (this.injectedTicks.get(l.key) ?? []).filter((o) => o.last < t.from || o.from > t.last);
    ticks.push(t);
    this.injectedTicks.set(l.key, ticks);
    this.version++;
    const fixes = this.injectedFixes.get(l.key);
    if (fixes) {
      for (const d of [...fixes.keys()]) if (d >= t.from && d <= t.last) fixes.delete(d);
      if (fixes.size === 0) this.injectedFixes.delete(l.key);
    }
    return this.record(t);
  }

  injectCorrection(
    l: Listing,
    day: number,
    values: { close?: unknown; volume?: unknown; correctedAfterDays?: unknown },
    scale: number,
  ): { symbol: string; date: string; correctedOn: string } {
    const fixDays = checkDays(values.correctedAfterDays, false)!;
    const { close, volume } = values;
    if (close === undefined && volume === undefined)
      throw new Error("a correction needs the first print's close or volume (or both)");
    if (close !== undefined && !(typeof close === 'number' && Number.isFinite(close) && close > 0))
      throw new Error('close must be a number > 0');
    if (volume !== undefined && !(typeof volume === 'number' && Number.isFinite(volume) && volume >= 0))
      throw new Error('volume must be a number >= 0');
    this.checkSession(l, day);
    const fix: Fix = {
      symbol: l.key,
      day,
      fixAt: publicationInstant(l.exchange, day) + Math.round(fixDays * DAY_MS),
      source: 'injected',
      volumeFactor: 1,
      closeFactor: 1,
      close: close as number | undefined,
      volume: volume as number | undefined,
      scale,
    };
    const ticks = this.injectedTicks.get(l.key);
    if (ticks) {
      const kept = ticks.filter((t) => day < t.from || day > t.last);
      if (kept.length) this.injectedTicks.set(l.key, kept);
      else this.injectedTicks.delete(l.key);
    }
    const fixes = this.injectedFixes.get(l.key) ?? new Map<number, Fix>();
    fixes.set(day, fix);
    this.injectedFixes.set(l.key, fixes);
    this.version++;
    return { symbol: l.key, date: fmtDate(day), correctedOn: fmtDate(dayOfInstant(fix.fixAt)) };
  }

  // ---------------------------------------------------------------- ground truth

  /** Every bad tick (seeded and injected) whose first date is a session in [from, to], by date then symbol. */
  badTicks(listings: Listing[], from: number, to: number): BadTick[] {
    const found: Tick[] = [];
    for (const l of listings) {
      const a = Math.max(from, l.listDay);
      const b = Math.min(to, l.delistDay - 1);
      if (a > b) continue;
      for (const t of this.injectedTicks.get(l.key) ?? []) if (t.start >= from && t.start <= to) found.push(t);
      if (this.total === 0 || !liquid(l)) continue;
      const s = sessionsOf(l);
      const ia = s.index(a);
      const ib = s.index(b + 1) - 1;
      if (ia > ib) continue;
      const phase = phaseOf(l);
      for (let k = Math.floor((ia + phase) / BLOCK); k <= Math.floor((ib + phase) / BLOCK); k++) {
        const t = this.seededTick(l, k);
        if (t && t.start >= a && t.start <= b) found.push(t);
      }
    }
    found.sort((x, y) => x.start - y.start || (x.symbol < y.symbol ? -1 : x.symbol > y.symbol ? 1 : 0));
    return found.map((t) => this.record(t));
  }

  /** Every bar in [from, to] first printed otherwise than its final values (the three sources), by date then symbol. */
  lateCorrections(listings: Listing[], from: number, to: number, today: number): LateCorrection[] {
    const out: LateCorrection[] = [];
    for (const l of listings) {
      const a = Math.max(from, l.listDay);
      const b = Math.min(to, l.delistDay - 1);
      if (a > b) continue;
      const injected = this.injectedFixes.get(l.key);
      const cal = calendarOf(l);
      for (let d = cal.onOrAfter(a); d <= b; d = cal.next(d)) {
        if (
          !injected?.has(d) &&
          !isLegacyFixDay(l, d) &&
          !(this.fixRate > 0 && u3(l.seed, S.lateFix, d) < this.fixRate)
        )
          continue;
        const raw = this.bars.modelBar(l, d);
        const fix = raw && this.fixOf(l, raw);
        if (!raw || !fix) continue;
        const { factor, scale } = this.bars.adjustment(l, d, today);
        const final = this.bars.toEod(raw, factor, scale);
        out.push({
          symbol: l.key,
          date: fmtDate(d),
          correctedOn: fmtDate(dayOfInstant(fix.fixAt)),
          firstPrint:
            fix.source === 'legacy'
              ? this.bars.toEod(legacyFirstPrint(l, raw), factor, scale)
              : this.firstPrint(l, fix, final, scale),
          final,
        });
      }
    }
    return out.sort((x, y) => (x.date < y.date ? -1 : x.date > y.date ? 1 : x.symbol < y.symbol ? -1 : 1));
  }

  private record(t: Tick): BadTick {
    return {
      symbol: t.symbol,
      date: fmtDate(t.start),
      kind: t.kind,
      correctedOn: t.fixAt === null ? null : fmtDate(dayOfInstant(t.fixAt)),
    };
  }
}

/** correctedAfterDays: calendar days after publication, > 0 (null: never, where allowed). */
function checkDays(v: unknown, nullable: boolean): number | null {
  if (v === null && nullable) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 3650)
    throw new Error(
      `correctedAfterDays must be a number of days from 0 (excluded) to 3650${nullable ? ', or null (never corrected)' : ''}`,
    );
  return v;
}

/** A bar with another close: adjusted_close moves with it, high and low widen to hold it. */
function withClose(e: EodBar, close: number, scale: number): EodBar {
  return {
    ...e,
    high: Math.max(e.high, close),
    low: Math.min(e.low, close),
    close,
    adjusted_close: e.close > 0 ? price((e.adjusted_close * close) / e.close, scale) : e.adjusted_close,
  };
}
