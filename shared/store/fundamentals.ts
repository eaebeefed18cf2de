/**
 * The columns a screener filters on, taken from an EODHD fundamentals document, field by
 * field. The document itself is kept whole in fundamentals.data.
 *
 * EODHD writes "not available" as null, "", "NA", "No Data" or "0000-00-00" (sometimes a
 * whole section as the string "NA"), and numbers as numbers or strings ("0" included).
 * Those all become NULL, except 0: it is a true value where a company can have nothing
 * (a dividend yield, rate or payout of a company that pays nothing, a margin, a growth
 * rate, revenue of a company that sells nothing yet), and EODHD's "no data" where nothing
 * real is 0 (a market cap, a P/E of a loss-maker, a beta, shares outstanding, a rating):
 * each column says which (`zero`). EODHD's own Sector and Industry keep their columns; the
 * GICS classification has its own. ETFs and mutual funds fill the fund columns from their
 * ETF_Data / MutualFund_Data sections. Every column, its unit and its source field are
 * listed in SCREENER_COLUMNS, which docs/screener-columns.md follows (a test keeps them equal).
 * The fundamentals table is written here, and nowhere else.
 */

import type { Fundamentals } from '../eodhd/schemas.js';
import type { Queryable } from '../platform/db.js';
import { rowsWritten } from '../platform/metrics.js';
import { refreshAssetFromDocument } from './universe.js';

/** The mapping's version: rows filled by an older one are filled again from their document. */
const FUNDAMENTALS_MAPPING_VERSION = 1;

const NA_STRINGS = new Set(['', 'NA', 'N/A', 'NO DATA', 'NONE', 'NULL', '-', '0000-00-00']);

