/**
 * The screener row's columns beside the indicators and figures (SCREEN_ROW_COLUMNS), for one
 * asset's sessions in date order: the session's bar in the major unit of its quote currency,
 * the fundamentals version known on the session (the latest fetched on or before it, never a
 * later one), the valuation at the session's close, book value and growth from the reports
 * public by then, and the signals. Pure: calc-indicators loads the versions and reports once
 * per batch (store/known-fundamentals.ts) and walks them with pointers as the sessions
 * advance, so that a screen as of day D reads exactly what was known on D.
 */
import type { FigureRow } from './figures.js';
import { GROWTH_ROW_COLUMNS, type Growth, GrowthWalk, type YearlyIncome } from './growth.js';
import type { IndicatorRow } from './indicators.js';
import { SCREEN_ROW_COLUMNS, type ScreenRowColumn } from './screen-fields.js';
import { type CrossingValues, type SignalInputs, signalsAt } from './signals.js';

/** The session's bar. */
export const BAR_COLUMNS = [
  'close',
  'adjusted_close',
  'volume',
  'currency',
  'quote_per_major',
  'avg_volume_50',
  'avg_volume_200',
] as const;
/** Taken at the session's close where the inputs allow, else the version's (valuationAt). */
export const VALUATION_COLUMNS = ['market_cap', 'pe_ratio', 'dividend_yield'] as const;

const KNOWN_TEXT = [
  'fundamentals_known_from',
  'fundamentals_currency',
  'instrument_type',
  'sector',
  'industry',
  'gic_sector',
  'gic_group',
  'gic_industry',
  'gic_sub_industry',
  'next_earnings_date',
] as const;
const KNOWN_NUMBERS = [
  'enterprise_value',
  'forward_pe',
  'peg_ratio',
  'price_to_book',
  'price_to_sales',
  'ev_to_ebitda',
  'dividend_share',
  'forward_dividend_yield',
  'payout_ratio',
  'eps',
  'beta_eodhd',
  'profit_margin',
  'operating_margin',
  'return_on_equity',
  'return_on_assets',
  'revenue_ttm',
  'revenue_growth_yoy',
  'earnings_growth_yoy',
  'ebitda',
  'shares_outstanding',
  'analyst_rating',
  'analyst_target_price',
  'expense_ratio',
  'net_assets',
] as const;
/**
 * Copied from the version known on the session as they are: `fundamentals_known_from` is its
 * known_from, `fundamentals_currency` its currency as the major code (GBP for GBX: EODHD's
 * fundamentals money is in the major unit already), `beta_eodhd` its beta.
 */
export const KNOWN_COLUMNS = [...KNOWN_TEXT, ...KNOWN_NUMBERS] as const;
export type KnownColumn = (typeof KNOWN_COLUMNS)[number];

/** The remaining columns: book_value (BookValueWalk), growth (growth.ts), signals (signals.ts). */
export const SCREEN_ROW_GROUPS = {
  bar: BAR_COLUMNS,
  valuation: VALUATION_COLUMNS,
  known: KNOWN_COLUMNS,
  book: ['book_value'],
  growth: GROWTH_ROW_COLUMNS,
  signals: ['signals'],
} as const;

/**
 * A fundamentals version as calc-indicators reads it: the copied columns under the row's
 * names, and the version's own market_cap, pe_ratio and dividend_yield (what the valuation
 * falls back to). Dates are 'YYYY-MM-DD'.
 */
export type KnownVersion = Record<(typeof KNOWN_TEXT)[number], string | null> &
  Record<(typeof KNOWN_NUMBERS)[number] | (typeof VALUATION_COLUMNS)[number], number | null>;

/** One version of a balance sheet (financial_reports): its equity is the book value. */
export interface BalanceSheetRow {
  periodEnd: string;
  /** Its filing date, else first_seen. */
  publicFrom: string;
  firstSeen: string;
  yearly: boolean;
  equity: number | null;
}

/**
 * Which of two periods' rows is the book value: the later period; on the same period end
 * (a fourth quarter and its year) the yearly row, unless it has no equity and the quarter has.
 */
function preferred(q: BalanceSheetRow | null, y: BalanceSheetRow | null): BalanceSheetRow | null {
  if (q === null) return y;
  if (y === null) return q;
  if (q.periodEnd !== y.periodEnd) return q.periodEnd > y.periodEnd ? q : y;
  return y.equity === null && q.equity !== null ? q : y;
}

