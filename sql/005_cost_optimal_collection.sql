-- Cost-optimal collection: prices before fundamentals, corporate actions, fundamentals
-- refresh, missed days filled by bulk-by-date or per-ticker history, whichever is cheaper.
SET search_path = financial_screener, public;

-- A new asset's history (1 call) and its fundamentals (10 calls) are separate items, so
-- that a day's budget gives every asset prices before it spends on fundamentals.
-- adjustment_refresh: a split or dividend changed adjusted_close over the whole history.
ALTER TABLE work_items DROP CONSTRAINT work_items_operation_check;
ALTER TABLE work_items ADD CONSTRAINT work_items_operation_check
  CHECK (operation IN ('bulk_load', 'history_load', 'price_update', 'fundamentals_load', 'adjustment_refresh', 'indicator_calc'));

ALTER TABLE asset_processing_state
  ADD COLUMN needs_adjustment_refresh boolean NOT NULL DEFAULT false,
  ADD COLUMN adjustment_action_date date;   -- the earliest corporate action not yet reflected

-- Corporate actions seen in the API's calendars, one row per action.
CREATE TABLE corporate_actions (
  symbol       text NOT NULL,
  date         date NOT NULL,                -- ex-date: bars before it change adjusted_close
  kind         text NOT NULL CHECK (kind IN ('split', 'dividend')),
  detail       text,                         -- "2/1" for a split
  seen_at      timestamptz NOT NULL DEFAULT now(),
  execution_id bigint REFERENCES process_executions (execution_id) ON DELETE SET NULL,
  PRIMARY KEY (symbol, date, kind)
);
CREATE INDEX corporate_actions_date_idx ON corporate_actions (date);

-- Days whose corporate actions were read from the calendars (one row a day).
CREATE TABLE corporate_action_days (
  day          date PRIMARY KEY,
  splits       integer NOT NULL,
  dividends    integer NOT NULL,
  checked_at   timestamptz NOT NULL DEFAULT now(),
  execution_id bigint REFERENCES process_executions (execution_id) ON DELETE SET NULL
);

-- The price plan of an exchange in a run: the bulk days to fetch and the tickers they
-- cover (those complete through covers_from or later); the others fetch their history.
CREATE TABLE price_plans (
  execution_id  bigint NOT NULL REFERENCES process_executions (execution_id) ON DELETE CASCADE,
  exchange      text NOT NULL,
  bulk_dates    date[] NOT NULL,
  covers_from   date NOT NULL,
  estimated_calls integer NOT NULL,
  PRIMARY KEY (execution_id, exchange)
);

-- Bulk answers are kept per day now (several days can be fetched for one exchange).
ALTER TABLE bulk_eod_rows DROP CONSTRAINT bulk_eod_rows_pkey;
ALTER TABLE bulk_eod_rows ADD PRIMARY KEY (execution_id, exchange, code, date);

INSERT INTO pipeline_settings (key, value, description) VALUES
  ('price_update_method',                '"auto"', 'auto: bulk or per-ticker, whichever is cheaper per exchange; per_ticker: one call per ticker (the seed''s method)'),
  ('max_bulk_days',                      '10',     'most missed days of an exchange filled by bulk-by-date calls (100 each) in one run'),
  ('fundamentals_refresh_days',          '30',     'fundamentals older than this are refreshed (oldest first, budget permitting)'),
  ('fundamentals_refresh_large_days',    '7',      'the same for large companies'),
  ('fundamentals_large_market_cap',      '10000000000', 'market capitalisation from which a company counts as large'),
  ('fundamentals_refresh_after_earnings_days', '2', 'refresh this many days after an earnings date passed since the last fetch'),
  ('fundamentals_refresh_max_per_day',   '1000',   'most fundamentals refreshes (10 calls each) in one day; 0 turns refreshing off'),
  ('corporate_actions_enabled',          'true',   'read the split and dividend calendars (1 call each a day) and refresh the adjusted history of the assets concerned')
ON CONFLICT (key) DO NOTHING;

UPDATE pipeline_settings SET description = 'most new assets whose fundamentals are loaded in one day (their price history is not capped: 1 call each)'
 WHERE key = 'max_new_assets_per_day';
UPDATE pipeline_settings SET description = 'work items a collect-region replica claims at once for history, fundamentals and refreshes'
 WHERE key = 'bulk_load_batch_size';
