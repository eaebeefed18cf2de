/**
 * What a screen can ask about: every field of the screener row, with its type, unit and
 * meaning, and the names EODHD's own Screener API gives some of them (accepted as aliases,
 * so that a screen written for EODHD runs here unchanged). One table: the screen's
 * validation, its SQL (a field reaches SQL only as a column named here), the screen page's
 * pickers and docs/screener-columns.md are all read from it.
 *
 * The screener row is one per asset and session, kept ready by calc-indicators: the latest
 * in `technical_indicators`, every retained session in `indicator_history`. It carries the
 * 31 indicators and the derived figures (figures.ts), that session's close, the fundamentals
 * as they were known on that session (the version fetched on or before it), growth from the
 * reports public by then, and the session's signals (signals.ts). The listing's name,
 * exchange, country and type come from `assets`; money in another currency is converted at
 * query time with that day's rate (fx_rate), so the row keeps money in its own currency.
 */
import { FIGURE_COLUMNS, type FigureColumn } from './figures.js';
import { INDICATOR_COLUMNS, type IndicatorColumn } from './indicators.js';

export type FieldType = 'number' | 'string' | 'date';

/**
 * Where a field's money is: 'quote' is in the major unit of the listing's quote currency
 * (the row's `currency`: pounds for a London listing quoted in pence); 'quote_unit' in the
 * quote's own unit, as the indicators are computed on the bars (pence for GBX: the row's
 * `quote_per_major` makes it major); 'fundamentals' in the major unit of the fundamentals'
 * currency (`fundamentals_currency`). A screen converts all three to its `currency` at the
 * as-of day's rate; absent, the reporting currency setting.
 */
export type Money = 'quote' | 'quote_unit' | 'fundamentals';

/** The indicators in the price's unit (levels and differences of prices): money of the quote's unit. */
const PRICE_LEVEL = new Set<string>([
  'sma_50',
  'sma_200',
  'ema_12',
  'ema_26',
  'wma_20',
  'macd',
  'macd_signal',
  'macd_histogram',
  'atr_14',
  'std_dev',
  'bb_upper',
  'bb_middle',
  'bb_lower',
  'sar',
  'slope',
  'week_52_high',
  'week_52_low',
  'current_price',
]);

export type FieldGroup =
  | 'listing'
  | 'price'
  | 'fundamentals'
  | 'valuation'
  | 'growth'
  | 'indicators'
  | 'figures'
  | 'signals';

export interface ScreenField {
  name: string;
  type: FieldType;
  group: FieldGroup;
  unit: string;
  description: string;
  /** Money, converted to the screen's currency (see Money). */
  money?: Money;
  /** EODHD's Screener API names for the same figure. */
  aliases?: readonly string[];
  /** Where it is read: the row's column of the same name, or the asset's (`assets`). */
  from: 'row' | 'asset';
}

/**
 * The columns the screener row adds to the indicators and figures (sql/028): what
 * calc-indicators writes beside them, in `technical_indicators` and `indicator_history`
 * alike. Types are PostgreSQL's.
 */
