// Splits and dividends.
//
// Why they matter: EODHD's `adjusted_close` is recomputed over the whole history at each
// split or dividend, so a pipeline that stores adjusted prices goes stale unless it reacts
// to corporate actions. The simulator reproduces that exactly: raw OHLC never change,
// `adjusted_close` of a bar = close x the product of the factors of every action after the
// bar's date and up to the simulated *today* (market.ts applies it).
//
// Factors, as EODHD/CRSP define them:
//   split  new:old (e.g. "2.000000/1.000000")  -> old / new
//   dividend D on ex-date E                     -> 1 - D / close(trading day before E)
//
// Schedules (deterministic per ticker, independent of the clock):
// - splits: each year after listing, a 1-in-300 chance; forward splits for expensive
//   tickers, reverse splits for penny stocks; announced 10-40 days before. Plus the
//   anchored sample splits (universe.ts) two and six trading days after BASE_DATE.
// - dividends: payers (35% of US tickers, more in Europe, almost no penny stocks) pay
//   quarterly (US), semi-annually or annually from their second year; the amount is
//   sized on the price trend and held for a calendar year (sticky, raised yearly), capped
//   at 25% of the previous close. Declared 15-40 days before the ex-date; some older or
//   smaller records lack declaration/record/payment dates or the period (EODHD has nulls
//   there too).
//
// Raw prices are split-aware here: the model's economic level is multiplied by
// mult(day) = (product of old/new of splits up to day) / (the same up to BASE_DATE), so that
// prices on BASE_DATE sit at the ticker's base level and a split after it moves the raw
// price, as a real split does.

import { CALENDARS, type TradingCalendar } from './calendar.js';
import { BASE_DAY } from './constants.js';
import { dayOf, isWeekend, yearOf, ymd } from './dates.js';
import { EXCHANGES } from './exchanges.js';
import { h3, pick, S, u2, u3 } from './hash.js';
import { econLevel, isFlatDay, px, round4, trendLevel } from './prices.js';
import type { AnchorSplit, Listing, Universe } from './universe.js';

export interface Split {
  day: number;
  newShares: number;
  oldShares: number;
  announceDay: number;
  optionable: boolean;
}

export interface Dividend {
  day: number; // ex-date
  amount: number; // raw (unadjusted), quote currency
  currency: string;
  declarationDay: number | null;
  recordDay: number | null;
  paymentDay: number | null;
  period: string | null;
  /** when the market learns about it (calendar endpoints show it from then on) */
  knownDay: number;
}

export interface ActionFactor {
  day: number;
  factor: number;
}

const SPLIT_CHANCE = 1 / 300;
const SPLIT_HORIZON_YEAR = 2060;

export function calendarOf(l: Listing): TradingCalendar {
  return CALENDARS[EXCHANGES[l.exchange].calendar];
}

function splitRatio(l: Listing, year: number): [number, number] {
  const majorPrice = Math.exp(l.params.mu) / l.params.major;
  const u = u3(l.seed, S.splitRatio, year);
  if (majorPrice > 80)
    return pick<[number, number]>(
      [
        [2, 1],
        [2, 1],
        [3, 1],
        [4, 1],
        [3, 2],
        [5, 1],
        [10, 1],
      ],
      u,
    );
  if (majorPrice < 1)
    return pick<[number, number]>(
      [
        [1, 10],
        [1, 10],
        [1, 5],
        [1, 20],
        [1, 50],
      ],
      u,
    );
  return pick<[number, number]>(
    [
      [2, 1],
      [2, 1],
      [3, 2],
      [3, 2],
      [2, 1],
      [1, 10],
      [1, 4],
    ],
    u,
  );
}

interface SplitInfo {
  splits: Split[];
  cum: number[]; // cum[i] = product of old/new of splits[0..i]
  baseCum: number; // product up to BASE_DAY
}

export class CorporateActions {
  private readonly splitCache = new Map<string, SplitInfo>();
  private readonly anchors = new Map<string, AnchorSplit[]>();

  constructor(universe: Universe) {
    for (const a of universe.anchorSplits) {
      const arr = this.anchors.get(a.key) ?? [];
      arr.push(a);
      this.anchors.set(a.key, arr);
    }
  }

  private splitInfo(l: Listing): SplitInfo {
    let info = this.splitCache.get(l.key);
    if (info) return info;
    const cal = calendarOf(l);
    const splits: Split[] = [];
    const anchors = this.anchors.get(l.key) ?? [];
    for (const a of anchors) {
      splits.push({
        day: a.day,
        newShares: a.newShares,
        oldShares: a.oldShares,
        announceDay: a.day - 21,
        optionable: l.exchange === 'US',
      });
    }
    const last = Math.min(SPLIT_HORIZON_YEAR, Number.isFinite(l.delistDay) ? yearOf(l.delistDay) : SPLIT_HORIZON_YEAR);
    for (let y = yearOf(l.listDay) + 1; y <= last; y++) {
      if (u3(l.seed, S.split, y) >= SPLIT_CHANCE) continue;
      const day = cal.onOrAfter(dayOf(y, 1, 2) + Math.floor(u3(l.seed, S.splitDay, y) * 360));
      if (day <= l.listDay + 200 || day >= l.delistDay) continue;
      if (anchors.some((a) => Math.abs(a.day - day) < 60)) continue;
      const [n, o] = splitRatio(l, y);
      splits.push({
        day,
        newShares: n,
        oldShares: o,
        announceDay: day - 10 - (h3(l.seed, S.splitDay, y) % 30),
        optionable: l.exchange === 'US' && u2(l.seed, S.splitRatio) < 0.6,
      });
    }
    splits.sort((a, b) => a.day - b.day);
    const cum: number[] = [];
    let c = 1,
      baseCum = 1;
    for (const s of splits) {
      c *= s.oldShares / s.newShares;
      cum.push(c);
      if (s.day <= BASE_DAY) baseCum = c;
    }
    info = { splits, cum, baseCum };
    this.splitCache.set(l.key, info);
    return info;
  }

