-- Benchmark indices (for beta) and FX rates (for a reporting currency).
--
-- A benchmark index is an asset like a listing's (its bars go to stock_prices under its own
-- symbol, e.g. GSPC.INDX), with source 'benchmark': no exchange list names it, so the
-- universe sync never adds, deactivates or counts it, and the plan never gives it a work
-- item (it has no asset_processing_state row either). Its region is the region of the
-- exchange it serves, so that its rows sit with that region's.
ALTER TABLE assets DROP CONSTRAINT assets_source_check;
ALTER TABLE assets ADD CONSTRAINT assets_source_check
  CHECK (source = ANY (ARRAY['list', 'watchlist', 'benchmark', 'delisted_list']));

INSERT INTO pipeline_settings (key, value, description) VALUES
  ('benchmarks',
   '{"US": "GSPC.INDX", "LSE": "FTSE.INDX", "F": "GDAXI.INDX", "XETRA": "GDAXI.INDX", "PA": "FCHI.INDX", "AS": "AEX.INDX", "BR": "BFX.INDX", "MC": "IBEX.INDX", "SW": "SSMI.INDX", "LS": "PSI20.INDX"}',
   'benchmark index of each exchange (EODHD symbol): fetched each day like an asset (1 call each), for beta'),
  ('reporting_currency', '"USD"',
   'the currency v_fx_rates converts into: each currency the universe quotes in is fetched against it each day ({CUR}{REP}.FOREX, 1 call each)')
ON CONFLICT (key) DO NOTHING;

-- Daily closes of the pairs {currency}{quote}.FOREX as EODHD answers them: close is units of
-- `quote` per unit of `currency`. Kept by quote currency, so that a change of
-- reporting_currency starts its own series instead of mixing two.
CREATE TABLE fx_rates (
  currency    text NOT NULL,
  quote       text NOT NULL,
  date        date NOT NULL,
  open        double precision,
  high        double precision,
  low         double precision,
  close       double precision NOT NULL CHECK (close > 0),
  fetched_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (currency, quote, date),
  CHECK (currency <> quote)
);
COMMENT ON TABLE fx_rates IS 'daily closes of {currency}{quote}.FOREX: close = units of quote per unit of currency (written by shared/store/fx-rates.ts)';

