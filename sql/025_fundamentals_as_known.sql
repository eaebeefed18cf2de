-- Fundamentals as they were known. `fundamentals` holds only the latest document; a screen
-- run for a past day (a backtest) needs what was known on that day, so every fetch's
-- extracted columns are kept as a version, and the financial statements and earnings
-- reports inside each document are kept per period with the day they became public.
-- All three tables are written by shared/store/fundamentals.ts, in the transaction that
-- upserts the document.

-- One row per asset and day its extracted screener columns changed. A refetch whose
-- columns equal the asset's latest version writes nothing: that version simply lasts
-- longer (its known_until is the day before the next version's known_from), so that a
-- quiet company costs no row per refresh. Two fetches on one day that differ: the later
-- replaces the day's version (what was known at the end of that day).
-- General.UpdatedAt (source_updated_at) is left out: EODHD moves it on every fetch.
CREATE TABLE fundamentals_versions (
  asset_id               bigint NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  known_from             date NOT NULL,            -- the fetch's day (the API's clock)
  fetched_at             timestamptz NOT NULL,
  instrument_type        text,
  currency               text,
  sector                 text,
  industry               text,
  gic_sector             text,
  gic_group              text,
  gic_industry           text,
  gic_sub_industry       text,
  market_cap             double precision,
  enterprise_value       double precision,
  pe_ratio               double precision,
  forward_pe             double precision,
  peg_ratio              double precision,
  price_to_book          double precision,
  price_to_sales         double precision,
  ev_to_ebitda           double precision,
  dividend_yield         double precision,
  dividend_share         double precision,
  forward_dividend_rate  double precision,
  forward_dividend_yield double precision,
  payout_ratio           double precision,
  eps                    double precision,
  beta                   double precision,
  profit_margin          double precision,
  operating_margin       double precision,
  return_on_equity       double precision,
  return_on_assets       double precision,
  revenue_ttm            double precision,
  revenue_growth_yoy     double precision,
  earnings_growth_yoy    double precision,
  ebitda                 double precision,
  shares_outstanding     double precision,
  week_52_high           double precision,
  week_52_low            double precision,
  analyst_rating         double precision,
  analyst_target_price   double precision,
  fund_category          text,
  fund_family            text,
  expense_ratio          double precision,
  fund_yield             double precision,
  net_assets             double precision,
  nav                    double precision,
  holdings_count         integer,
  inception_date         date,
  morningstar_rating     double precision,
  return_1y              double precision,
  return_3y              double precision,
  return_5y              double precision,
  next_earnings_date     date,
  PRIMARY KEY (asset_id, known_from)
);

-- The documents stored so far: each is its asset's first version, known from its fetch day.
INSERT INTO fundamentals_versions (
  asset_id, known_from, fetched_at, instrument_type, currency, sector, industry, gic_sector, gic_group,
  gic_industry, gic_sub_industry, market_cap, enterprise_value, pe_ratio, forward_pe, peg_ratio,
  price_to_book, price_to_sales, ev_to_ebitda, dividend_yield, dividend_share, forward_dividend_rate,
  forward_dividend_yield, payout_ratio, eps, beta, profit_margin, operating_margin, return_on_equity,
  return_on_assets, revenue_ttm, revenue_growth_yoy, earnings_growth_yoy, ebitda, shares_outstanding,
  week_52_high, week_52_low, analyst_rating, analyst_target_price, fund_category, fund_family,
  expense_ratio, fund_yield, net_assets, nav, holdings_count, inception_date, morningstar_rating,
  return_1y, return_3y, return_5y, next_earnings_date)
SELECT
  asset_id, (fetched_at AT TIME ZONE 'UTC')::date, fetched_at, instrument_type, currency, sector, industry, gic_sector, gic_group,
  gic_industry, gic_sub_industry, market_cap, enterprise_value, pe_ratio, forward_pe, peg_ratio,
  price_to_book, price_to_sales, ev_to_ebitda, dividend_yield, dividend_share, forward_dividend_rate,
  forward_dividend_yield, payout_ratio, eps, beta, profit_margin, operating_margin, return_on_equity,
  return_on_assets, revenue_ttm, revenue_growth_yoy, earnings_growth_yoy, ebitda, shares_outstanding,
  week_52_high, week_52_low, analyst_rating, analyst_target_price, fund_category, fund_family,
  expense_ratio, fund_yield, net_assets, nav, holdings_count, inception_date, morningstar_rating,
  return_1y, return_3y, return_5y, next_earnings_date
FROM fundamentals;