/** A number, or null for EODHD's ways of saying "not available". 0 and "0" stay 0. */
export function num(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string') {
    const t = v.trim().replace(/%$/, '');
    if (NA_STRINGS.has(t.toUpperCase())) return null;
    const n = Number(t.replace(/,/g, ''));
    return Number.isFinite(n) ? n : null;
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

type Source = { path: string; scale?: number };

interface NumberColumn {
  column: string;
  kind: 'number' | 'integer';
  /** Tried in order: the first that has a value wins (a stock's, an ETF's, a fund's field). */
  from: Source[];
  /** 'value': 0 is a true value; 'missing': EODHD's 0 means "no data" and becomes NULL. */
  zero: 'value' | 'missing';
  unit: string;
  note?: string;
}
interface TextColumn {
  column: string;
  kind: 'text' | 'date';
  from: Source[];
  unit: string;
  note?: string;
}
export type ScreenerColumn = NumberColumn | TextColumn;

const pct = (path: string): Source => ({ path, scale: 0.01 });

/** Every column of `fundamentals` filled from the document, with its unit and source. */
export const SCREENER_COLUMNS: readonly ScreenerColumn[] = [
  { column: 'instrument_type', kind: 'text', from: [{ path: 'General.Type' }], unit: 'Common Stock, ETF, FUND, ...' },
  {
    column: 'currency',
    kind: 'text',
    from: [{ path: 'General.CurrencyCode' }],
    unit: 'ISO code (GBX: pence)',
    note: 'money columns are in its major unit (GBP for GBX)',
  },
  { column: 'source_updated_at', kind: 'date', from: [{ path: 'General.UpdatedAt' }], unit: 'date' },
  {
    column: 'sector',
    kind: 'text',
    from: [{ path: 'General.Sector' }],
    unit: 'EODHD sector',
    note: 'never filled from GICS',
  },
  {
    column: 'industry',
    kind: 'text',
    from: [{ path: 'General.Industry' }],
    unit: 'EODHD industry',
    note: 'never filled from GICS',
  },
  { column: 'gic_sector', kind: 'text', from: [{ path: 'General.GicSector' }], unit: 'GICS sector' },
  { column: 'gic_group', kind: 'text', from: [{ path: 'General.GicGroup' }], unit: 'GICS industry group' },
  { column: 'gic_industry', kind: 'text', from: [{ path: 'General.GicIndustry' }], unit: 'GICS industry' },
  { column: 'gic_sub_industry', kind: 'text', from: [{ path: 'General.GicSubIndustry' }], unit: 'GICS sub-industry' },
  {
    column: 'market_cap',
    kind: 'number',
    from: [{ path: 'Highlights.MarketCapitalization' }, { path: 'General.MarketCapitalization' }],
    zero: 'missing',
    unit: 'money (major unit of currency)',
  },
  {
    column: 'enterprise_value',
    kind: 'number',
    from: [{ path: 'Valuation.EnterpriseValue' }],
    zero: 'missing',
    unit: 'money',
  },
  {
    column: 'pe_ratio',
    kind: 'number',
    from: [{ path: 'Highlights.PERatio' }, { path: 'Valuation.TrailingPE' }],
    zero: 'missing',
    unit: 'ratio',
    note: 'EODHD writes 0 for a company without earnings: not meaningful',
  },
  { column: 'forward_pe', kind: 'number', from: [{ path: 'Valuation.ForwardPE' }], zero: 'missing', unit: 'ratio' },
  { column: 'peg_ratio', kind: 'number', from: [{ path: 'Highlights.PEGRatio' }], zero: 'missing', unit: 'ratio' },
  {
    column: 'price_to_book',
    kind: 'number',
    from: [{ path: 'Valuation.PriceBookMRQ' }],
    zero: 'missing',
    unit: 'ratio',
  },
  {
    column: 'price_to_sales',
    kind: 'number',
    from: [{ path: 'Valuation.PriceSalesTTM' }],
    zero: 'missing',
    unit: 'ratio',
  },
  {
    column: 'ev_to_ebitda',
    kind: 'number',
    from: [{ path: 'Valuation.EnterpriseValueEbitda' }],
    zero: 'missing',
    unit: 'ratio',
  },
  {
    column: 'dividend_yield',
    kind: 'number',
    from: [{ path: 'Highlights.DividendYield' }, { path: 'SplitsDividends.ForwardAnnualDividendYield' }],
    zero: 'value',
    unit: 'fraction (0.0043 = 0.43%)',
    note: '0: pays no dividend',
  },
  {
    column: 'dividend_share',
    kind: 'number',
    from: [{ path: 'Highlights.DividendShare' }],
    zero: 'value',
    unit: 'money per share',
  },
  {
    column: 'forward_dividend_rate',
    kind: 'number',
    from: [{ path: 'SplitsDividends.ForwardAnnualDividendRate' }],
    zero: 'value',
    unit: 'money per share and year',
  },
  {
    column: 'forward_dividend_yield',
    kind: 'number',
    from: [{ path: 'SplitsDividends.ForwardAnnualDividendYield' }],
    zero: 'value',
    unit: 'fraction',
  },
  {
    column: 'payout_ratio',
    kind: 'number',
    from: [{ path: 'SplitsDividends.PayoutRatio' }],
    zero: 'value',
    unit: 'fraction of earnings',
  },
  {
    column: 'eps',
    kind: 'number',
    from: [{ path: 'Highlights.EarningsShare' }, { path: 'Highlights.DilutedEpsTTM' }],
    zero: 'value',
    unit: 'money per share (TTM)',
  },
  { column: 'beta', kind: 'number', from: [{ path: 'Technicals.Beta' }], zero: 'missing', unit: 'ratio to the market' },
  {
    column: 'profit_margin',
    kind: 'number',
    from: [{ path: 'Highlights.ProfitMargin' }],
    zero: 'value',
    unit: 'fraction',
  },
  {
    column: 'operating_margin',
    kind: 'number',
    from: [{ path: 'Highlights.OperatingMarginTTM' }],
    zero: 'value',
    unit: 'fraction (TTM)',
  },
  {
    column: 'return_on_equity',
    kind: 'number',
    from: [{ path: 'Highlights.ReturnOnEquityTTM' }],
    zero: 'value',
    unit: 'fraction (TTM)',
  },
  {
    column: 'return_on_assets',
    kind: 'number',
    from: [{ path: 'Highlights.ReturnOnAssetsTTM' }],
    zero: 'value',
    unit: 'fraction (TTM)',
  },
  {
    column: 'revenue_ttm',
    kind: 'number',
    from: [{ path: 'Highlights.RevenueTTM' }],
    zero: 'value',
    unit: 'money (TTM)',
    note: '0: no revenue yet',
  },
  {
    column: 'revenue_growth_yoy',
    kind: 'number',
    from: [{ path: 'Highlights.QuarterlyRevenueGrowthYOY' }],
    zero: 'value',
    unit: 'fraction, quarter on the year before',
  },
  {
    column: 'earnings_growth_yoy',
    kind: 'number',
    from: [{ path: 'Highlights.QuarterlyEarningsGrowthYOY' }],
    zero: 'value',
    unit: 'fraction, quarter on the year before',
  },
  { column: 'ebitda', kind: 'number', from: [{ path: 'Highlights.EBITDA' }], zero: 'missing', unit: 'money (TTM)' },
  {
    column: 'shares_outstanding',
    kind: 'number',
    from: [{ path: 'SharesStats.SharesOutstanding' }],
    zero: 'missing',
    unit: 'shares',
  },
  {
    column: 'week_52_high',
    kind: 'number',
    from: [{ path: 'Technicals.52WeekHigh' }],
    zero: 'missing',
    unit: 'price (major unit)',
  },
  {
    column: 'week_52_low',
    kind: 'number',
    from: [{ path: 'Technicals.52WeekLow' }],
    zero: 'missing',
    unit: 'price (major unit)',
  },
  {
    column: 'analyst_rating',
    kind: 'number',
    from: [{ path: 'AnalystRatings.Rating' }],
    zero: 'missing',
    unit: '1 (sell) to 5 (strong buy)',
  },
  {
    column: 'analyst_target_price',
    kind: 'number',
    from: [{ path: 'AnalystRatings.TargetPrice' }, { path: 'Highlights.WallStreetTargetPrice' }],
    zero: 'missing',
    unit: 'price (major unit)',
  },
  {
    column: 'fund_category',
    kind: 'text',
    from: [{ path: 'General.Category' }, { path: 'General.Fund_Category' }, { path: 'MutualFund_Data.Fund_Category' }],
    unit: 'Morningstar-style category (ETFs, funds)',
  },
  {
    column: 'fund_family',
    kind: 'text',
    from: [{ path: 'General.Fund_Family' }, { path: 'ETF_Data.Company_Name' }],
    unit: 'issuer (ETFs, funds)',
  },
  {
    column: 'expense_ratio',
    kind: 'number',
    from: [{ path: 'ETF_Data.NetExpenseRatio' }, pct('MutualFund_Data.Expense_Ratio')],
    zero: 'value',
    unit: 'fraction a year (0.0003 = 0.03%)',
    note: 'funds give percent: divided by 100',
  },
  {
    column: 'fund_yield',
    kind: 'number',
    from: [pct('ETF_Data.Yield'), pct('MutualFund_Data.Yield')],
    zero: 'value',
    unit: 'fraction',
    note: 'given in percent: divided by 100; 0: distributes nothing',
  },
  {
    column: 'net_assets',
    kind: 'number',
    from: [{ path: 'ETF_Data.TotalAssets' }, { path: 'MutualFund_Data.Portfolio_Net_Assets' }],
    zero: 'missing',
    unit: 'money',
  },
  {
    column: 'nav',
    kind: 'number',
    from: [{ path: 'MutualFund_Data.Nav' }],
    zero: 'missing',
    unit: 'money per share (funds)',
  },
  {
    column: 'holdings_count',
    kind: 'integer',
    from: [{ path: 'ETF_Data.Holdings_Count' }],
    zero: 'missing',
    unit: 'holdings (ETFs)',
  },
  {
    column: 'inception_date',
    kind: 'date',
    from: [{ path: 'ETF_Data.Inception_Date' }, { path: 'MutualFund_Data.Inception_Date' }],
    unit: 'date (ETFs, funds)',
  },
  {
    column: 'morningstar_rating',
    kind: 'number',
    from: [{ path: 'ETF_Data.MorningStar.Ratio' }, { path: 'MutualFund_Data.Morning_Star_Rating' }],
    zero: 'missing',
    unit: '1 to 5 stars',
  },
  {
    column: 'return_1y',
    kind: 'number',
    from: [pct('ETF_Data.Performance.Returns_1Y'), pct('MutualFund_Data.Yield_1Year_YTD')],
    zero: 'value',
    unit: 'fraction',
    note: 'given in percent: divided by 100',
  },
  {
    column: 'return_3y',
    kind: 'number',
    from: [pct('ETF_Data.Performance.Returns_3Y'), pct('MutualFund_Data.Yield_3Year_YTD')],
    zero: 'value',
    unit: 'fraction a year',
    note: 'given in percent: divided by 100',
  },
  {
    column: 'return_5y',
    kind: 'number',
    from: [pct('ETF_Data.Performance.Returns_5Y'), pct('MutualFund_Data.Yield_5Year_YTD')],
    zero: 'value',
    unit: 'fraction a year',
    note: 'given in percent: divided by 100',
  },
];

/** Columns filled from the document, and next_earnings_date (from Earnings.History). */
const FUNDAMENTAL_COLUMNS: readonly string[] = [...SCREENER_COLUMNS.map((c) => c.column), 'next_earnings_date'];

export type FundamentalColumns = Record<string, number | string | null> & {
  next_earnings_date: string | null;
  // Also refreshed on the asset.
  name: string | null;
  isin: string | null;
  country: string | null;
};

/** The value at a dotted path; a section EODHD wrote as "NA" (or any non-object on the way) has none. */
function at(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function isNumberColumn(c: ScreenerColumn): c is NumberColumn {
  return c.kind === 'number' || c.kind === 'integer';
}

function columnValue(doc: Fundamentals, c: ScreenerColumn): number | string | null {
  for (const s of c.from) {
    const raw = at(doc, s.path);
    if (isNumberColumn(c)) {
      let n = num(raw);
      if (n === null || (n === 0 && c.zero === 'missing')) continue;
      if (s.scale !== undefined) n = Math.round(n * s.scale * 1e12) / 1e12;
      return c.kind === 'integer' ? Math.round(n) : n;
    }
    const v = c.kind === 'date' ? date(raw) : text(raw);
    if (v !== null) return v;
  }
  return null;
}

/** The next earnings report date after `today` among Earnings.History (object keyed by date, or array). */
function nextEarnings(doc: Fundamentals, today: string): string | null {
  const history = at(doc, 'Earnings.History');
  if (!history || typeof history !== 'object') return null;
  let next: string | null = null;
  for (const row of Object.values(history as Record<string, unknown>)) {
    const d =
      row && typeof row === 'object'
        ? date((row as Record<string, unknown>).reportDate ?? (row as Record<string, unknown>).date)
        : null;
    if (d && d >= today && (!next || d < next)) next = d;
  }
  return next;
}

export function extractFundamentals(
  doc: Fundamentals,
  today = new Date().toISOString().slice(0, 10),
): FundamentalColumns {
  const out: Record<string, number | string | null> = {};
  for (const c of SCREENER_COLUMNS) out[c.column] = columnValue(doc, c);
  return {
    ...out,
    next_earnings_date: nextEarnings(doc, today),
    name: text(at(doc, 'General.Name')),
    isin: text(at(doc, 'General.ISIN')) ?? text(at(doc, 'ETF_Data.ISIN')),
    country: text(at(doc, 'General.CountryName')),
  };
}

// --- the fundamentals table ---------------------------------------------------------------------

const UPSERT_FUNDAMENTALS = `
  INSERT INTO fundamentals (asset_id, data, fetched_at, columns_version, ${FUNDAMENTAL_COLUMNS.join(', ')})
  VALUES ($1, $2::jsonb, now(), ${FUNDAMENTALS_MAPPING_VERSION}, ${FUNDAMENTAL_COLUMNS.map((_, i) => `$${i + 3}`).join(', ')})
  ON CONFLICT (asset_id) DO UPDATE SET data = EXCLUDED.data, fetched_at = now(), columns_version = EXCLUDED.columns_version,
    ${FUNDAMENTAL_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;

export async function upsertFundamentals(q: Queryable, assetId: number, doc: Fundamentals): Promise<void> {
  const f = extractFundamentals(doc);
  // jsonb cannot hold \u0000; EODHD text fields occasionally do.
  const json = JSON.stringify(doc).replace(/\\u0000/g, '');
  await q.query(UPSERT_FUNDAMENTALS, [assetId, json, ...FUNDAMENTAL_COLUMNS.map((c) => f[c])]);
  rowsWritten.inc({ table: 'fundamentals' });
  await refreshAssetFromDocument(q, assetId, {
    name: f.name,
    isin: f.isin,
    country: f.country,
    sector: f.sector as string | null,
    industry: f.industry as string | null,
    type: f.instrument_type as string | null,
  });
}

const STALE_COLUMNS = `SELECT asset_id, data FROM fundamentals WHERE columns_version < ${FUNDAMENTALS_MAPPING_VERSION} ORDER BY asset_id LIMIT $1`;
const REFILL_COLUMNS = `
  UPDATE fundamentals SET columns_version = ${FUNDAMENTALS_MAPPING_VERSION}, ${FUNDAMENTAL_COLUMNS.map((c, i) => `${c} = $${i + 2}`).join(', ')}
   WHERE asset_id = $1`;

/**
 * Fills the columns of rows an older mapping filled, from their stored documents (no API
 * call); `batch` rows at a time. Returns how many rows it filled.
 */
export async function refillFundamentalColumns(q: Queryable, batch = 200): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = (await q.query<{ asset_id: number; data: Fundamentals }>(STALE_COLUMNS, [batch])).rows;
    for (const r of rows) {
      const f = extractFundamentals(r.data);
      await q.query(REFILL_COLUMNS, [r.asset_id, ...FUNDAMENTAL_COLUMNS.map((c) => f[c])]);
    }
    total += rows.length;
    if (rows.length < batch) return total;
  }
}
