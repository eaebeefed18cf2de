-- The operator's window: the seed's views and functions.
SET search_path = financial_screener, public;

CREATE VIEW v_recent_executions AS
SELECT e.execution_id, e.process_name, e.trigger_kind, e.status, e.as_of, e.current_step,
       e.started_at, e.finished_at,
       round(extract(epoch FROM coalesce(e.finished_at, now()) - e.started_at)::numeric, 1) AS duration_seconds,
       e.assets_processed, e.assets_failed, e.assets_skipped, e.api_calls_used,
       e.parameters, e.error_message, e.call_id
FROM process_executions e
ORDER BY e.started_at DESC
LIMIT 100;

CREATE VIEW v_assets_needing_processing AS
SELECT a.id AS asset_id, a.symbol, a.exchange, a.region,
       s.fundamentals_loaded, s.prices_loaded, s.prices_last_date, s.prices_checked_through,
       s.indicators_calculated, s.consecutive_failures,
       array_remove(ARRAY[
         CASE WHEN s.asset_id IS NULL OR NOT s.fundamentals_loaded OR s.needs_fundamentals_reprocess THEN 'fundamentals' END,
         CASE WHEN s.asset_id IS NULL OR NOT s.prices_loaded OR s.needs_prices_reprocess THEN 'prices' END,
         CASE WHEN s.asset_id IS NULL OR s.needs_indicators_reprocess
                   OR (s.prices_loaded AND (s.indicators_calculated_at IS NULL OR s.indicators_calculated_at < s.prices_last_updated_at))
              THEN 'indicators' END
       ], NULL) AS needs
FROM assets a
LEFT JOIN asset_processing_state s ON s.asset_id = a.id
WHERE a.is_active
  AND (s.asset_id IS NULL OR NOT s.fundamentals_loaded OR NOT s.prices_loaded
       OR s.needs_fundamentals_reprocess OR s.needs_prices_reprocess OR s.needs_indicators_reprocess
       OR (s.prices_loaded AND (s.indicators_calculated_at IS NULL OR s.indicators_calculated_at < s.prices_last_updated_at)));

CREATE VIEW v_today_processing_activity AS
SELECT d.operation, d.status, count(*) AS operations, sum(d.records_inserted) AS records_inserted,
       sum(d.api_calls_used) AS api_calls_used, round(avg(d.duration_ms)) AS avg_duration_ms,
       min(d.created_at) AS first_at, max(d.created_at) AS last_at
FROM asset_processing_details d
WHERE d.created_at >= date_trunc('day', now())
GROUP BY d.operation, d.status
ORDER BY d.operation, d.status;

CREATE VIEW v_ticker_processing_history AS
SELECT a.symbol, d.execution_id, e.process_name, d.operation, d.status, d.records_inserted,
       d.api_calls_used, d.duration_ms, d.error_message, d.created_at
FROM asset_processing_details d
JOIN assets a ON a.id = d.asset_id
JOIN process_executions e ON e.execution_id = d.execution_id
ORDER BY a.symbol, d.created_at DESC;

CREATE VIEW v_failed_assets AS
SELECT a.id AS asset_id, a.symbol, a.exchange, a.region, s.consecutive_failures,
       s.last_error_message, s.last_error_at, s.last_execution_id,
       s.consecutive_failures >= coalesce((SELECT (value #>> '{}')::int FROM pipeline_settings WHERE key = 'max_consecutive_failures'), 5) AS excluded
FROM asset_processing_state s
JOIN assets a ON a.id = s.asset_id
WHERE s.consecutive_failures > 0
ORDER BY s.consecutive_failures DESC, s.last_error_at DESC;

-- Brings a ticker back: clears its failure count and flags what must be fetched again.
CREATE FUNCTION reset_ticker_for_reprocessing(p_ticker text, p_scope text DEFAULT 'all')
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
    updated_at = now()
  WHERE s.asset_id = v_asset_id;
  RETURN QUERY SELECT v_symbol, p_scope, s.needs_fundamentals_reprocess, s.needs_prices_reprocess, s.needs_indicators_reprocess
               FROM asset_processing_state s WHERE s.asset_id = v_asset_id;
END $$;

CREATE FUNCTION get_processing_progress()
RETURNS TABLE (region text, active_assets bigint, with_prices bigint, with_fundamentals bigint,
               with_indicators bigint, failing bigint, excluded bigint,
               pct_prices numeric, pct_fundamentals numeric, pct_indicators numeric)
LANGUAGE sql STABLE AS $$
  WITH lim AS (SELECT coalesce((SELECT (value #>> '{}')::int FROM pipeline_settings WHERE key = 'max_consecutive_failures'), 5) AS n),
  per AS (
    SELECT a.region,
           count(*) AS active_assets,
           count(*) FILTER (WHERE s.prices_loaded) AS with_prices,
           count(*) FILTER (WHERE s.fundamentals_loaded) AS with_fundamentals,
           count(t.asset_id) AS with_indicators,
           count(*) FILTER (WHERE s.consecutive_failures > 0) AS failing,
           count(*) FILTER (WHERE s.consecutive_failures >= (SELECT n FROM lim)) AS excluded
    FROM assets a
    LEFT JOIN asset_processing_state s ON s.asset_id = a.id
    LEFT JOIN technical_indicators t ON t.asset_id = a.id
    WHERE a.is_active
    GROUP BY ROLLUP (a.region)
  )
  SELECT coalesce(per.region, 'all'), active_assets, with_prices, with_fundamentals, with_indicators, failing, excluded,
         round(100.0 * with_prices / nullif(active_assets, 0), 2),
         round(100.0 * with_fundamentals / nullif(active_assets, 0), 2),
         round(100.0 * with_indicators / nullif(active_assets, 0), 2)
  FROM per ORDER BY per.region NULLS LAST;
$$;
