-- work_items.attempts now counts the times a replica started an item, not claims of it
-- (shared/work-items.ts); past max_item_starts an item that never reached an outcome is
-- failed with the reason, so that one ticker that kills its process cannot hold its region
-- (and the run) open for good.
SET search_path = financial_screener, public;

COMMENT ON COLUMN work_items.attempts IS 'times a replica started this item';

INSERT INTO pipeline_settings (key, value, description) VALUES
  ('max_item_starts', '5', 'an item started this many times without an outcome (its replica died or lost the lease each time) is failed')
ON CONFLICT (key) DO NOTHING;
