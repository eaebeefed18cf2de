-- Indicator history: every indicator and derived figure for every asset and session, kept
-- by date so that a screen can be answered as of any day (one row per asset and session,
-- kept ready by calc-indicators: shared/store/indicator-history.ts). technical_indicators
-- stays the latest row.
--
-- Partitioned by year: a year's rows are one table, cheap to read (the planner prunes the
-- others) and to drop (retention: DROP TABLE, no mass DELETE). Reads by (asset, date range)
-- use the primary key, reads of one date across all assets the date index.
-- No foreign key: it is written in bulk beside stock_prices (see 016); a trigger deletes a
-- deleted asset's rows.
CREATE TABLE indicator_history (
  asset_id             bigint NOT NULL,
  date                 date NOT NULL,
  bars_used            integer NOT NULL,
  sma_50               double precision,
  sma_200              double precision,
  ema_12               double precision,
  ema_26               double precision,
  wma_20               double precision,
  rsi_14               double precision,
  stoch_k              double precision,
  stoch_d              double precision,
  stoch_rsi            double precision,
  cci_20               double precision,
  macd                 double precision,
  macd_signal          double precision,
  macd_histogram       double precision,
  dmi_plus             double precision,
  dmi_minus            double precision,
  adx                  double precision,
  atr_14               double precision,
  volatility           double precision,
  std_dev              double precision,
  bb_upper             double precision,
  bb_middle            double precision,
  bb_lower             double precision,
  bb_bandwidth         double precision,
  sar                  double precision,
  beta                 double precision,
  slope                double precision,
  avg_volume_30        double precision,
  avg_volume_90        double precision,
  week_52_high         double precision,
  week_52_low          double precision,
  current_price        double precision,
  change_1d_pct        double precision,
  change_5d_pct        double precision,
  change_1m_pct        double precision,
  change_3m_pct        double precision,
  change_6m_pct        double precision,
  change_12m_pct       double precision,
  change_ytd_pct       double precision,
  relative_volume      double precision,
  pct_from_52w_high    double precision,
  pct_from_52w_low     double precision,
  pct_vs_sma_50        double precision,
  pct_vs_sma_200       double precision,
  gap_pct              double precision,
  avg_traded_value_30  double precision,
  PRIMARY KEY (asset_id, date)
) PARTITION BY RANGE (date);
CREATE INDEX indicator_history_date_idx ON indicator_history (date);