  /** All splits of a ticker (any date; callers filter by what "today" may reveal). */
  splits(l: Listing): Split[] {
    return this.splitInfo(l).splits;
  }

  /** Split multiplier of raw prices on day n (see header). */
  mult(l: Listing, n: number): number {
    const { splits, cum, baseCum } = this.splitInfo(l);
    let c = 1;
    for (let i = 0; i < splits.length && splits[i].day <= n; i++) c = cum[i];
    return c / baseCum;
  }

  /** Economic close with flat days carried from the previous trading day. */
  econClose(l: Listing, n: number): number {
    const cal = calendarOf(l);
    let d = n;
    for (let i = 0; i < 40 && isFlatDay(l, d); i++) d = cal.prev(d);
    return econLevel(l, d);
  }

  /** Final raw close of day n (what the dividend factor divides by). */
  rawClose(l: Listing, n: number): number {
    return px(this.econClose(l, n) * this.mult(l, n));
  }

  /** Dividends with ex-date in [a, b] (inclusive), ascending. */
  dividendsBetween(l: Listing, a: number, b: number): Dividend[] {
    const p = l.params;
    if (!p.divFreq || b < a) return [];
    const first = Math.max(a, l.listDay + 365);
    const lastDay = Math.min(b, l.delistDay - 1);
    if (lastDay < first) return [];
    const cal = calendarOf(l);
    const interval = 12 / p.divFreq;
    const [y0, m0] = ymd(first);
    const [y1, m1] = ymd(lastDay);
    const out: Dividend[] = [];
    // ex-dates can slip past the end of their month (jitter, holidays): start a month early
    for (let mi = y0 * 12 + m0 - 2; mi <= y1 * 12 + m1 - 1; mi++) {
      if (((((mi % 12) - p.divMonth) % interval) + interval) % interval !== 0) continue;
      const y = Math.floor(mi / 12),
        m = (mi % 12) + 1;
      const jitter = (h3(l.seed, S.divDay, mi) % 5) - 2;
      const ex = cal.onOrAfter(dayOf(y, m, Math.min(28, Math.max(1, p.divDom + jitter))));
      if (ex < first || ex > lastDay) continue;
      out.push(this.dividendOn(l, ex, mi, cal));
    }
    return out;
  }

  private dividendOn(l: Listing, ex: number, mi: number, cal: TradingCalendar): Dividend {
    const p = l.params;
    const y = Math.floor(mi / 12);
    // sized on the trend at the start of the year: constant within a year
    const level = trendLevel(l, dayOf(y, 1, 1)) * this.mult(l, ex);
    const prevClose = this.rawClose(l, cal.prev(ex));
    let amount = (level * p.divYield) / p.divFreq;
    amount = Math.min(amount, prevClose * 0.25);
    amount = amount >= 1 ? Math.round(amount * 100) / 100 : round4(amount);
    if (amount <= 0) amount = 0.0001;
    const m = h3(l.seed, S.divMeta, mi);
    const sparse = (m & 0xff) < (yearOf(ex) < 2012 ? 100 : 20); // missing dates
    let decl = ex - 15 - ((m >>> 8) % 26);
    while (isWeekend(decl)) decl--;
    const pay = cal.onOrAfter(ex + 10 + ((m >>> 16) % 25));
    return {
      day: ex,
      amount,
      currency: l.currency,
      declarationDay: sparse ? null : decl,
      recordDay: sparse ? null : cal.next(ex),
      paymentDay: sparse && m & 0x100 ? null : pay,
      period: sparse ? null : p.divFreq === 4 ? 'Quarterly' : p.divFreq === 2 ? 'SemiAnnual' : 'Annual',
      knownDay: sparse ? ex - 7 : decl,
    };
  }

  /** Adjustment factor of a dividend: 1 - D / previous close. */
  dividendFactor(l: Listing, d: Dividend): number {
    const prev = this.rawClose(l, calendarOf(l).prev(d.day));
    return 1 - d.amount / prev;
  }

  /**
   * Every action with date in (after, upTo], as adjustment factors, ascending. `upTo` is
   * the simulated today: actions after it have not happened yet.
   */
  factorsBetween(l: Listing, after: number, upTo: number): ActionFactor[] {
    if (upTo <= after) return [];
    const out: ActionFactor[] = [];
    for (const s of this.splitInfo(l).splits) {
      if (s.day > after && s.day <= upTo) out.push({ day: s.day, factor: s.oldShares / s.newShares });
    }
    for (const d of this.dividendsBetween(l, after + 1, upTo))
      out.push({ day: d.day, factor: this.dividendFactor(l, d) });
    out.sort((a, b) => a.day - b.day);
    return out;
  }

  /** Split adjustment (product of old/new) of splits in (after, upTo]: scales per-share values. */
  splitFactorBetween(l: Listing, after: number, upTo: number): number {
    let f = 1;
    for (const s of this.splitInfo(l).splits) if (s.day > after && s.day <= upTo) f *= s.oldShares / s.newShares;
    return f;
  }
}

export function splitString(s: Split): string {
  return `${s.newShares.toFixed(6)}/${s.oldShares.toFixed(6)}`;
}