-- Each version with the last day it was what we knew (NULL: it still is).
CREATE VIEW v_fundamentals_as_known AS
SELECT a.symbol, v.asset_id, v.known_from,
       lead(v.known_from) OVER (PARTITION BY v.asset_id ORDER BY v.known_from) - 1 AS known_until,
       v.fetched_at, v.instrument_type, v.currency, v.sector, v.industry, v.gic_sector, v.gic_group,
       v.gic_industry, v.gic_sub_industry, v.market_cap, v.enterprise_value, v.pe_ratio, v.forward_pe,
       v.peg_ratio, v.price_to_book, v.price_to_sales, v.ev_to_ebitda, v.dividend_yield, v.dividend_share,
       v.forward_dividend_rate, v.forward_dividend_yield, v.payout_ratio, v.eps, v.beta, v.profit_margin,
       v.operating_margin, v.return_on_equity, v.return_on_assets, v.revenue_ttm, v.revenue_growth_yoy,
       v.earnings_growth_yoy, v.ebitda, v.shares_outstanding, v.week_52_high, v.week_52_low,
       v.analyst_rating, v.analyst_target_price, v.fund_category, v.fund_family, v.expense_ratio,
       v.fund_yield, v.net_assets, v.nav, v.holdings_count, v.inception_date, v.morningstar_rating,
       v.return_1y, v.return_3y, v.return_5y, v.next_earnings_date
FROM fundamentals_versions v
JOIN assets a ON a.id = v.asset_id;

-- What we knew on day d: per asset, the version with known_from <= d < the next known_from
-- (no row for an asset first fetched after d); join assets for the symbol.
-- SELECT a.symbol, f.* FROM fundamentals_as_of('2026-03-31') f JOIN assets a ON a.id = f.asset_id
CREATE FUNCTION fundamentals_as_of(d date)
RETURNS SETOF fundamentals_versions
LANGUAGE sql STABLE
SET search_path = financial_screener, public
AS $$
  SELECT DISTINCT ON (v.asset_id) v.* FROM fundamentals_versions v
  WHERE v.known_from <= d
  ORDER BY v.asset_id, v.known_from DESC
$$;

-- The financial statements inside the documents (Financials.Income_Statement, Balance_Sheet,
-- Cash_Flow; quarterly and yearly), one row per asset, statement, period and version of its
-- figures, for the fields a screen needs (money in the statement's currency; NULL: not in
-- the document, or not a field of this statement). A period whose figures or filing date
-- differ from its latest row (a restatement, a correction) adds a row: the earlier stays.
-- A row is public from its filing_date, or from first_seen when EODHD gives none.
CREATE TABLE financial_reports (
  asset_id             bigint NOT NULL,          -- no foreign key: see the trigger below
  statement            text NOT NULL CHECK (statement IN ('income_statement', 'balance_sheet', 'cash_flow')),
  frequency            text NOT NULL CHECK (frequency IN ('quarterly', 'yearly')),
  period_end           date NOT NULL,
  first_seen           date NOT NULL,            -- the fetch day this version of the figures was first seen
  filing_date          date,
  currency             text,
  revenue              double precision,         -- income statement: totalRevenue
  net_income           double precision,         -- income statement: netIncome
  eps                  double precision,         -- income statement: netIncome / the balance sheet's commonStockSharesOutstanding of the period
  operating_cash_flow  double precision,         -- cash flow: totalCashFromOperatingActivities
  free_cash_flow       double precision,         -- cash flow: freeCashFlow, else operating cash flow + capitalExpenditures
  total_assets         double precision,         -- balance sheet: totalAssets
  total_debt           double precision,         -- balance sheet: shortLongTermDebtTotal, else shortTermDebt + longTermDebt
  equity               double precision,         -- balance sheet: totalStockholderEquity
  shares               double precision,         -- balance sheet: commonStockSharesOutstanding
  PRIMARY KEY (asset_id, statement, frequency, period_end, first_seen)
);

-- The earnings reports (Earnings.History) that have been reported: one row per asset, quarter
-- and version, by the same rule. Upcoming reports (no actual yet) are not kept: their
-- estimate moves with every fetch.
CREATE TABLE earnings_reports (
  asset_id             bigint NOT NULL,          -- no foreign key: see the trigger below
  period_end           date NOT NULL,            -- Earnings.History[].date
  first_seen           date NOT NULL,
  report_date          date,
  before_after_market  text,
  currency             text,
  actual               double precision,         -- epsActual, money per share
  estimate             double precision,         -- epsEstimate
  difference           double precision,         -- epsDifference
  surprise_pct         double precision,         -- surprisePercent, percent (6.4 = 6.4%)
  PRIMARY KEY (asset_id, period_end, first_seen)
);