-- Rates into the reporting currency on the days EODHD has a bar of the pair: rate = units of
-- the reporting currency per unit of `currency`. The reporting currency itself is 1 on each
-- of those days, and each minor unit of currency_units (GBX, ...) is its major's rate / per_major.
CREATE VIEW v_fx_rates AS
WITH rep AS (
  SELECT coalesce((SELECT value #>> '{}' FROM pipeline_settings WHERE key = 'reporting_currency'), 'USD') AS code
), majors AS (
  SELECT r.currency, r.date, r.close AS rate
    FROM fx_rates r JOIN rep ON r.quote = rep.code
  UNION ALL
  SELECT DISTINCT rep.code, r.date, 1::double precision
    FROM fx_rates r JOIN rep ON r.quote = rep.code
)
SELECT m.currency, m.date, m.rate FROM majors m
UNION ALL
SELECT u.code, m.date, m.rate / u.per_major FROM majors m JOIN currency_units u ON u.major = m.currency;

-- The rate of `cur` on `day` for joins (v_screener and the like): the latest on or before
-- the day, as FX trades on days an exchange is closed and the other way round (a Friday's
-- rate prices a listing's Saturday-less week; a London holiday still has a rate). The
-- reporting currency and its minor units need no rate; NULL when no rate is stored yet.
CREATE FUNCTION fx_rate(cur text, day date) RETURNS double precision
LANGUAGE sql STABLE
SET search_path = financial_screener, public
AS $$
  WITH u AS (
    SELECT coalesce((SELECT major FROM currency_units WHERE code = cur), cur) AS major,
           coalesce((SELECT per_major FROM currency_units WHERE code = cur), 1) AS per_major,
           coalesce((SELECT value #>> '{}' FROM pipeline_settings WHERE key = 'reporting_currency'), 'USD') AS rep
  )
  SELECT CASE WHEN u.major = u.rep THEN 1.0 / u.per_major
              ELSE (SELECT r.close FROM fx_rates r
                     WHERE r.currency = u.major AND r.quote = u.rep AND r.date <= day
                     ORDER BY r.date DESC LIMIT 1) / u.per_major END
    FROM u
$$;

-- The status views and get_processing_progress() count listings: a benchmark index is none.
CREATE OR REPLACE VIEW v_exchange_freshness AS
WITH per AS (
  SELECT a.exchange, a.region, s.prices_loaded,
         greatest(s.prices_last_date, s.prices_checked_through) AS through
    FROM assets a LEFT JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE a.is_active AND a.source <> 'benchmark'
), latest AS (
  SELECT per.*, max(through) OVER (PARTITION BY exchange) AS exchange_through FROM per
)
SELECT exchange, min(region) AS region,
       count(*)::int AS active_assets,
       count(*) FILTER (WHERE coalesce(prices_loaded, false))::int AS with_prices,
       max(exchange_through) AS prices_through,
       count(*) FILTER (WHERE through < exchange_through)::int AS behind,
       count(*) FILTER (WHERE through IS NULL)::int AS without_prices
  FROM latest
 GROUP BY exchange
 ORDER BY exchange;

CREATE OR REPLACE VIEW v_assets_needing_processing AS
SELECT a.id AS asset_id, a.symbol, a.exchange, a.region,
       s.fundamentals_loaded, s.prices_loaded, s.prices_last_date, s.prices_checked_through,
       s.indicators_calculated, s.consecutive_failures,
       array_remove(ARRAY[
         CASE WHEN (s.asset_id IS NULL OR NOT s.fundamentals_loaded OR s.needs_fundamentals_reprocess)
                   AND s.fundamentals_not_found_on IS NULL THEN 'fundamentals' END,
         CASE WHEN (s.asset_id IS NULL OR NOT s.prices_loaded OR s.needs_prices_reprocess)
                   AND s.prices_not_found_on IS NULL THEN 'prices' END,
         CASE WHEN s.history_limited THEN 'full_history' END,
         CASE WHEN s.asset_id IS NULL OR s.needs_indicators_reprocess
                   OR s.prices_loaded AND (s.indicators_calculated_at IS NULL OR s.indicators_calculated_at < s.prices_last_updated_at)
              THEN 'indicators' END], NULL) AS needs,
       s.fundamentals_not_found_on, s.prices_not_found_on, s.history_warning
  FROM assets a
  LEFT JOIN asset_processing_state s ON s.asset_id = a.id
 WHERE a.is_active AND a.source <> 'benchmark'
   AND (s.asset_id IS NULL OR NOT s.fundamentals_loaded OR NOT s.prices_loaded OR s.needs_fundamentals_reprocess
        OR s.needs_prices_reprocess OR s.needs_indicators_reprocess
        OR s.prices_loaded AND (s.indicators_calculated_at IS NULL OR s.indicators_calculated_at < s.prices_last_updated_at)
        OR s.history_limited);

CREATE OR REPLACE FUNCTION get_processing_progress()
RETURNS TABLE(region text, active_assets bigint, with_prices bigint, with_full_history bigint, with_fundamentals bigint,
              with_indicators bigint, failing bigint, excluded bigint, not_found bigint, pct_prices numeric,
              pct_fundamentals numeric, pct_indicators numeric, not_in_plan text)
LANGUAGE sql STABLE
SET search_path = financial_screener, public
AS $$
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
    WHERE a.is_active AND a.source <> 'benchmark'
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

-- The functions' role gets what the defaults of 012 give new objects, stated for a schema
-- whose migrations ran under another owner than 012's.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'screener_functions') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON fx_rates TO screener_functions;
    GRANT SELECT ON v_fx_rates TO screener_functions;
    GRANT EXECUTE ON FUNCTION fx_rate(text, date) TO screener_functions;
  END IF;
END $$;