export const SCREEN_ROW_COLUMNS = [
  // The session's bar (quarantined bars are never a row's bar).
  { column: 'close', sql: 'double precision' },
  { column: 'adjusted_close', sql: 'double precision' },
  { column: 'volume', sql: 'double precision' },
  { column: 'currency', sql: 'text' },
  { column: 'quote_per_major', sql: 'double precision' },
  { column: 'avg_volume_50', sql: 'double precision' },
  { column: 'avg_volume_200', sql: 'double precision' },
  // The fundamentals version known on the session (fundamentals_versions.known_from <= date).
  { column: 'fundamentals_known_from', sql: 'date' },
  { column: 'fundamentals_currency', sql: 'text' },
  { column: 'instrument_type', sql: 'text' },
  { column: 'sector', sql: 'text' },
  { column: 'industry', sql: 'text' },
  { column: 'gic_sector', sql: 'text' },
  { column: 'gic_group', sql: 'text' },
  { column: 'gic_industry', sql: 'text' },
  { column: 'gic_sub_industry', sql: 'text' },
  { column: 'market_cap', sql: 'double precision' },
  { column: 'enterprise_value', sql: 'double precision' },
  { column: 'pe_ratio', sql: 'double precision' },
  { column: 'forward_pe', sql: 'double precision' },
  { column: 'peg_ratio', sql: 'double precision' },
  { column: 'price_to_book', sql: 'double precision' },
  { column: 'price_to_sales', sql: 'double precision' },
  { column: 'ev_to_ebitda', sql: 'double precision' },
  { column: 'dividend_yield', sql: 'double precision' },
  { column: 'dividend_share', sql: 'double precision' },
  { column: 'forward_dividend_yield', sql: 'double precision' },
  { column: 'payout_ratio', sql: 'double precision' },
  { column: 'eps', sql: 'double precision' },
  { column: 'beta_eodhd', sql: 'double precision' },
  { column: 'profit_margin', sql: 'double precision' },
  { column: 'operating_margin', sql: 'double precision' },
  { column: 'return_on_equity', sql: 'double precision' },
  { column: 'return_on_assets', sql: 'double precision' },
  { column: 'revenue_ttm', sql: 'double precision' },
  { column: 'revenue_growth_yoy', sql: 'double precision' },
  { column: 'earnings_growth_yoy', sql: 'double precision' },
  { column: 'ebitda', sql: 'double precision' },
  { column: 'shares_outstanding', sql: 'double precision' },
  { column: 'book_value', sql: 'double precision' },
  { column: 'analyst_rating', sql: 'double precision' },
  { column: 'analyst_target_price', sql: 'double precision' },
  { column: 'expense_ratio', sql: 'double precision' },
  { column: 'net_assets', sql: 'double precision' },
  { column: 'next_earnings_date', sql: 'date' },
  // Growth from the yearly reports public on the session (fundamental_growth_as_of).
  { column: 'revenue_growth_1y', sql: 'double precision' },
  { column: 'revenue_growth_3y', sql: 'double precision' },
  { column: 'revenue_growth_5y', sql: 'double precision' },
  { column: 'net_income_growth_1y', sql: 'double precision' },
  { column: 'net_income_growth_3y', sql: 'double precision' },
  { column: 'net_income_growth_5y', sql: 'double precision' },
  { column: 'eps_growth_1y', sql: 'double precision' },
  { column: 'eps_growth_3y', sql: 'double precision' },
  { column: 'eps_growth_5y', sql: 'double precision' },
  // The session's signals (signals.ts), by name.
  { column: 'signals', sql: 'text[]' },
] as const;
export type ScreenRowColumn = (typeof SCREEN_ROW_COLUMNS)[number]['column'];

const n = (
  name: string,
  group: FieldGroup,
  unit: string,
  description: string,
  extra: Partial<Pick<ScreenField, 'money' | 'aliases'>> = {},
): ScreenField => ({ name, type: 'number', group, unit, description, from: 'row', ...extra });
const s = (name: string, group: FieldGroup, description: string, extra: Partial<ScreenField> = {}): ScreenField => ({
  name,
  type: 'string',
  group,
  unit: 'text',
  description,
  from: 'row',
  ...extra,
});

const INDICATOR_TEXT: Record<IndicatorColumn, string> = {
  sma_50: '50-session simple moving average of the adjusted close',
  sma_200: '200-session simple moving average of the adjusted close',
  ema_12: '12-session exponential moving average',
  ema_26: '26-session exponential moving average',
  wma_20: '20-session weighted moving average',
  rsi_14: '14-session relative strength index (0-100)',
  stoch_k: 'stochastic %K (14, 3)',
  stoch_d: 'stochastic %D',
  stoch_rsi: 'stochastic RSI (0-100)',
  cci_20: '20-session commodity channel index',
  macd: 'MACD line (12, 26)',
  macd_signal: 'MACD signal line (9)',
  macd_histogram: 'MACD histogram (line - signal)',
  dmi_plus: '+DI (14)',
  dmi_minus: '-DI (14)',
  adx: 'average directional index (14)',
  atr_14: '14-session average true range',
  volatility: 'annualised volatility of daily returns (percent)',
  std_dev: '20-session standard deviation of the close',
  bb_upper: 'upper Bollinger band (20, 2)',
  bb_middle: 'middle Bollinger band (20-session SMA)',
  bb_lower: 'lower Bollinger band (20, 2)',
  bb_bandwidth: 'Bollinger bandwidth',
  sar: 'parabolic SAR',
  beta: "beta of 252 daily returns against the exchange's benchmark index",
  slope: 'slope of the linear regression of the close',
  avg_volume_30: '30-session average volume',
  avg_volume_90: '90-session average volume',
  week_52_high: 'highest adjusted high of 252 sessions',
  week_52_low: 'lowest adjusted low of 252 sessions',
  current_price: 'the adjusted close the indicators were computed on',
};
const INDICATOR_ALIASES: Partial<Record<IndicatorColumn, readonly string[]>> = {
  avg_volume_30: ['avgvol_30d'],
};

