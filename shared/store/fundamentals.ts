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
 * The fundamentals table is written here, and nowhere else; so are the tables that keep what
 * was known when (fundamentals_versions, financial_reports, earnings_reports: see the end).
 */

import { z } from 'zod';
import type { Fundamentals } from '../eodhd/schemas.js';
import type { Queryable } from '../platform/db.js';
import { rowsWritten } from '../platform/metrics.js';
import { QUEUE_HISTORY } from './prices.js';
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

/**
 * Writes a fetched document: the latest document and its columns, the version of its
 * columns known from `day` (the fetch's day by the API's clock), and the statements and
 * earnings reports inside it; one transaction is the caller's (collect-item's).
 */
export async function upsertFundamentals(
  q: Queryable,
  assetId: number,
  doc: Fundamentals,
  day = new Date().toISOString().slice(0, 10),
): Promise<void> {
  const f = extractFundamentals(doc, day);
  // jsonb cannot hold \u0000; EODHD text fields occasionally do.
  const json = JSON.stringify(doc).replace(/\\u0000/g, '');
  // One statement for the four tables: each round trip costs more than the writes themselves.
  // A named statement: planned once a connection (its plan took as long as its execution).
  const w = await q.query<{ versions: number; reports: number; earnings: number }>({
    name: 'write-fundamentals-document',
    text: WRITE_DOCUMENT,
    values: [
      assetId,
      json,
      ...FUNDAMENTAL_COLUMNS.map((c) => f[c]),
      day,
      JSON.stringify(extractReports(doc)),
      JSON.stringify(extractEarnings(doc, day)),
    ],
  });
  rowsWritten.inc({ table: 'fundamentals' });
  const written = w.rows[0];
  if (written?.versions) rowsWritten.inc({ table: 'fundamentals_versions' }, written.versions);
  if (written?.reports) rowsWritten.inc({ table: 'financial_reports' }, written.reports);
  if (written?.earnings) rowsWritten.inc({ table: 'earnings_reports' }, written.earnings);
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

// --- what was known when: versions, statements, earnings reports ---------------------------------

/**
 * The columns kept per version: every extracted column but General.UpdatedAt, which EODHD
 * moves on every fetch (it would make each refetch a version). sql/025 lists them in this
 * order (a test keeps the table and this list equal).
 */
export const VERSION_COLUMNS: readonly string[] = FUNDAMENTAL_COLUMNS.filter((c) => c !== 'source_updated_at');

// The version is taken from the row just written (`f`), and only when it differs from the
// asset's latest: an unchanged refetch writes nothing (the latest version lasts longer). On
// the latest version's own day (or a clock behind it) the day's version is replaced instead.
const insertVersion = (day: string) => `
  INSERT INTO fundamentals_versions (asset_id, known_from, fetched_at, ${VERSION_COLUMNS.join(', ')})
  SELECT f.asset_id, greatest(${day}::date, l.known_from), f.fetched_at, ${VERSION_COLUMNS.map((c) => `f.${c}`).join(', ')}
    FROM f
    LEFT JOIN LATERAL (SELECT * FROM fundamentals_versions v WHERE v.asset_id = f.asset_id
                        ORDER BY v.known_from DESC LIMIT 1) l ON true
   WHERE l.asset_id IS NULL
      OR ROW(${VERSION_COLUMNS.map((c) => `l.${c}`).join(', ')}) IS DISTINCT FROM ROW(${VERSION_COLUMNS.map((c) => `f.${c}`).join(', ')})
  ON CONFLICT (asset_id, known_from) DO UPDATE SET fetched_at = EXCLUDED.fetched_at,
    ${VERSION_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
  RETURNING asset_id, known_from`;

/** The most recent periods kept of each statement and frequency, and of earnings reports, per document. */
export const MAX_PERIODS = 24;

export type Statement = 'income_statement' | 'balance_sheet' | 'cash_flow';
export type Frequency = 'quarterly' | 'yearly';

export interface ReportRow {
  statement: Statement;
  frequency: Frequency;
  period_end: string;
  filing_date: string | null;
  currency: string | null;
  revenue: number | null;
  net_income: number | null;
  eps: number | null;
  operating_cash_flow: number | null;
  free_cash_flow: number | null;
  total_assets: number | null;
  total_debt: number | null;
  equity: number | null;
  shares: number | null;
}

export interface EarningsRow {
  period_end: string;
  report_date: string | null;
  before_after_market: string | null;
  currency: string | null;
  actual: number | null;
  estimate: number | null;
  difference: number | null;
  surprise_pct: number | null;
}

const REPORT_FIELDS = [
  'revenue',
  'net_income',
  'eps',
  'operating_cash_flow',
  'free_cash_flow',
  'total_assets',
  'total_debt',
  'equity',
  'shares',
] as const;
const EARNINGS_FIELDS = [
  'report_date',
  'before_after_market',
  'currency',
  'actual',
  'estimate',
  'difference',
  'surprise_pct',
] as const;

// Tolerant shapes: anything else (a section sent as "NA", a string, a number) is no section.
// Periods come as an array (EODHD's published schema) or as an object keyed by date (what
// it sends); the bulk endpoint's `quarterly_last_0`, `Last_0`, ... keys are read alike.
const Periods = z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]);
const Section = z.record(z.string(), z.unknown());
const FinancialsShape = z.looseObject({
  Income_Statement: Section.optional().catch(undefined),
  Balance_Sheet: Section.optional().catch(undefined),
  Cash_Flow: Section.optional().catch(undefined),
});
const EarningsShape = z.looseObject({ History: Periods.optional().catch(undefined) });
const BULK_PERIOD = { quarterly: /^quarterly_last_\d+$/, yearly: /^yearly_last_\d+$/ };
const BULK_EARNINGS = /^Last_\d+$/;