-- A document writes some fifty statement and earnings rows: a foreign key would check and
-- lock the asset's row for each (as on the hot tables, 016); the pipeline writes only ids it
-- read from assets, and a statement trigger does what ON DELETE CASCADE did.
CREATE FUNCTION assets_deleted_reports() RETURNS trigger LANGUAGE plpgsql
SET search_path = financial_screener, public AS $$
BEGIN
  DELETE FROM financial_reports r USING deleted_assets d WHERE r.asset_id = d.id;
  DELETE FROM earnings_reports e USING deleted_assets d WHERE e.asset_id = d.id;
  RETURN NULL;
END $$;

CREATE TRIGGER assets_deleted_reports AFTER DELETE ON assets
  REFERENCING OLD TABLE AS deleted_assets FOR EACH STATEMENT EXECUTE FUNCTION assets_deleted_reports();

-- Growth as it could be computed on day d from the yearly income statements public by then
-- (filing_date, else first_seen, on or before d; of several versions of a year the latest
-- public one). Per asset, from its latest such fiscal year t:
--   *_growth_1y = x(t) / x(t-1) - 1;  *_growth_3y = (x(t) / x(t-3))^(1/3) - 1;
--   *_growth_5y = (x(t) / x(t-5))^(1/5) - 1  (annualised), fractions (0.12 = 12% a year);
-- year t-k is the yearly period ending within 45 days of k years before t. NULL when a
-- year is missing or the base is not positive (no growth rate from a loss), or, over 3
-- and 5 years, the latest is negative.
CREATE FUNCTION fundamental_growth_as_of(d date)
RETURNS TABLE (asset_id bigint, fiscal_year_end date,
               revenue_growth_1y double precision, revenue_growth_3y double precision, revenue_growth_5y double precision,
               net_income_growth_1y double precision, net_income_growth_3y double precision, net_income_growth_5y double precision,
               eps_growth_1y double precision, eps_growth_3y double precision, eps_growth_5y double precision)
LANGUAGE sql STABLE
SET search_path = financial_screener, public
AS $$
  WITH known AS (
    SELECT DISTINCT ON (r.asset_id, r.period_end) r.asset_id, r.period_end, r.revenue, r.net_income, r.eps
    FROM financial_reports r
    WHERE r.statement = 'income_statement' AND r.frequency = 'yearly'
      AND coalesce(r.filing_date, r.first_seen) <= d
    ORDER BY r.asset_id, r.period_end, coalesce(r.filing_date, r.first_seen) DESC, r.first_seen DESC
  ), latest AS (
    SELECT DISTINCT ON (k.asset_id) k.* FROM known k ORDER BY k.asset_id, k.period_end DESC
  ), base AS (
    SELECT l.asset_id, l.period_end, y.years, l.revenue, l.net_income, l.eps,
           b.revenue AS b_revenue, b.net_income AS b_net_income, b.eps AS b_eps
    FROM latest l
    CROSS JOIN (VALUES (1), (3), (5)) AS y(years)
    LEFT JOIN LATERAL (
      SELECT k.revenue, k.net_income, k.eps FROM known k
      WHERE k.asset_id = l.asset_id
        AND k.period_end BETWEEN (l.period_end - make_interval(years => y.years))::date - 45
                             AND (l.period_end - make_interval(years => y.years))::date + 45
      ORDER BY abs(k.period_end - (l.period_end - make_interval(years => y.years))::date)
      LIMIT 1) b ON true
  ), rates AS (
    SELECT asset_id, period_end, years,
           CASE WHEN b_revenue > 0 AND (years = 1 OR revenue >= 0)
                THEN power(revenue / b_revenue, 1.0 / years) - 1 END AS revenue_growth,
           CASE WHEN b_net_income > 0 AND (years = 1 OR net_income >= 0)
                THEN power(net_income / b_net_income, 1.0 / years) - 1 END AS net_income_growth,
           CASE WHEN b_eps > 0 AND (years = 1 OR eps >= 0)
                THEN power(eps / b_eps, 1.0 / years) - 1 END AS eps_growth
    FROM base
  )
  SELECT asset_id, period_end,
         max(revenue_growth) FILTER (WHERE years = 1), max(revenue_growth) FILTER (WHERE years = 3),
         max(revenue_growth) FILTER (WHERE years = 5),
         max(net_income_growth) FILTER (WHERE years = 1), max(net_income_growth) FILTER (WHERE years = 3),
         max(net_income_growth) FILTER (WHERE years = 5),
         max(eps_growth) FILTER (WHERE years = 1), max(eps_growth) FILTER (WHERE years = 3),
         max(eps_growth) FILTER (WHERE years = 5)
  FROM rates
  GROUP BY asset_id, period_end
$$;