const FIGURE_TEXT: Record<FigureColumn, string> = {
  change_1d_pct: '1-session change of the adjusted close',
  change_5d_pct: '5-session change',
  change_1m_pct: '21-session change',
  change_3m_pct: '63-session change',
  change_6m_pct: '126-session change',
  change_12m_pct: '252-session change',
  change_ytd_pct: 'change since the last close of the previous year',
  relative_volume: "the session's volume over the mean of the 30 before it",
  pct_from_52w_high: 'distance from the 52-week high',
  pct_from_52w_low: 'distance from the 52-week low',
  pct_vs_sma_50: 'distance from the 50-session average',
  pct_vs_sma_200: 'distance from the 200-session average',
  gap_pct: 'opening gap against the previous close',
  avg_traded_value_30: 'mean traded value (close x volume) of 30 sessions',
};
const FIGURE_ALIASES: Partial<Record<FigureColumn, readonly string[]>> = {
  change_1d_pct: ['refund_1d_p'],
  change_5d_pct: ['refund_5d_p'],
  change_ytd_pct: ['refund_ytd_p'],
};

/** Every field a screen may filter, sort or show. */
export const SCREEN_FIELDS: readonly ScreenField[] = [
  // The listing (assets).
  { name: 'symbol', type: 'string', group: 'listing', unit: 'CODE.EXCHANGE', description: 'the ticker', from: 'asset' },
  {
    name: 'code',
    type: 'string',
    group: 'listing',
    unit: 'text',
    description: "the ticker's code without its exchange",
    from: 'asset',
  },
  { name: 'name', type: 'string', group: 'listing', unit: 'text', description: "the company's name", from: 'asset' },
  {
    name: 'exchange',
    type: 'string',
    group: 'listing',
    unit: 'EODHD exchange code',
    description: 'US, LSE, F, XETRA, PA, AS, BR, LS, MC, SW',
    from: 'asset',
  },
  {
    name: 'country',
    type: 'string',
    group: 'listing',
    unit: 'text',
    description: "the listing's country",
    from: 'asset',
  },
  s('currency', 'price', 'the major unit of the quote currency (GBP for a listing quoted in GBX)'),
  s('instrument_type', 'listing', 'Common Stock, ETF, FUND, Preferred Share, ...', { aliases: ['type'] }),
  s('sector', 'fundamentals', "EODHD's sector"),
  s('industry', 'fundamentals', "EODHD's industry"),
  s('gic_sector', 'fundamentals', 'GICS sector'),
  s('gic_group', 'fundamentals', 'GICS industry group'),
  s('gic_industry', 'fundamentals', 'GICS industry'),
  s('gic_sub_industry', 'fundamentals', 'GICS sub-industry'),
  // The session's bar and the date of the row.
  {
    name: 'date',
    type: 'date',
    group: 'price',
    unit: 'YYYY-MM-DD',
    description: "the session of the row's bar (the as-of day's or, when stale, an earlier one)",
    from: 'row',
  },
  n('close', 'price', 'money', "the session's close", { money: 'quote' }),
  n('adjusted_close', 'price', 'money', 'the close adjusted for later splits and dividends', { money: 'quote' }),
  n('volume', 'price', 'shares', "the session's volume", { aliases: ['avgvol_1d'] }),
  n('avg_volume_50', 'price', 'shares', '50-session average volume', { aliases: ['avgvol_50d'] }),
  n('avg_volume_200', 'price', 'shares', '200-session average volume', { aliases: ['avgvol_200d'] }),
  // Fundamentals as known on the session.
  {
    name: 'fundamentals_known_from',
    type: 'date',
    group: 'fundamentals',
    unit: 'YYYY-MM-DD',
    description: 'the day the fundamentals used were fetched (the version known on the session)',
    from: 'row',
  },
  n('market_cap', 'valuation', 'money', "shares outstanding x the session's close (else EODHD's, as fetched)", {
    money: 'fundamentals',
    aliases: ['market_capitalization'],
  }),
  n('enterprise_value', 'valuation', 'money', 'enterprise value, as fetched', { money: 'fundamentals' }),
  n('pe_ratio', 'valuation', 'ratio', "the session's close over trailing EPS (else EODHD's, as fetched)", {
    aliases: ['pe'],
  }),
  n('forward_pe', 'valuation', 'ratio', 'forward P/E, as fetched'),
  n('peg_ratio', 'valuation', 'ratio', 'PEG ratio, as fetched', { aliases: ['peg'] }),
  n('price_to_book', 'valuation', 'ratio', 'price to book (most recent quarter), as fetched', { aliases: ['pb'] }),
  n('price_to_sales', 'valuation', 'ratio', 'price to sales (trailing 12 months), as fetched', { aliases: ['ps'] }),
  n('ev_to_ebitda', 'valuation', 'ratio', 'enterprise value over EBITDA, as fetched'),
  n('dividend_yield', 'valuation', 'fraction', "dividend per share over the session's close (else EODHD's)", {}),
  n('dividend_share', 'fundamentals', 'money', 'dividend per share (trailing)', { money: 'fundamentals' }),
  n('forward_dividend_yield', 'valuation', 'fraction', 'forward dividend yield, as fetched'),
  n('payout_ratio', 'fundamentals', 'fraction', 'payout ratio'),
  n('eps', 'fundamentals', 'money', 'trailing earnings per share', {
    money: 'fundamentals',
    aliases: ['earnings_share'],
  }),
  n('beta_eodhd', 'fundamentals', 'ratio', "EODHD's 5-year monthly beta"),
  n('profit_margin', 'fundamentals', 'fraction', 'profit margin'),
  n('operating_margin', 'fundamentals', 'fraction', 'operating margin (trailing 12 months)'),
  n('return_on_equity', 'fundamentals', 'fraction', 'return on equity (trailing 12 months)', { aliases: ['roe'] }),
  n('return_on_assets', 'fundamentals', 'fraction', 'return on assets (trailing 12 months)', { aliases: ['roa'] }),
  n('revenue_ttm', 'fundamentals', 'money', 'revenue (trailing 12 months)', {
    money: 'fundamentals',
    aliases: ['revenue'],
  }),
  n('revenue_growth_yoy', 'growth', 'fraction', 'quarterly revenue growth, year on year'),
  n('earnings_growth_yoy', 'growth', 'fraction', 'quarterly earnings growth, year on year'),
  n('ebitda', 'fundamentals', 'money', 'EBITDA', { money: 'fundamentals' }),
  n('shares_outstanding', 'fundamentals', 'shares', 'shares outstanding'),
  n('book_value', 'fundamentals', 'money', "shareholders' equity of the latest balance sheet public on the session", {
    money: 'fundamentals',
  }),
  n('analyst_rating', 'fundamentals', '1-5', "analysts' mean rating (5: strong buy)"),
  n('analyst_target_price', 'fundamentals', 'money', "analysts' mean target price", { money: 'fundamentals' }),
  n('expense_ratio', 'fundamentals', 'fraction', "a fund's expense ratio"),
  n('net_assets', 'fundamentals', 'money', "a fund's net assets", { money: 'fundamentals' }),
  {
    name: 'next_earnings_date',
    type: 'date',
    group: 'fundamentals',
    unit: 'YYYY-MM-DD',
    description: 'the next earnings report as known on the session',
    from: 'row',
  },
  ...(['revenue', 'net_income', 'eps'] as const).flatMap((x) =>
    ([1, 3, 5] as const).map((y) =>
      n(
        `${x}_growth_${y}y`,
        'growth',
        'fraction a year',
        `${x.replace('_', ' ')} growth over ${y} year${y > 1 ? 's' : ''}`,
      ),
    ),
  ),
  // The indicators and figures of the session.
  ...INDICATOR_COLUMNS.map((c) =>
    n(
      c,
      'indicators',
      c.startsWith('avg_volume') ? 'shares' : PRICE_LEVEL.has(c) ? 'money' : 'see docs/indicators-reference.md',
      INDICATOR_TEXT[c],
      {
        ...(INDICATOR_ALIASES[c] ? { aliases: INDICATOR_ALIASES[c] } : {}),
        ...(PRICE_LEVEL.has(c) ? { money: 'quote_unit' as const } : {}),
      },
    ),
  ),
  ...FIGURE_COLUMNS.map((c) =>
    c === 'avg_traded_value_30'
      ? n(c, 'figures', 'money', FIGURE_TEXT[c], { money: 'quote_unit' })
      : n(c, 'figures', c === 'relative_volume' ? 'ratio' : 'percent', FIGURE_TEXT[c], {
          ...(FIGURE_ALIASES[c] ? { aliases: FIGURE_ALIASES[c] } : {}),
        }),
  ),
];

