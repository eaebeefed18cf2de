-- Orchestration: the step ledger, work items with leases, the API-call ledger, settings.
SET search_path = financial_screener, public;

-- One row per (run, step, shard): the idempotency key of every invocation. A step that
-- finds its row done returns the stored result instead of working again.
CREATE TABLE pipeline_steps (
  execution_id      bigint NOT NULL REFERENCES process_executions (execution_id) ON DELETE CASCADE,
  step              text NOT NULL,
  shard             text NOT NULL DEFAULT '',
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts          integer NOT NULL DEFAULT 0,
  lease_expires_at  timestamptz,
  result            jsonb,
  error_message     text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  started_at        timestamptz,
  finished_at       timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (execution_id, step, shard)
);

CREATE TABLE work_items (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id      bigint NOT NULL REFERENCES process_executions (execution_id) ON DELETE CASCADE,
  asset_id          bigint NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
  region            text NOT NULL,
  exchange          text NOT NULL,
  operation         text NOT NULL CHECK (operation IN ('bulk_load', 'price_update', 'indicator_calc')),
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'claimed', 'done', 'failed', 'deferred', 'skipped')),
  priority          integer NOT NULL DEFAULT 100,
  estimated_calls   integer NOT NULL DEFAULT 0,
  lease_owner       text,
  lease_expires_at  timestamptz,
  attempts          integer NOT NULL DEFAULT 0,
  error_message     text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (execution_id, asset_id, operation)
);
CREATE INDEX work_items_claim_idx ON work_items (execution_id, region, status, priority, id);

-- One row per request made to EODHD, successful or not.
CREATE TABLE api_calls (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  quota_day     date NOT NULL,
  endpoint      text NOT NULL,
  target        text,                              -- symbol or exchange
  cost          integer NOT NULL,                  -- what the API charged (0 for a failed request)
  http_status   integer,                           -- null: no answer (timeout, network)
  duration_ms   integer NOT NULL,
  execution_id  bigint REFERENCES process_executions (execution_id) ON DELETE SET NULL,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_calls_day_idx ON api_calls (quota_day);
CREATE INDEX api_calls_execution_idx ON api_calls (execution_id);

-- The per-day counter every call's cost is reserved against before it is made. One row
-- a day; the reservation is a single conditional UPDATE, so concurrent replicas cannot
-- together pass the limit.
CREATE TABLE api_quota_days (
  quota_day        date PRIMARY KEY,
  reserved_calls   integer NOT NULL DEFAULT 0,     -- ours: reserved, less refunds for calls that cost nothing
  external_calls   integer NOT NULL DEFAULT 0,     -- counted by the API (/user) but not by us: other users of the key
  api_reported     integer,                        -- /user apiRequests at the last reconciliation
  reconciled_at    timestamptz,
  CHECK (reserved_calls >= 0)
);

CREATE TABLE pipeline_settings (
  key          text PRIMARY KEY,
  value        jsonb NOT NULL,
  description  text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

INSERT INTO pipeline_settings (key, value, description) VALUES
  ('eodhd_daily_quota',          '100000', 'API calls the EODHD plan allows per day'),
  ('eodhd_quota_buffer',         '10000',  'calls kept back from the daily quota for manual use'),
  ('max_new_assets_per_day',     '8000',   'most new assets bulk-loaded (history + fundamentals) in one day'),
  ('max_price_updates_per_day',  '25000',  'most assets price-updated in one day'),
  ('bulk_load_batch_size',       '500',    'work items a collect-region replica claims at once for bulk loads'),
  ('incremental_batch_size',     '5000',   'work items a collect-region replica claims at once for price updates'),
  ('price_history_days',         '800',    'calendar days of history loaded for a new asset (500 bars and more)'),
  ('max_consecutive_failures',   '5',      'an asset that failed this many times in a row is left out of plans'),
  ('eodhd_requests_per_minute',  '900',    'request rate a replica keeps under (the API allows 1000 a minute)'),
  ('work_item_lease_seconds',    '300',    'how long a claimed work item stays with its replica'),
  ('us_venues',                  '["NYSE", "NASDAQ"]', 'US venues of the universe (EODHD lists all US venues under US)');

-- The account's per-minute request limit holds across every replica: a generic cell rate
-- algorithm on one timestamp (the theoretical arrival time of the next request) kept on
-- the day's quota row, checked in the same UPDATE that reserves the call's cost.
ALTER TABLE api_quota_days ADD COLUMN rate_tat timestamptz NOT NULL DEFAULT '-infinity';

-- The day's bulk answer of an exchange, fetched once per run (a pipeline_steps row
-- 'bulk-eod'/EXCHANGE guards it) and read by every replica that updates that exchange.
CREATE TABLE bulk_eod_rows (
  execution_id    bigint NOT NULL REFERENCES process_executions (execution_id) ON DELETE CASCADE,
  exchange        text NOT NULL,
  code            text NOT NULL,
  date            date NOT NULL,
  open            double precision NOT NULL,
  high            double precision NOT NULL,
  low             double precision NOT NULL,
  close           double precision NOT NULL,
  adjusted_close  double precision NOT NULL,
  volume          bigint NOT NULL,
  PRIMARY KEY (execution_id, exchange, code)
);
