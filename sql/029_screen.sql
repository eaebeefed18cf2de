-- The screen (issue: the screen): a read-only function that answers screens over the
-- screener rows (sql/028) as of any day (shared/screen/run-screen.ts).
SET search_path = financial_screener, public;

INSERT INTO pipeline_settings (key, value, description) VALUES
  ('screen_stale_sessions', '5',
   'a screen leaves out an asset whose screener row is older than this many sessions of its exchange before the screen''s day, unless the request says includeStale')
ON CONFLICT (key) DO NOTHING;

-- "The last session" of a screen is max(technical_indicators.price_date): an index makes it
-- one lookup instead of a scan of every (wide) latest row.
CREATE INDEX technical_indicators_price_date_idx ON technical_indicators (price_date);

-- Least privilege for the screen: it logs in as a member of screener_readers, which may read
-- exactly what a screen reads and call the one function it calls (fx_rate), and nothing
-- else: no write anywhere, no other table (not the API ledger, not the runs), no DDL. The
-- tolerant create of 012 (roles belong to the server: the tests' databases share one).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'screener_readers') THEN
    BEGIN
      CREATE ROLE screener_readers NOLOGIN;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN NULL; -- created at the same moment elsewhere
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'cannot create role screener_readers: create it (NOLOGIN) and apply this migration again';
    END;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'screener_readers') THEN
    GRANT USAGE ON SCHEMA financial_screener TO screener_readers;
    -- The rows, the listings, the quarantine, the rates and what fx_rate reads (currency
    -- units, the reporting currency setting), the settings and the exchanges' calendars.
    GRANT SELECT ON technical_indicators, indicator_history, assets, price_quality_findings, fx_rates,
      currency_units, pipeline_settings, exchange_calendars, exchange_holidays TO screener_readers;
    GRANT EXECUTE ON FUNCTION fx_rate(text, date) TO screener_readers;
  END IF;
END $$;

-- The schema's functions were callable by anyone who may use the schema (PostgreSQL grants
-- EXECUTE to PUBLIC by default): the readers get only fx_rate. The pipeline's role keeps
-- its explicit grants (012), and so do the functions the migrations create from now on.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA financial_screener FROM PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'screener_functions') THEN
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA financial_screener TO screener_functions;
  END IF;
END $$;
