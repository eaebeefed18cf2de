-- The seed's metadata layer: what ran, what happened to each asset, per operation.
SET search_path = financial_screener, public;

CREATE TABLE process_executions (
  execution_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  process_name      text NOT NULL,                 -- daily_pipeline | calc_indicators
  call_id           text,                          -- the trigger's X-Call-Id
  trigger_kind      text NOT NULL,                 -- cron | manual | chain
  parameters        jsonb NOT NULL DEFAULT '{}',
  status            text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'success', 'partial', 'failed')),
  as_of             date NOT NULL,                 -- the trading day the run brings data up to
  quota_day         date,                          -- the API's quota day the run spends from
  parent_execution_id bigint REFERENCES process_executions (execution_id),
  regions_pending   integer NOT NULL DEFAULT 0,    -- fan-in counter: the region that takes it to 0 invokes finalize
  current_step      text,
  stop_reason       text,                          -- why collection stopped early: quota | auth
  last_progress_at  timestamptz NOT NULL DEFAULT now(),
  started_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz,
  assets_processed  integer NOT NULL DEFAULT 0,
  assets_failed     integer NOT NULL DEFAULT 0,
  assets_skipped    integer NOT NULL DEFAULT 0,
  api_calls_used    integer NOT NULL DEFAULT 0,
  error_message     text
);
-- At most one active daily run, enforced here rather than by the caller.
CREATE UNIQUE INDEX process_executions_one_running ON process_executions (process_name) WHERE status = 'running';
CREATE INDEX process_executions_started_idx ON process_executions (started_at DESC);

CREATE TABLE asset_processing_state (
  asset_id                       bigint PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
  fundamentals_loaded            boolean NOT NULL DEFAULT false,
  fundamentals_loaded_at         timestamptz,
  prices_loaded                  boolean NOT NULL DEFAULT false,
  prices_first_date              date,
  prices_last_date               date,
  -- The trading day through which the stored series is known complete, bar or not:
  -- a thin ticker with no trade that day is up to date without a new row.
  prices_checked_through         date,
  prices_last_updated_at         timestamptz,
  indicators_calculated          boolean NOT NULL DEFAULT false,
  indicators_calculated_at       timestamptz,
  needs_fundamentals_reprocess   boolean NOT NULL DEFAULT false,
  needs_prices_reprocess         boolean NOT NULL DEFAULT false,
  needs_indicators_reprocess     boolean NOT NULL DEFAULT false,
  consecutive_failures           integer NOT NULL DEFAULT 0,
  last_error_message             text,
  last_error_at                  timestamptz,
  last_execution_id              bigint REFERENCES process_executions (execution_id) ON DELETE SET NULL,
  updated_at                     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE asset_processing_details (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id      bigint NOT NULL REFERENCES process_executions (execution_id) ON DELETE CASCADE,
  asset_id          bigint NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  operation         text NOT NULL,                 -- bulk_load | price_update | indicator_calc
  status            text NOT NULL CHECK (status IN ('success', 'failed', 'skipped')),
  records_inserted  integer NOT NULL DEFAULT 0,
  api_calls_used    integer NOT NULL DEFAULT 0,
  duration_ms       integer NOT NULL DEFAULT 0,
  error_message     text,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX asset_processing_details_execution_idx ON asset_processing_details (execution_id);
CREATE INDEX asset_processing_details_asset_idx ON asset_processing_details (asset_id, created_at DESC);
CREATE INDEX asset_processing_details_created_idx ON asset_processing_details (created_at);