// An entry is read field by field with num/date/text, so an object is all it needs to be
// (a plain check: a schema per entry cost more than the rest of the write).
const isEntry = (e: unknown): e is Record<string, unknown> => typeof e === 'object' && e !== null && !Array.isArray(e);

function entriesOf(v: unknown): Record<string, unknown>[] {
  const p = Periods.safeParse(v);
  if (!p.success) return [];
  return (Array.isArray(p.data) ? p.data : Object.values(p.data)).filter(isEntry);
}

/** A section's periods of one frequency: `quarterly` / `yearly` (`annual` in the schema), or bulk's `<freq>_last_N` keys. */
function periodsOf(section: Record<string, unknown>, frequency: Frequency): Record<string, unknown>[] {
  const keys = frequency === 'yearly' ? ['yearly', 'annual'] : ['quarterly'];
  const out = keys.flatMap((k) => entriesOf(section[k]));
  for (const [k, v] of Object.entries(section)) if (BULK_PERIOD[frequency].test(k) && isEntry(v)) out.push(v);
  return out;
}

/** The most recent `max` entries by period end, one per period (the later filing of a duplicate), valid dates only. */
function latestPeriods<T extends { period_end: string; filing_date?: string | null }>(rows: T[], max: number): T[] {
  const byPeriod = new Map<string, T>();
  for (const r of rows) {
    const seen = byPeriod.get(r.period_end);
    if (!seen || (r.filing_date ?? '') > (seen.filing_date ?? '')) byPeriod.set(r.period_end, r);
  }
  return [...byPeriod.values()].sort((a, b) => (a.period_end < b.period_end ? 1 : -1)).slice(0, max);
}

const sumOf = (...xs: Array<number | null>): number | null =>
  xs.every((x) => x === null) ? null : xs.reduce<number>((s, x) => s + (x ?? 0), 0);

/**
 * The statements' rows a screen needs, from Financials: at most `max` periods of each
 * statement and frequency (the most recent). A period without a valid date, or without
 * any of the fields, is left out; a field EODHD does not give is NULL.
 */
export function extractReports(doc: Fundamentals, max = MAX_PERIODS): ReportRow[] {
  const fin = FinancialsShape.safeParse(at(doc, 'Financials'));
  if (!fin.success) return [];
  const sections: Array<[Statement, Record<string, unknown> | undefined]> = [
    ['income_statement', fin.data.Income_Statement],
    ['balance_sheet', fin.data.Balance_Sheet],
    ['cash_flow', fin.data.Cash_Flow],
  ];
  const out: ReportRow[] = [];
  const sharesAt = new Map<string, number>();
  for (const frequency of ['quarterly', 'yearly'] as const) {
    const perStatement = new Map<Statement, ReportRow[]>();
    for (const [statement, section] of sections) {
      if (!section) continue;
      const sectionCurrency = text(section.currency_symbol);
      const rows: ReportRow[] = [];
      for (const e of periodsOf(section, frequency)) {
        const period_end = date(e.date);
        if (!period_end) continue;
        const filing = date(e.filing_date);
        const row: ReportRow = {
          statement,
          frequency,
          period_end,
          // A filing dated before its period's end is not a filing date.
          filing_date: filing && filing >= period_end ? filing : null,
          currency: text(e.currency_symbol) ?? sectionCurrency,
          revenue: null,
          net_income: null,
          eps: null,
          operating_cash_flow: null,
          free_cash_flow: null,
          total_assets: null,
          total_debt: null,
          equity: null,
          shares: null,
        };
        if (statement === 'income_statement') {
          row.revenue = num(e.totalRevenue);
          row.net_income = num(e.netIncome);
        } else if (statement === 'cash_flow') {
          row.operating_cash_flow = num(e.totalCashFromOperatingActivities);
          const capex = num(e.capitalExpenditures);
          // EODHD gives capital expenditures as negative amounts in some documents, positive in others.
          row.free_cash_flow =
            num(e.freeCashFlow) ??
            (row.operating_cash_flow !== null && capex !== null ? row.operating_cash_flow - Math.abs(capex) : null);
        } else {
          row.total_assets = num(e.totalAssets);
          row.total_debt = num(e.shortLongTermDebtTotal) ?? sumOf(num(e.shortTermDebt), num(e.longTermDebt));
          row.equity = num(e.totalStockholderEquity);
          const shares = num(e.commonStockSharesOutstanding);
          row.shares = shares !== null && shares > 0 ? shares : null;
        }
        if (REPORT_FIELDS.some((f) => row[f] !== null)) rows.push(row);
      }
      perStatement.set(statement, latestPeriods(rows, max));
    }
    for (const r of perStatement.get('balance_sheet') ?? [])
      if (r.shares !== null) sharesAt.set(`${frequency}/${r.period_end}`, r.shares);
    for (const rows of perStatement.values())
      for (const r of rows) {
        const shares = sharesAt.get(`${frequency}/${r.period_end}`);
        if (r.statement === 'income_statement' && r.net_income !== null && shares)
          r.eps = Math.round((r.net_income / shares) * 1e6) / 1e6;
        out.push(r);
      }
  }
  return out;
}

