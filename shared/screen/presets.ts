/**
 * The presets: named screens a person starts from (`preset=value`), each a set of filters,
 * signals and sorts on the catalog's fields (shared/domain/screen-fields.ts) and the columns
 * it shows. A request's own filters and signals narrow a preset (all must hold); its own
 * sorts come before the preset's. `GET ?presets` lists them with their filters.
 *
 * Units are the catalog's: ratios as ratios (P/E 15), fractions as fractions (a 3% yield is
 * 0.03, a 15% return on equity 0.15), percent figures in percent (a 20% six-month change is
 * 20), money in the screen's currency (the reporting currency unless `currency` says
 * otherwise: "market cap over 300 million" is 300 million of that currency).
 */
import type { Preset } from './contract.js';

const M = 1_000_000;
const B = 1_000_000_000;

export const PRESETS: readonly Preset[] = [
  {
    name: 'value',
    description:
      'cheap on earnings and book: P/E between 0 and 15, price to book under 1.5, market cap over 300 million; lowest P/E first',
    filters: [
      { field: 'pe_ratio', op: 'between', value: [0, 15] },
      { field: 'price_to_book', op: '<', value: 1.5 },
      { field: 'market_cap', op: '>', value: 300 * M },
    ],
    signals: [],
    sort: [{ field: 'pe_ratio', dir: 'asc' }],
    columns: ['market_cap', 'pe_ratio', 'price_to_book', 'dividend_yield', 'sector', 'close'],
  },
  {
    name: 'growth',
    description:
      'growing fast: revenue and EPS each up 15% or more over the last year (reports public on the day), market cap over 300 million; fastest revenue growth first',
    filters: [
      { field: 'revenue_growth_1y', op: '>=', value: 0.15 },
      { field: 'eps_growth_1y', op: '>=', value: 0.15 },
      { field: 'market_cap', op: '>', value: 300 * M },
    ],
    signals: [],
    sort: [{ field: 'revenue_growth_1y', dir: 'desc' }],
    columns: ['market_cap', 'revenue_growth_1y', 'eps_growth_1y', 'revenue_growth_3y', 'pe_ratio', 'sector'],
  },
  {
    name: 'momentum',
    description:
      'rising with strength, not yet overbought: up 20% or more over six months (126 sessions), above the 200-session average, RSI(14) between 50 and 80; strongest six months first',
    filters: [
      { field: 'change_6m_pct', op: '>=', value: 20 },
      { field: 'pct_vs_sma_200', op: '>', value: 0 },
      { field: 'rsi_14', op: 'between', value: [50, 80] },
    ],
    signals: [],
    sort: [{ field: 'change_6m_pct', dir: 'desc' }],
    columns: ['close', 'change_1m_pct', 'change_6m_pct', 'change_12m_pct', 'pct_vs_sma_200', 'rsi_14', 'market_cap'],
  },
  {
    name: 'quality',
    description:
      'profitable and efficient: return on equity 15% or more, profit margin 10% or more, operating margin 15% or more, market cap over 1 billion; highest return on equity first',
    filters: [
      { field: 'return_on_equity', op: '>=', value: 0.15 },
      { field: 'profit_margin', op: '>=', value: 0.1 },
      { field: 'operating_margin', op: '>=', value: 0.15 },
      { field: 'market_cap', op: '>', value: 1 * B },
    ],
    signals: [],
    sort: [{ field: 'return_on_equity', dir: 'desc' }],
    columns: ['market_cap', 'return_on_equity', 'return_on_assets', 'profit_margin', 'operating_margin', 'sector'],
  },
  {
    name: 'dividend',
    description:
      'a dividend that looks sustainable: yield 3% or more, payout ratio between 0 and 80%, market cap over 1 billion; highest yield first',
    filters: [
      { field: 'dividend_yield', op: '>=', value: 0.03 },
      { field: 'payout_ratio', op: 'between', value: [0, 0.8] },
      { field: 'market_cap', op: '>', value: 1 * B },
    ],
    signals: [],
    sort: [{ field: 'dividend_yield', dir: 'desc' }],
    columns: ['market_cap', 'dividend_yield', 'dividend_share', 'payout_ratio', 'pe_ratio', 'sector'],
  },
  {
    name: 'oversold',
    description:
      'sold hard, and traded: RSI(14) under 30 with a 30-session average volume of 100,000 shares or more; lowest RSI first',
    filters: [
      { field: 'rsi_14', op: '<', value: 30 },
      { field: 'avg_volume_30', op: '>=', value: 100_000 },
    ],
    signals: [],
    sort: [{ field: 'rsi_14', dir: 'asc' }],
    columns: ['close', 'change_1d_pct', 'change_5d_pct', 'rsi_14', 'stoch_k', 'pct_from_52w_low', 'market_cap'],
  },
  {
    name: 'breakout',
    description:
      'breaking out on volume: a close above every close of the 49 sessions before (50d_new_hi: every new 52-week high is one) on at least 1.5 times the usual volume; heaviest volume first',
    filters: [{ field: 'relative_volume', op: '>=', value: 1.5 }],
    signals: ['50d_new_hi'],
    sort: [{ field: 'relative_volume', dir: 'desc' }],
    columns: ['close', 'change_1d_pct', 'relative_volume', 'volume', 'week_52_high', 'pct_from_52w_high', 'market_cap'],
  },
];

/** The columns a screen shows when neither the request nor its preset names any. */
export const DEFAULT_COLUMNS: readonly string[] = [
  'close',
  'change_1d_pct',
  'volume',
  'market_cap',
  'pe_ratio',
  'rsi_14',
  'sector',
];

export function presetNamed(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}
