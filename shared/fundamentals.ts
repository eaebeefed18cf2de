/**
 * The columns a screener filters on, taken from an EODHD fundamentals document. EODHD
 * writes "not available" as 0, null, "NA", "No Data", "" or "0000-00-00", sometimes a whole
 * section as the string "NA", and financial values as strings: all of that becomes null
 * or a number here, and the document itself is kept whole in fundamentals.data.
 */
import type { Fundamentals } from './eodhd-schemas.js';

const NA_STRINGS = new Set(['', 'NA', 'N/A', 'NO DATA', 'NONE', 'NULL', '-', '0000-00-00']);

export function num(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v !== 0 ? v : null;
  if (typeof v === 'string') {
    const t = v.trim();
    if (NA_STRINGS.has(t.toUpperCase())) return null;
    const n = Number(t.replace(/,/g, ''));
    return Number.isFinite(n) && n !== 0 ? n : null;
  }
  return null;
}

export function text(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return NA_STRINGS.has(t.toUpperCase()) ? null : t;
}

export function date(v: unknown): string | null {
  const t = text(v);
  if (!t || !/^\d{4}-\d{2}-\d{2}/.test(t)) return null;
  const d = t.slice(0, 10);
  return Number.isNaN(Date.parse(`${d}T00:00:00Z`)) ? null : d;
}

function section(doc: Fundamentals, name: string): Record<string, unknown> {
  const s = (doc as Record<string, unknown>)[name];
  return s && typeof s === 'object' && !Array.isArray(s) ? (s as Record<string, unknown>) : {};
}

export interface FundamentalColumns {
  source_updated_at: string | null;
  market_cap: number | null;
  pe_ratio: number | null;
  forward_pe: number | null;
  peg_ratio: number | null;
  price_to_book: number | null;
  price_to_sales: number | null;
  dividend_yield: number | null;
  eps: number | null;
  beta: number | null;
  profit_margin: number | null;
  operating_margin: number | null;
  return_on_equity: number | null;
  revenue_ttm: number | null;
  ebitda: number | null;
  shares_outstanding: number | null;
  week_52_high: number | null;
  week_52_low: number | null;
  analyst_rating: number | null;
  sector: string | null;
  industry: string | null;
  gic_sector: string | null;
  next_earnings_date: string | null;
  // Also refreshed on the asset.
  name: string | null;
  isin: string | null;
  currency: string | null;
  country: string | null;
}

export const FUNDAMENTAL_COLUMNS = [
  'source_updated_at', 'market_cap', 'pe_ratio', 'forward_pe', 'peg_ratio', 'price_to_book', 'price_to_sales',
  'dividend_yield', 'eps', 'beta', 'profit_margin', 'operating_margin', 'return_on_equity', 'revenue_ttm', 'ebitda',
  'shares_outstanding', 'week_52_high', 'week_52_low', 'analyst_rating', 'sector', 'industry', 'gic_sector', 'next_earnings_date',
] as const;

export function extractFundamentals(doc: Fundamentals): FundamentalColumns {
  const g = section(doc, 'General');
  const h = section(doc, 'Highlights');
  const v = section(doc, 'Valuation');
  const sh = section(doc, 'SharesStats');
  const t = section(doc, 'Technicals');
  const sd = section(doc, 'SplitsDividends');
  const ar = section(doc, 'AnalystRatings');
  const earnings = section(doc, 'Earnings');
  const history = section({ General: {}, ...earnings } as Fundamentals, 'History');
  const today = new Date().toISOString().slice(0, 10);
  let nextEarnings: string | null = null;
  for (const row of Object.values(history)) {
    const d = row && typeof row === 'object' ? date((row as Record<string, unknown>).reportDate ?? (row as Record<string, unknown>).date) : null;
    if (d && d >= today && (!nextEarnings || d < nextEarnings)) nextEarnings = d;
  }
  return {
    source_updated_at: date(g.UpdatedAt),
    market_cap: num(h.MarketCapitalization),
    pe_ratio: num(h.PERatio),
    forward_pe: num(v.ForwardPE),
    peg_ratio: num(h.PEGRatio),
    price_to_book: num(v.PriceBookMRQ),
    price_to_sales: num(v.PriceSalesTTM),
    dividend_yield: num(h.DividendYield) ?? num(sd.ForwardAnnualDividendYield),
    eps: num(h.EarningsShare),
    beta: num(t.Beta),
    profit_margin: num(h.ProfitMargin),
    operating_margin: num(h.OperatingMarginTTM),
    return_on_equity: num(h.ReturnOnEquityTTM),
    revenue_ttm: num(h.RevenueTTM),
    ebitda: num(h.EBITDA),
    shares_outstanding: num(sh.SharesOutstanding),
    week_52_high: num(t['52WeekHigh']),
    week_52_low: num(t['52WeekLow']),
    analyst_rating: num(ar.Rating),
    sector: text(g.Sector) ?? text(g.GicSector),
    industry: text(g.Industry) ?? text(g.GicIndustry),
    gic_sector: text(g.GicSector),
    next_earnings_date: nextEarnings,
    name: text(g.Name),
    isin: text(g.ISIN),
    currency: text(g.CurrencyCode),
    country: text(g.CountryName),
  };
}