/**
 * The signals of a session, by name (the row's `signals` holds those that fired). "Crosses"
 * compare the session with the one before it; highs and lows are of adjusted closes.
 */
export const SIGNALS: ReadonlyArray<{ name: string; description: string }> = [
  { name: 'golden_cross', description: 'the 50-session average crossed above the 200-session average' },
  { name: 'death_cross', description: 'the 50-session average crossed below the 200-session average' },
  { name: 'new_52w_high', description: 'the close is above every close of the 251 sessions before' },
  { name: 'new_52w_low', description: 'the close is below every close of the 251 sessions before' },
  { name: 'rsi_below_30', description: 'RSI(14) crossed below 30' },
  { name: 'rsi_above_70', description: 'RSI(14) crossed above 70' },
  { name: 'macd_cross_up', description: 'the MACD line crossed above its signal line' },
  { name: 'macd_cross_down', description: 'the MACD line crossed below its signal line' },
  { name: 'price_cross_above_sma_200', description: 'the close crossed above the 200-session average' },
  { name: 'price_cross_below_sma_200', description: 'the close crossed below the 200-session average' },
  { name: 'unusual_volume', description: 'volume at least twice the mean of the 30 sessions before' },
  { name: 'gap_up', description: 'opened at least 4% above the previous close' },
  { name: 'gap_down', description: 'opened at least 4% below the previous close' },
  // EODHD's Screener API signals.
  { name: '50d_new_hi', description: 'the close is above every close of the 49 sessions before (EODHD)' },
  { name: '50d_new_lo', description: 'the close is below every close of the 49 sessions before (EODHD)' },
  { name: '200d_new_hi', description: 'the close is above every close of the 199 sessions before (EODHD)' },
  { name: '200d_new_lo', description: 'the close is below every close of the 199 sessions before (EODHD)' },
  { name: 'bookvalue_pos', description: 'book value (equity) is positive (EODHD)' },
  { name: 'bookvalue_neg', description: 'book value (equity) is negative (EODHD)' },
  { name: 'wallstreet_hi', description: "the close is above the analysts' target price (EODHD)" },
  { name: 'wallstreet_lo', description: "the close is below the analysts' target price (EODHD)" },
];
export type SignalName = string;

const byName = new Map<string, ScreenField>();
for (const f of SCREEN_FIELDS) {
  byName.set(f.name, f);
  for (const a of f.aliases ?? []) byName.set(a, f);
}

/** The field a name (or an EODHD alias) means; undefined for none. */
export function screenField(name: string): ScreenField | undefined {
  return byName.get(name);
}

/** Every name a field is known by, canonical names first. */
export function screenFieldNames(): string[] {
  return [...SCREEN_FIELDS.map((f) => f.name), ...SCREEN_FIELDS.flatMap((f) => f.aliases ?? [])];
}