/**
 * The reported earnings in Earnings.History: reports with an actual figure, dated on or
 * before `day` (upcoming ones are estimates that move with every fetch); the most recent `max`.
 */
export function extractEarnings(doc: Fundamentals, day: string, max = MAX_PERIODS): EarningsRow[] {
  const earnings = EarningsShape.safeParse(at(doc, 'Earnings'));
  if (!earnings.success) return [];
  const entries = entriesOf(earnings.data.History);
  for (const [k, v] of Object.entries(earnings.data)) if (BULK_EARNINGS.test(k) && isEntry(v)) entries.push(v);
  const rows: EarningsRow[] = [];
  for (const e of entries) {
    const period_end = date(e.date);
    const actual = num(e.epsActual);
    const report_date = date(e.reportDate);
    if (!period_end || actual === null || (report_date !== null && report_date > day)) continue;
    rows.push({
      period_end,
      report_date,
      before_after_market: text(e.beforeAfterMarket),
      currency: text(e.currency),
      actual,
      estimate: num(e.epsEstimate),
      difference: num(e.epsDifference),
      surprise_pct: num(e.surprisePercent),
    });
  }
  return latestPeriods(
    rows.map((r) => ({ ...r, filing_date: r.report_date })),
    max,
  ).map(({ filing_date: _, ...r }) => r);
}

const REPORT_TYPES = `statement text, frequency text, period_end date, filing_date date, currency text, ${REPORT_FIELDS.map((f) => `${f} float8`).join(', ')}`;
const REPORT_VALUES = ['filing_date', 'currency', ...REPORT_FIELDS];
// A period's figures are a new row when anything differs from its latest row (a
// restatement: the earlier row stays); on that row's own day the row is replaced.
const insertReports = (rows: string, day: string) => `
  INSERT INTO financial_reports (asset_id, statement, frequency, period_end, first_seen, ${REPORT_VALUES.join(', ')})
  SELECT $1, i.statement, i.frequency, i.period_end, greatest(${day}::date, l.first_seen), ${REPORT_VALUES.map((c) => `i.${c}`).join(', ')}
    FROM jsonb_to_recordset(${rows}::jsonb) AS i(${REPORT_TYPES})
    LEFT JOIN LATERAL (SELECT * FROM financial_reports r
                        WHERE r.asset_id = $1 AND r.statement = i.statement AND r.frequency = i.frequency
                          AND r.period_end = i.period_end
                        ORDER BY r.first_seen DESC LIMIT 1) l ON true
   WHERE l.first_seen IS NULL
      OR ROW(${REPORT_VALUES.map((c) => `l.${c}`).join(', ')}) IS DISTINCT FROM ROW(${REPORT_VALUES.map((c) => `i.${c}`).join(', ')})
  ON CONFLICT (asset_id, statement, frequency, period_end, first_seen) DO UPDATE SET
    ${REPORT_VALUES.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
  RETURNING asset_id, statement, frequency, coalesce(filing_date, first_seen) AS public_from`;

const EARNINGS_TYPES =
  'period_end date, report_date date, before_after_market text, currency text, actual float8, estimate float8, difference float8, surprise_pct float8';
