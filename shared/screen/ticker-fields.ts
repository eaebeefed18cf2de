/**
 * The ticker page's columns, shared by what reads them (ticker.ts) and what shows them
 * (ticker-page.ts): which are prices, which the history and versions tables show.
 */
import { FIGURE_COLUMNS } from '../domain/figures.js';
import { INDICATOR_COLUMNS } from '../domain/indicators.js';
import { SCREEN_FIELDS } from '../domain/screen-fields.js';

/** The chart's sessions by default: two years. */
export const DEFAULT_SESSIONS = 504;

/**
 * The screener row's columns in the quote's own unit (pence for GBX): the catalog's
 * `quote_unit` money (price-level indicators, the traded value), divided by the quote
 * currency's minor units to show them in the major unit. The row's close and adjusted close
 * are major already; a stored bar's prices are scaled where the bars are read.
 */
export const PRICE_SCALED = new Set<string>(SCREEN_FIELDS.filter((f) => f.money === 'quote_unit').map((f) => f.name));

/** The indicator history's main columns, as the page's table shows them. */
export const HISTORY_COLUMNS = [
  'current_price',
  'sma_50',
  'sma_200',
  'bb_upper',
  'bb_lower',
  'rsi_14',
  'macd',
  'macd_signal',
  'atr_14',
  'volatility',
  'beta',
  'change_1d_pct',
  'relative_volume',
  'pct_vs_sma_200',
] as const;

/** The versions' columns the page shows (money in the version's currency's major unit). */
export const VERSION_COLUMNS = [
  'market_cap',
  'pe_ratio',
  'eps',
  'dividend_yield',
  'price_to_book',
  'revenue_ttm',
  'profit_margin',
  'sector',
] as const;

/** The columns of the latest row the page shows, in the order of their tables. */
export const LATEST_COLUMNS: readonly string[] = [...INDICATOR_COLUMNS, ...FIGURE_COLUMNS];
