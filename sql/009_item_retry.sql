-- A ticker whose fetch failed in a way worth another try (5xx, no answer, an unreadable
-- body, after the client's own retries) goes back to the queue with a delay, so that an
-- API outage of a few minutes does not fail thousands of tickers for the day.
SET search_path = financial_screener, public;

ALTER TABLE work_items ADD COLUMN not_before timestamptz;
COMMENT ON COLUMN work_items.not_before IS 'a pending item is not claimed before this (retry delay)';

INSERT INTO pipeline_settings (key, value, description) VALUES
  ('max_item_retries', '2', 'times a ticker whose fetch failed in a retryable way (5xx, no answer) is queued again within the run'),
  ('item_retry_delay_seconds', '15', 'delay before the first such retry; doubled for each further one')
ON CONFLICT (key) DO NOTHING;