/**
 * Book value on day d, read directly from the definition: shareholders' equity of the latest
 * period whose row is public on d (of several versions of a period the latest public one),
 * quarterly or yearly, whichever period ends later. Null with none.
 */
export function bookValueAsOf(rows: readonly BalanceSheetRow[], d: string): number | null {
  const latest: Record<'q' | 'y', BalanceSheetRow | null> = { q: null, y: null };
  for (const r of rows) {
    if (r.publicFrom > d) continue;
    const k = r.yearly ? 'y' : 'q';
    const seen = latest[k];
    if (
      seen === null ||
      r.periodEnd > seen.periodEnd ||
      (r.periodEnd === seen.periodEnd &&
        (r.publicFrom > seen.publicFrom || (r.publicFrom === seen.publicFrom && r.firstSeen > seen.firstSeen)))
    )
      latest[k] = r;
  }
  return preferred(latest.q, latest.y)?.equity ?? null;
}

/** bookValueAsOf for sessions in date order: rows sorted by byPublication (growth.ts), taken as they become public. */
export class BookValueWalk {
  private next = 0;
  private q: BalanceSheetRow | null = null;
  private y: BalanceSheetRow | null = null;
  private current: number | null = null;

  constructor(private readonly rows: readonly BalanceSheetRow[]) {}

  at(d: string): number | null {
    let moved = false;
    while (this.next < this.rows.length && this.rows[this.next]!.publicFrom <= d) {
      const r = this.rows[this.next++]!;
      const seen = r.yearly ? this.y : this.q;
      // In publication order, a row of the same period is its later version; an older period's never wins.
      if (seen === null || r.periodEnd >= seen.periodEnd) {
        if (r.yearly) this.y = r;
        else this.q = r;
        moved = true;
      }
    }
    if (moved) this.current = preferred(this.q, this.y)?.equity ?? null;
    return this.current;
  }
}

/** The listing's quote currency: its major code (GBP for GBX) and how many quote units make one (100). */
export interface Quote {
  currency: string | null;
  perMajor: number;
}

/** An asset's versions (by known_from) and report rows (by byPublication) a batch loaded. */
export interface KnownFundamentals {
  versions: readonly KnownVersion[];
  incomes: readonly YearlyIncome[];
  balances: readonly BalanceSheetRow[];
}

export const NOTHING_KNOWN: KnownFundamentals = { versions: [], incomes: [], balances: [] };

export type Valuation = Record<(typeof VALUATION_COLUMNS)[number], number | null>;

/**
 * The valuation at the session's close (in the major unit of the quote currency), when the
 * version's money is in that currency: market cap = shares outstanding x close; P/E = close /
 * EPS (NULL for a loss: EPS <= 0); dividend yield = dividend per share / close. Otherwise
 * (another currency, a missing input, no positive close) the version's own figure, as fetched.
 */
export function valuationAt(
  closeMajor: number,
  quoteCurrency: string | null,
  v: KnownVersion,
  out: Valuation,
): Valuation {
  const agree =
    v.fundamentals_currency !== null &&
    v.fundamentals_currency === quoteCurrency &&
    Number.isFinite(closeMajor) &&
    closeMajor > 0;
  out.market_cap = agree && v.shares_outstanding !== null ? v.shares_outstanding * closeMajor : v.market_cap;
  out.pe_ratio = agree && v.eps !== null ? (v.eps > 0 ? closeMajor / v.eps : null) : v.pe_ratio;
  out.dividend_yield = agree && v.dividend_share !== null ? v.dividend_share / closeMajor : v.dividend_yield;
  return out;
}

/** The mean of `n` values ending at t; null with fewer. */
export function meanEndingAt(xs: ArrayLike<number>, t: number, n: number): number | null {
  if (t + 1 < n) return null;
  let sum = 0;
  for (let k = t - n + 1; k <= t; k++) sum += xs[k]!;
  return sum / n;
}

/** One asset's bars, oldest first, as calc-indicators decodes them. */
export interface ScreenBars {
  date: ArrayLike<string>;
  /** Adjusted closes. */
  close: ArrayLike<number>;
  /** Raw closes, in the quote unit (pence for GBX). */
  rawClose: ArrayLike<number>;
  volume: ArrayLike<number>;
}

/** What a session adds to its row. One object per walk, overwritten by each at(): read it before the next. */
export interface SessionScreen extends Valuation {
  close: number;
  adjusted_close: number;
  volume: number;
  currency: string | null;
  /** Quote units in one major unit (100 for GBX): the indicators and the traded value are in quote units. */
  quote_per_major: number;
  avg_volume_50: number | null;
  avg_volume_200: number | null;
  /** The version known on the session (null: none yet); the same object while it lasts. */
  version: KnownVersion | null;
  book_value: number | null;
  /** The same object while no yearly report becomes public. */
  growth: Growth | null;
  signals: string[];
}

