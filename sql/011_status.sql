-- What the status function and an operator read: the daily runs without the indicator runs
-- among them (each daily run with its own indicator run beside it), and how fresh each
-- exchange's prices are.

DROP VIEW IF EXISTS v_recent_executions;
CREATE VIEW v_recent_executions AS
SELECT e.execution_id, e.trigger_kind, e.status, e.as_of, e.current_step, e.started_at, e.finished_at,
       round(extract(epoch FROM coalesce(e.finished_at, now()) - e.started_at), 1) AS duration_seconds,
       e.assets_processed, e.assets_failed, e.assets_skipped, e.api_calls_used, e.parameters,
       e.error_message, e.call_id,
       i.execution_id AS indicator_execution_id, i.status AS indicator_status,
       i.assets_processed AS indicators_calculated
  FROM process_executions e
  LEFT JOIN LATERAL (
    SELECT c.execution_id, c.status, c.assets_processed FROM process_executions c
     WHERE c.parent_execution_id = e.execution_id AND c.process_name = 'calc_indicators'
     ORDER BY c.execution_id DESC LIMIT 1
  ) i ON true
 WHERE e.process_name = 'daily_pipeline'
 ORDER BY e.started_at DESC
 LIMIT 100;

-- Per exchange: the latest day any of its assets has prices through (a day without a trade
-- counts once it was checked), and how many active assets are behind it or have none.
CREATE VIEW v_exchange_freshness AS
WITH per AS (
  SELECT a.exchange, a.region, s.prices_loaded,
         greatest(s.prices_last_date, s.prices_checked_through) AS through
    FROM assets a LEFT JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE a.is_active
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
