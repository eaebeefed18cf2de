-- The work items' operations are the ones the pipeline plans. bulk_load (a history and the
-- fundamentals in one item) has not been planned since 005 split it into history_load and
-- fundamentals_load; indicator_calc was never a work item (calc-indicators records its
-- outcome per asset in asset_processing_details only). A bulk_load of a run before 005 is
-- kept as the history_load it mostly was, so that run's counts still add up.
UPDATE work_items SET operation = 'history_load' WHERE operation = 'bulk_load';
DELETE FROM work_items WHERE operation = 'indicator_calc';
ALTER TABLE work_items DROP CONSTRAINT work_items_operation_check;
ALTER TABLE work_items ADD CONSTRAINT work_items_operation_check
  CHECK (operation IN ('price_update', 'adjustment_refresh', 'history_load', 'fundamentals_load'));

COMMENT ON COLUMN asset_processing_details.operation IS
  'what was done to the asset: a work item''s operation, or indicator_calc (calc-indicators)';
