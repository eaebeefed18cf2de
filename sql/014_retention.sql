-- Retention of the per-asset rows of finished runs. A normal day writes ~58,600 work items
-- and as many audit rows (asset_processing_details); kept for ever they grew by ~111 MB in
-- four days. finalize deletes those of runs that finished more than run_detail_retention_days
-- ago (shared/work-items.ts, shared/details.ts); a run's own row in process_executions, its
-- steps and its API calls stay, so the run grid and the quota history keep every day.
SET search_path = financial_screener, public;

INSERT INTO pipeline_settings (key, value, description) VALUES
  ('run_detail_retention_days', '30', 'work items and per-asset audit rows of runs that finished more than this many days ago are deleted at finalize (runs, steps and API calls are kept)')
ON CONFLICT (key) DO NOTHING;

-- The prune finds old runs by their end; their rows by execution (already indexed).
CREATE INDEX process_executions_finished_idx ON process_executions (finished_at) WHERE status <> 'running';