export type ScreenRowValues = Record<ScreenRowColumn, number | string | string[] | null>;

/**
 * One asset's sessions, walked in date order: at(t, ...) gives session t's columns from the
 * bars up to t, t's indicators and figures, and t-1's indicators (null: no row then).
 */
export class ScreenWalk {
  private version = -1;
  private readonly book: BookValueWalk;
  private readonly growth: GrowthWalk;
  private readonly s: SessionScreen;
  /** The signals' inputs, filled for each session (no object a session). */
  private readonly inputs: SignalInputs;

  constructor(
    private readonly bars: ScreenBars,
    private readonly quote: Quote,
    private readonly known: KnownFundamentals,
  ) {
    this.book = new BookValueWalk(known.balances);
    this.growth = new GrowthWalk(known.incomes);
    this.s = {
      close: Number.NaN,
      adjusted_close: Number.NaN,
      volume: Number.NaN,
      currency: quote.currency,
      quote_per_major: quote.perMajor,
      avg_volume_50: null,
      avg_volume_200: null,
      market_cap: null,
      pe_ratio: null,
      dividend_yield: null,
      version: null,
      book_value: null,
      growth: null,
      signals: [],
    };
    this.inputs = {
      close: bars.close,
      t: 0,
      now: { sma_50: null, sma_200: null, rsi_14: null, macd: null, macd_signal: null },
      prev: null,
      gapPct: null,
      relativeVolume: null,
      bookValue: null,
      closeMajor: null,
      targetPrice: null,
    };
  }

  at(t: number, now: IndicatorRow, prev: CrossingValues | null, figures: FigureRow): SessionScreen {
    const { bars, quote, s } = this;
    const date = bars.date[t]!;
    const versions = this.known.versions;
    while (this.version + 1 < versions.length && versions[this.version + 1]!.fundamentals_known_from! <= date)
      this.version++;
    const v = this.version >= 0 ? versions[this.version]! : null;
    s.close = bars.rawClose[t]! / quote.perMajor;
    s.adjusted_close = bars.close[t]! / quote.perMajor;
    s.volume = bars.volume[t]!;
    s.avg_volume_50 = meanEndingAt(bars.volume, t, 50);
    s.avg_volume_200 = meanEndingAt(bars.volume, t, 200);
    s.version = v;
    if (v === null) {
      s.market_cap = null;
      s.pe_ratio = null;
      s.dividend_yield = null;
    } else valuationAt(s.close, quote.currency, v, s);
    s.book_value = this.book.at(date);
    s.growth = this.growth.at(date);
    const agree = v !== null && v.fundamentals_currency !== null && v.fundamentals_currency === quote.currency;
    const x = this.inputs;
    x.t = t;
    x.now = now;
    x.prev = prev;
    x.gapPct = figures.gap_pct;
    x.relativeVolume = figures.relative_volume;
    x.bookValue = s.book_value;
    x.closeMajor = s.close;
    x.targetPrice = agree ? v.analyst_target_price : null;
    signalsAt(x, s.signals);
    return s;
  }
}

/** A session's columns as one row (a copy: the walk's object is reused), for technical_indicators. */
export function screenRow(s: SessionScreen): ScreenRowValues {
  const row = {} as ScreenRowValues;
  for (const c of BAR_COLUMNS) row[c] = s[c];
  for (const c of VALUATION_COLUMNS) row[c] = s[c];
  for (const c of KNOWN_COLUMNS) row[c] = s.version === null ? null : s.version[c];
  row.book_value = s.book_value;
  for (const c of GROWTH_ROW_COLUMNS) row[c] = s.growth === null ? null : s.growth[c];
  row.signals = [...s.signals];
  return row;
}

/** Every screener-row column is in exactly one group (checked when the module loads: a column added to the contract must be placed). */
const grouped: string[] = Object.values(SCREEN_ROW_GROUPS).flat();
if (
  grouped.length !== SCREEN_ROW_COLUMNS.length ||
  SCREEN_ROW_COLUMNS.some((c) => !grouped.includes(c.column)) ||
  new Set(grouped).size !== grouped.length
)
  throw new Error('screen-row.ts: SCREEN_ROW_GROUPS does not cover SCREEN_ROW_COLUMNS once each');