const insertEarnings = (rows: string, day: string) => `
  INSERT INTO earnings_reports (asset_id, period_end, first_seen, ${EARNINGS_FIELDS.join(', ')})
  SELECT $1, i.period_end, greatest(${day}::date, l.first_seen), ${EARNINGS_FIELDS.map((c) => `i.${c}`).join(', ')}
    FROM jsonb_to_recordset(${rows}::jsonb) AS i(${EARNINGS_TYPES})
    LEFT JOIN LATERAL (SELECT * FROM earnings_reports e WHERE e.asset_id = $1 AND e.period_end = i.period_end
                        ORDER BY e.first_seen DESC LIMIT 1) l ON true
   WHERE l.first_seen IS NULL
      OR ROW(${EARNINGS_FIELDS.map((c) => `l.${c}`).join(', ')}) IS DISTINCT FROM ROW(${EARNINGS_FIELDS.map((c) => `i.${c}`).join(', ')})
  ON CONFLICT (asset_id, period_end, first_seen) DO UPDATE SET
    ${EARNINGS_FIELDS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
  RETURNING 1`;

// The document, its version, statements and earnings reports in one statement: $1 the
// asset, $2 the document, then the columns, the day, the statements' and the reports' rows.
// A version written (the fetch day's, new or replaced) changes what the screener rows from
// its day read (calc-indicators: the version known on each session), and a balance sheet
// or yearly income statement written changes their book value and growth from the day it
// is public (its filing date, often before the fetch): the asset's indicator history is
// queued from the earliest of those days in the same statement (QUEUE_HISTORY, the price
// writes' rule: an earlier queued date is kept), so that the next calc-indicators rewrites
// those rows and the latest one.
const P = FUNDAMENTAL_COLUMNS.length + 3;
const WRITE_DOCUMENT = `
  WITH f AS (${UPSERT_FUNDAMENTALS} RETURNING *),
  v AS (${insertVersion(`$${P}`)}),
  r AS (${insertReports(`$${P + 1}`, `$${P}`)}),
  e AS (${insertEarnings(`$${P + 2}`, `$${P}`)}),
  written AS (
    SELECT asset_id, known_from AS date FROM v
    UNION ALL
    SELECT asset_id, public_from FROM r
     WHERE statement = 'balance_sheet' OR (statement = 'income_statement' AND frequency = 'yearly')
  ),
  history AS (${QUEUE_HISTORY})
  SELECT (SELECT count(*) FROM v)::int AS versions, (SELECT count(*) FROM r)::int AS reports,
         (SELECT count(*) FROM e)::int AS earnings`;

/** Each column of financial_reports filled from a statement, with its source (docs/screener-columns.md follows). */
export const REPORT_COLUMNS: ReadonlyArray<{ column: string; statement: Statement; from: string; unit: string }> = [
  { column: 'revenue', statement: 'income_statement', from: '`totalRevenue`', unit: 'money' },
  { column: 'net_income', statement: 'income_statement', from: '`netIncome`', unit: 'money' },
  {
    column: 'eps',
    statement: 'income_statement',
    from: "`netIncome` / the balance sheet's `commonStockSharesOutstanding` of the same period and frequency",
    unit: "money per share (basic, of the period: a quarter's or a year's)",
  },
  {
    column: 'operating_cash_flow',
    statement: 'cash_flow',
    from: '`totalCashFromOperatingActivities`',
    unit: 'money',
  },
  {
    column: 'free_cash_flow',
    statement: 'cash_flow',
    from: '`freeCashFlow`, else `totalCashFromOperatingActivities` - abs(`capitalExpenditures`)',
    unit: 'money',
  },
  { column: 'total_assets', statement: 'balance_sheet', from: '`totalAssets`', unit: 'money' },
  {
    column: 'total_debt',
    statement: 'balance_sheet',
    from: '`shortLongTermDebtTotal`, else `shortTermDebt` + `longTermDebt`',
    unit: 'money',
  },
  { column: 'equity', statement: 'balance_sheet', from: '`totalStockholderEquity`', unit: 'money' },
  { column: 'shares', statement: 'balance_sheet', from: '`commonStockSharesOutstanding` (0: NULL)', unit: 'shares' },
];

/** The columns of fundamental_growth_as_of(d) (sql/025), with their formula. */
export const GROWTH_COLUMNS: ReadonlyArray<{ column: string; formula: string }> = [
  'revenue',
  'net_income',
  'eps',
].flatMap((x) => [
  { column: `${x}_growth_1y`, formula: `${x}(t) / ${x}(t-1) - 1` },
  { column: `${x}_growth_3y`, formula: `(${x}(t) / ${x}(t-3))^(1/3) - 1` },
  { column: `${x}_growth_5y`, formula: `(${x}(t) / ${x}(t-5))^(1/5) - 1` },
]);
