-- The tables written most often lose their foreign keys; what the keys' ON DELETE did is done
-- by statement triggers on the referenced tables instead.
--
-- Why: a foreign key checks every inserted row with a query that locks the referenced row
-- (FOR KEY SHARE). Day 1 inserts ~10.9 million price rows, each checked against assets; every
-- API call's ledger row and every work item locked the same process_executions row from all
-- replicas at once. The pipeline takes every asset_id and execution_id it writes from those
-- tables and never deletes an asset or a run, so the checks could never fail; what an
-- operator's DELETE must still do (remove an asset's prices, a run's work items) the
-- triggers do, once per statement.
SET search_path = financial_screener, public;

ALTER TABLE stock_prices DROP CONSTRAINT stock_prices_asset_id_fkey;
ALTER TABLE work_items DROP CONSTRAINT work_items_asset_id_fkey, DROP CONSTRAINT work_items_execution_id_fkey;
ALTER TABLE asset_processing_details DROP CONSTRAINT asset_processing_details_asset_id_fkey,
  DROP CONSTRAINT asset_processing_details_execution_id_fkey;
ALTER TABLE api_calls DROP CONSTRAINT api_calls_execution_id_fkey;

CREATE FUNCTION assets_deleted() RETURNS trigger LANGUAGE plpgsql
SET search_path = financial_screener, public AS $$
BEGIN
  DELETE FROM stock_prices p USING deleted_assets d WHERE p.asset_id = d.id;
  DELETE FROM work_items w USING deleted_assets d WHERE w.asset_id = d.id;
  DELETE FROM asset_processing_details x USING deleted_assets d WHERE x.asset_id = d.id;
  RETURN NULL;
END $$;

CREATE TRIGGER assets_deleted AFTER DELETE ON assets
  REFERENCING OLD TABLE AS deleted_assets FOR EACH STATEMENT EXECUTE FUNCTION assets_deleted();

CREATE FUNCTION executions_deleted() RETURNS trigger LANGUAGE plpgsql
SET search_path = financial_screener, public AS $$
BEGIN
  DELETE FROM work_items w USING deleted_runs d WHERE w.execution_id = d.execution_id;
  DELETE FROM asset_processing_details x USING deleted_runs d WHERE x.execution_id = d.execution_id;
  UPDATE api_calls c SET execution_id = NULL FROM deleted_runs d WHERE c.execution_id = d.execution_id;
  RETURN NULL;
END $$;

CREATE TRIGGER executions_deleted AFTER DELETE ON process_executions
  REFERENCING OLD TABLE AS deleted_runs FOR EACH STATEMENT EXECUTE FUNCTION executions_deleted();
