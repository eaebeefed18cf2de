-- The real EODHD API: the plan a key is on, what it may fetch, warnings, symbols EODHD
-- does not know, currencies, lossless volumes, and fundamentals a screener can trust.
SET search_path = financial_screener, public;

-- What /user says about the key's plan (one row: the last reading).
CREATE TABLE api_plan (
  id                   boolean PRIMARY KEY DEFAULT true CHECK (id),
  subscription_type    text,
  subscription_mode    text,
  daily_rate_limit     integer NOT NULL,
  extra_limit          integer NOT NULL DEFAULT 0,
  available_data_feeds text[] NOT NULL DEFAULT '{}',
  quota_day            date NOT NULL,
  read_at              timestamptz NOT NULL DEFAULT now()
);

-- What the plan lets the pipeline fetch, per kind of endpoint. The answers are the
-- authority (a 403 says "not in the plan", a 2xx says it is); /user's feed list, whose
-- names EODHD does not document, is only a hint until an answer comes (source 'feeds').
-- checked_on: the quota day of the last answer; a kind not in the plan is tried once a day
-- (a 403 costs nothing) to notice when the plan changes.
CREATE TABLE api_entitlements (
  kind        text PRIMARY KEY CHECK (kind IN ('eod', 'bulk', 'fundamentals', 'calendar', 'symbol_list')),
  status      text NOT NULL CHECK (status IN ('available', 'not_in_plan')),
  source      text NOT NULL CHECK (source IN ('answer', 'feeds')),
  since       date NOT NULL,
  checked_on  date,
  detail      text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The day's limits: the API's own (dailyRateLimit + extraLimit, from /user) and what our
-- reservations may reach (the smaller of it and eodhd_daily_quota, less the buffer scaled
-- to it). Reservations check call_limit in the same statement that reserves.
ALTER TABLE api_quota_days
  ADD COLUMN api_daily_limit integer,
  ADD COLUMN call_limit      integer;

-- The plan figures a run budgeted with, and what it could not fetch and why.
ALTER TABLE process_executions
  ADD COLUMN api_plan jsonb,
  ADD COLUMN assets_with_warnings integer NOT NULL DEFAULT 0;

-- Per asset: a history the API cut short (the free plan: one year), symbols EODHD does not
-- know, and the currency the stored prices are in.
ALTER TABLE asset_processing_state
  ADD COLUMN history_limited           boolean NOT NULL DEFAULT false,
  ADD COLUMN history_requested_from    date,
  ADD COLUMN history_received_from     date,
  ADD COLUMN history_warning           text,
  ADD COLUMN fundamentals_not_found_on date,
  ADD COLUMN prices_not_found_on       date,
  ADD COLUMN prices_currency           text;
COMMENT ON COLUMN asset_processing_state.history_limited IS 'the API answered less history than asked, with a warning (history_warning): prices are loaded, but not the full history';
COMMENT ON COLUMN asset_processing_state.fundamentals_not_found_on IS 'EODHD answered {"error": "Not found"} for the fundamentals on this day: not asked again until the symbol reappears in its exchange''s list';
COMMENT ON COLUMN asset_processing_state.prices_not_found_on IS 'EODHD answered 404 Ticker Not Found for the prices on this day: not asked again until the symbol reappears in its exchange''s list';
COMMENT ON COLUMN asset_processing_state.prices_currency IS 'the currency the stored prices are in (as the API gave them: GBX for pence), set when the whole history was fetched';
COMMENT ON COLUMN assets.currency IS 'the currency the API quotes the listing in today (exchange-symbol-list Currency: GBX for pence)';

ALTER TABLE asset_processing_details ADD COLUMN warning text;

-- A listing whose quote currency changed (GBX <-> GBP): its whole history is fetched again,
-- so that the stored series is in one currency, the API's current one.
CREATE TABLE asset_currency_changes (
  asset_id       bigint NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  seen_on        date NOT NULL,
  from_currency  text NOT NULL,
  to_currency    text NOT NULL,
  PRIMARY KEY (asset_id, seen_on)
);

-- Volumes as the API gives them: some exchanges report fractions (1182479.74).
ALTER TABLE stock_prices ALTER COLUMN volume TYPE double precision;
ALTER TABLE bulk_eod_rows ALTER COLUMN volume TYPE double precision;

-- Fundamentals: zeros kept where they are values, EODHD's and GICS's classifications in
-- their own columns, ETF and fund fields. columns_version: the mapping that filled the
-- columns (older rows are filled again from their stored document).
ALTER TABLE fundamentals
  ADD COLUMN columns_version        integer NOT NULL DEFAULT 0,
  ADD COLUMN instrument_type        text,
  ADD COLUMN currency               text,
  ADD COLUMN enterprise_value       double precision,
  ADD COLUMN ev_to_ebitda           double precision,
  ADD COLUMN dividend_share         double precision,
  ADD COLUMN forward_dividend_rate  double precision,
  ADD COLUMN forward_dividend_yield double precision,
  ADD COLUMN payout_ratio           double precision,
  ADD COLUMN return_on_assets       double precision,
  ADD COLUMN revenue_growth_yoy     double precision,
  ADD COLUMN earnings_growth_yoy    double precision,
  ADD COLUMN analyst_target_price   double precision,
  ADD COLUMN gic_group              text,
  ADD COLUMN gic_industry           text,
  ADD COLUMN gic_sub_industry       text,
  ADD COLUMN fund_category          text,
  ADD COLUMN fund_family            text,
  ADD COLUMN expense_ratio          double precision,
  ADD COLUMN fund_yield             double precision,
  ADD COLUMN net_assets             double precision,
  ADD COLUMN nav                    double precision,
  ADD COLUMN holdings_count         integer,
  ADD COLUMN inception_date         date,
  ADD COLUMN morningstar_rating     double precision,
  ADD COLUMN return_1y              double precision,
  ADD COLUMN return_3y              double precision,
  ADD COLUMN return_5y              double precision;
CREATE INDEX fundamentals_gic_sector_idx ON fundamentals (gic_sector);

-- EODHD's minor currency units and their major unit.
CREATE TABLE currency_units (
  code       text PRIMARY KEY,
  major      text NOT NULL,
  per_major  integer NOT NULL CHECK (per_major > 0)
);
INSERT INTO currency_units (code, major, per_major) VALUES
  ('GBX', 'GBP', 100), ('GBp', 'GBP', 100), ('ZAC', 'ZAR', 100), ('ILA', 'ILS', 100);

-- The API budget per quota day, against the API's own limit.
DROP VIEW v_api_quota_days;
CREATE VIEW v_api_quota_days AS
SELECT d.quota_day,
       d.api_daily_limit,
       d.api_reported,
       d.reconciled_at,
       d.reserved_calls + d.external_calls AS used,
       d.external_calls,
       d.call_limit,
       l.ledger_calls,
       d.reserved_calls = coalesce(l.ledger_calls, 0) AS counter_equals_ledger,
       l.requests,
       l.answered_calls,
       l.unknown_requests,
       l.unknown_calls,
       l.reconciled_requests,
       l.reconciled_calls,
       l.failed_requests,
       -- what the API would still allow today (by its count or ours, whichever is higher)
       greatest(0, d.api_daily_limit - greatest(coalesce(d.api_reported, 0), d.reserved_calls + d.external_calls)) AS api_calls_left,
       -- what the pipeline may still spend today
       greatest(0, coalesce(d.call_limit,
                   (SELECT (value #>> '{}')::int FROM pipeline_settings WHERE key = 'eodhd_daily_quota')
                 - (SELECT (value #>> '{}')::int FROM pipeline_settings WHERE key = 'eodhd_quota_buffer'))
                 - d.reserved_calls - d.external_calls) AS calls_left
FROM api_quota_days d
LEFT JOIN LATERAL (
  SELECT sum(c.cost)::int AS ledger_calls,
         count(*)::int AS requests,
         coalesce(sum(c.cost) FILTER (WHERE c.outcome IN ('answered', 'not_sent')), 0)::int AS answered_calls,
         count(*) FILTER (WHERE c.outcome IN ('sent', 'no_answer'))::int AS unknown_requests,
         coalesce(sum(c.cost) FILTER (WHERE c.outcome IN ('sent', 'no_answer')), 0)::int AS unknown_calls,
         count(*) FILTER (WHERE c.outcome = 'reconciled')::int AS reconciled_requests,
         coalesce(sum(c.cost) FILTER (WHERE c.outcome = 'reconciled'), 0)::int AS reconciled_calls,
         count(*) FILTER (WHERE c.error IS NOT NULL)::int AS failed_requests
    FROM api_calls c WHERE c.quota_day = d.quota_day
) l ON true
ORDER BY d.quota_day DESC;

-- The plan and what it does not include, in one place for an operator.
CREATE VIEW v_api_plan AS
SELECT e.kind, e.status, e.source, e.since, e.checked_on, e.detail,
       p.subscription_type, p.subscription_mode, p.daily_rate_limit, p.extra_limit, p.quota_day AS plan_read_on,
       CASE e.kind
         WHEN 'eod' THEN 'prices (per-ticker history)'
         WHEN 'bulk' THEN 'one-call-per-exchange daily prices (falls back to one call per ticker)'
         WHEN 'fundamentals' THEN 'fundamentals'
         WHEN 'calendar' THEN 'split and dividend calendars (falls back to the bulk splits and dividends, else adjusted prices may go stale)'
         WHEN 'symbol_list' THEN 'the exchanges'' symbol lists (new listings and delistings)'
       END AS what
FROM api_entitlements e LEFT JOIN api_plan p ON true
ORDER BY e.kind;

-- Each asset's last close, market cap and key ratios in a major currency unit, so that a
-- screen compares like with like: pence (GBX) become pounds, and the other minor units
-- EODHD uses likewise. Prices are stored as the API gives them; the conversion is here.
CREATE VIEW v_screener AS
SELECT a.id AS asset_id, a.symbol, a.exchange, a.name, coalesce(f.instrument_type, a.type) AS instrument_type,
       f.sector, f.industry, f.gic_sector, f.gic_industry,
       coalesce(s.prices_currency, a.currency) AS quote_currency,
       coalesce(pu.major, coalesce(s.prices_currency, a.currency)) AS currency,
       lp.date AS last_date,
       lp.close / coalesce(pu.per_major, 1) AS last_close,
       lp.volume AS last_volume,
       -- EODHD's money fields are in the major unit of the document's currency
       f.market_cap,
       coalesce(fu.major, f.currency) AS market_cap_currency,
       f.pe_ratio, f.forward_pe, f.peg_ratio, f.price_to_book, f.price_to_sales, f.ev_to_ebitda,
       f.dividend_yield, f.payout_ratio, f.eps, f.beta, f.profit_margin, f.return_on_equity,
       f.expense_ratio, f.fund_yield, f.net_assets,
       t.rsi_14, t.sma_50, t.sma_200,
       t.sma_50 / coalesce(pu.per_major, 1) AS sma_50_major, t.sma_200 / coalesce(pu.per_major, 1) AS sma_200_major,
       f.fetched_at AS fundamentals_fetched_at
FROM assets a
LEFT JOIN asset_processing_state s ON s.asset_id = a.id
LEFT JOIN currency_units pu ON pu.code = coalesce(s.prices_currency, a.currency)
LEFT JOIN LATERAL (SELECT p.date, p.close, p.volume FROM stock_prices p WHERE p.asset_id = a.id ORDER BY p.date DESC LIMIT 1) lp ON true
LEFT JOIN fundamentals f ON f.asset_id = a.id
LEFT JOIN currency_units fu ON fu.code = f.currency
LEFT JOIN technical_indicators t ON t.asset_id = a.id
WHERE a.is_active;

-- Assets with something missing: 'full_history' when the API cut the history short; what
-- EODHD does not know is not "needed" (it is not asked again).
DROP VIEW v_assets_needing_processing;
CREATE VIEW v_assets_needing_processing AS
SELECT a.id AS asset_id, a.symbol, a.exchange, a.region,
       s.fundamentals_loaded, s.prices_loaded, s.prices_last_date, s.prices_checked_through,
       s.indicators_calculated, s.consecutive_failures,
       array_remove(ARRAY[
         CASE WHEN (s.asset_id IS NULL OR NOT s.fundamentals_loaded OR s.needs_fundamentals_reprocess) AND s.fundamentals_not_found_on IS NULL THEN 'fundamentals' END,
         CASE WHEN (s.asset_id IS NULL OR NOT s.prices_loaded OR s.needs_prices_reprocess) AND s.prices_not_found_on IS NULL THEN 'prices' END,
         CASE WHEN s.history_limited THEN 'full_history' END,
         CASE WHEN s.asset_id IS NULL OR s.needs_indicators_reprocess
                   OR (s.prices_loaded AND (s.indicators_calculated_at IS NULL OR s.indicators_calculated_at < s.prices_last_updated_at))
              THEN 'indicators' END
       ], NULL) AS needs,
       s.fundamentals_not_found_on, s.prices_not_found_on, s.history_warning
FROM assets a
LEFT JOIN asset_processing_state s ON s.asset_id = a.id
WHERE a.is_active
  AND (s.asset_id IS NULL OR NOT s.fundamentals_loaded OR NOT s.prices_loaded
       OR s.needs_fundamentals_reprocess OR s.needs_prices_reprocess OR s.needs_indicators_reprocess
       OR (s.prices_loaded AND (s.indicators_calculated_at IS NULL OR s.indicators_calculated_at < s.prices_last_updated_at))
       OR s.history_limited);

-- Coverage by region, now with what the plan leaves out: assets whose history was cut
-- short, symbols EODHD does not know, and the kinds of data the plan does not include.
DROP FUNCTION get_processing_progress();
CREATE FUNCTION get_processing_progress()
RETURNS TABLE (region text, active_assets bigint, with_prices bigint, with_full_history bigint, with_fundamentals bigint,
               with_indicators bigint, failing bigint, excluded bigint, not_found bigint,
               pct_prices numeric, pct_fundamentals numeric, pct_indicators numeric, not_in_plan text)
LANGUAGE sql STABLE AS $$
  WITH lim AS (SELECT coalesce((SELECT (value #>> '{}')::int FROM pipeline_settings WHERE key = 'max_consecutive_failures'), 5) AS n),
  off AS (SELECT string_agg(kind || ' (since ' || since || coalesce(', ' || detail, '') || ')', '; ' ORDER BY kind) AS txt
            FROM api_entitlements WHERE status = 'not_in_plan'),
  per AS (
    SELECT a.region,
           count(*) AS active_assets,
           count(*) FILTER (WHERE s.prices_loaded) AS with_prices,
           count(*) FILTER (WHERE s.prices_loaded AND NOT s.history_limited) AS with_full_history,
           count(*) FILTER (WHERE s.fundamentals_loaded) AS with_fundamentals,
           count(t.asset_id) AS with_indicators,
           count(*) FILTER (WHERE s.consecutive_failures > 0) AS failing,
           count(*) FILTER (WHERE s.consecutive_failures >= (SELECT n FROM lim)) AS excluded,
           count(*) FILTER (WHERE s.fundamentals_not_found_on IS NOT NULL OR s.prices_not_found_on IS NOT NULL) AS not_found
    FROM assets a
    LEFT JOIN asset_processing_state s ON s.asset_id = a.id
    LEFT JOIN technical_indicators t ON t.asset_id = a.id
    WHERE a.is_active
    GROUP BY ROLLUP (a.region)
  )
  SELECT coalesce(per.region, 'all'), active_assets, with_prices, with_full_history, with_fundamentals, with_indicators,
         failing, excluded, not_found,
         round(100.0 * with_prices / nullif(active_assets, 0), 2),
         round(100.0 * with_fundamentals / nullif(active_assets, 0), 2),
         round(100.0 * with_indicators / nullif(active_assets, 0), 2),
         (SELECT txt FROM off)
  FROM per ORDER BY per.region NULLS LAST;
$$;

-- Bringing a ticker back also forgets that EODHD did not know it.
CREATE OR REPLACE FUNCTION reset_ticker_for_reprocessing(p_ticker text, p_scope text DEFAULT 'all')
RETURNS TABLE (symbol text, scope text, fundamentals boolean, prices boolean, indicators boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_asset_id bigint;
  v_symbol text;
BEGIN
  IF p_scope NOT IN ('all', 'fundamentals', 'prices', 'indicators') THEN
    RAISE EXCEPTION 'scope must be all, fundamentals, prices or indicators, not %', p_scope
      USING ERRCODE = '22023';
  END IF;
  SELECT a.id, a.symbol INTO v_asset_id, v_symbol
  FROM assets a WHERE a.symbol = upper(p_ticker) OR a.symbol = p_ticker
  ORDER BY (a.symbol = p_ticker) DESC LIMIT 1;
  IF v_asset_id IS NULL THEN
    RAISE EXCEPTION 'no asset with symbol % (use CODE.EXCHANGE, e.g. AAPL.US)', p_ticker
      USING ERRCODE = 'P0002';
  END IF;
  INSERT INTO asset_processing_state (asset_id) VALUES (v_asset_id) ON CONFLICT (asset_id) DO NOTHING;
  UPDATE asset_processing_state s SET
    consecutive_failures = 0,
    needs_fundamentals_reprocess = s.needs_fundamentals_reprocess OR p_scope IN ('all', 'fundamentals'),
    needs_prices_reprocess = s.needs_prices_reprocess OR p_scope IN ('all', 'prices'),
    needs_indicators_reprocess = s.needs_indicators_reprocess OR p_scope IN ('all', 'prices', 'indicators'),
    fundamentals_not_found_on = CASE WHEN p_scope IN ('all', 'fundamentals') THEN NULL ELSE s.fundamentals_not_found_on END,
    prices_not_found_on = CASE WHEN p_scope IN ('all', 'prices') THEN NULL ELSE s.prices_not_found_on END,
    updated_at = now()
  WHERE s.asset_id = v_asset_id;
  RETURN QUERY SELECT v_symbol, p_scope, s.needs_fundamentals_reprocess, s.needs_prices_reprocess, s.needs_indicators_reprocess
               FROM asset_processing_state s WHERE s.asset_id = v_asset_id;
END $$;

-- Where a day's corporate actions were read: the calendars, or the bulk answers of a plan without them.
ALTER TABLE corporate_action_days ADD COLUMN source text NOT NULL DEFAULT 'calendar' CHECK (source IN ('calendar', 'bulk'));

-- Assets named in a run's symbols (a watchlist) that no list of the pipeline's includes
-- (an ETF, a venue outside us_venues): not deactivated for missing from the lists.
ALTER TABLE assets ADD COLUMN source text NOT NULL DEFAULT 'list' CHECK (source IN ('list', 'watchlist'));