-- The assets whose history is to be computed again from a date: a bar written or changed
-- (the same statement as the price write, store/prices.ts), a bar dropped, a quarantine
-- opened or cleared. '-infinity': the whole retained history (an asset seen for the first time).
CREATE TABLE indicator_history_queue (
  asset_id   bigint PRIMARY KEY,
  from_date  date NOT NULL,
  queued_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Every priced asset gets its history once (the backfill, bounded per invocation).
INSERT INTO indicator_history_queue (asset_id, from_date)
SELECT asset_id, '-infinity' FROM asset_processing_state WHERE prices_loaded
ON CONFLICT (asset_id) DO NOTHING;

-- No foreign keys (as 016): a deleted asset's history and queue entry go with it.
CREATE FUNCTION assets_deleted_history() RETURNS trigger LANGUAGE plpgsql
SET search_path = financial_screener, public AS $$
BEGIN
  DELETE FROM indicator_history h USING deleted_assets d WHERE h.asset_id = d.id;
  DELETE FROM indicator_history_queue q USING deleted_assets d WHERE q.asset_id = d.id;
  RETURN NULL;
END $$;

CREATE TRIGGER assets_deleted_history AFTER DELETE ON assets
  REFERENCING OLD TABLE AS deleted_assets FOR EACH STATEMENT EXECUTE FUNCTION assets_deleted_history();

-- A year's partition, created when a row for it is first written. The functions' role may
-- not create tables (012): this runs as its owner (the migrating role) and does only this.
CREATE FUNCTION ensure_indicator_history_year(p_year integer) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = financial_screener, pg_temp AS $$
DECLARE
  part text := format('indicator_history_%s', p_year);
BEGIN
  IF p_year IS NULL OR p_year < 1900 OR p_year > 2200 THEN
    RAISE EXCEPTION 'indicator history year % is out of range (1900 to 2200)', p_year;
  END IF;
  IF to_regclass(part) IS NOT NULL THEN
    RETURN false;
  END IF;
  BEGIN
    EXECUTE format('CREATE TABLE %I PARTITION OF indicator_history FOR VALUES FROM (%L) TO (%L)',
                   part, make_date(p_year, 1, 1), make_date(p_year + 1, 1, 1));
  EXCEPTION WHEN duplicate_table THEN
    RETURN false; -- another invocation created it at the same moment
  END;
  RETURN true;
END $$;

-- Retention: the years before p_before_year whose partitions hold no row any more (each
-- asset's rows past indicator_history_sessions are deleted as it is calculated) are
-- dropped whole. Returns the dropped partitions.
CREATE FUNCTION drop_empty_indicator_history_years(p_before_year integer) RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = financial_screener, pg_temp AS $$
DECLARE
  part text;
  empty boolean;
BEGIN
  FOR part IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'indicator_history'::regclass
       AND c.relname ~ '^indicator_history_[0-9]{4}$'
       AND substr(c.relname, 19)::int < p_before_year
     ORDER BY c.relname
  LOOP
    EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I)', part) INTO empty;
    IF empty THEN
      EXECUTE format('DROP TABLE %I', part);
      RETURN NEXT part;
    END IF;
  END LOOP;
END $$;

REVOKE ALL ON FUNCTION ensure_indicator_history_year(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION drop_empty_indicator_history_years(integer) FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'screener_functions') THEN
    GRANT EXECUTE ON FUNCTION ensure_indicator_history_year(integer) TO screener_functions;
    GRANT EXECUTE ON FUNCTION drop_empty_indicator_history_years(integer) TO screener_functions;
    GRANT SELECT, INSERT, UPDATE, DELETE ON indicator_history, indicator_history_queue TO screener_functions;
  END IF;
END $$;

INSERT INTO pipeline_settings (key, value, description) VALUES
  ('indicator_history_sessions', '504', 'sessions of indicator history kept per asset (504: two years); older rows are deleted as the asset is calculated and empty years dropped; prices are kept whole, so an older day can be recomputed on request'),
  ('indicator_history_sessions_per_run', '500000', 'asset-sessions of indicator history one calc-indicators invocation computes at most (about a minute of CPU here, a few on a Raspberry Pi; the first backfill of 21,817 assets is about 11 million): the rest stay queued for the next run, or another {"all":true}; 0 pauses the history')
ON CONFLICT (key) DO NOTHING;

-- The history for people and for screens as of a day: one row per asset and session.
CREATE VIEW v_indicator_history AS
SELECT a.symbol, h.date, a.exchange, h.bars_used, h.sma_50, h.sma_200, h.ema_12, h.ema_26, h.wma_20, h.rsi_14, h.stoch_k, h.stoch_d, h.stoch_rsi, h.cci_20, h.macd, h.macd_signal, h.macd_histogram, h.dmi_plus, h.dmi_minus, h.adx, h.atr_14, h.volatility, h.std_dev, h.bb_upper, h.bb_middle, h.bb_lower, h.bb_bandwidth, h.sar, h.beta, h.slope, h.avg_volume_30, h.avg_volume_90, h.week_52_high, h.week_52_low, h.current_price, h.change_1d_pct, h.change_5d_pct, h.change_1m_pct, h.change_3m_pct, h.change_6m_pct, h.change_12m_pct, h.change_ytd_pct, h.relative_volume, h.pct_from_52w_high, h.pct_from_52w_low, h.pct_vs_sma_50, h.pct_vs_sma_200, h.gap_pct, h.avg_traded_value_30, h.asset_id
FROM indicator_history h
JOIN assets a ON a.id = h.asset_id;
