/**
 * asset_processing_details: one row per operation on an asset, the seed's audit trail;
 * every write to the table is here. A run's totals are the sum of its rows, so items that
 * were deferred or skipped leave a row too, with the reason.
 */

import type { Queryable } from '../platform/db.js';
import { rowsWritten } from '../platform/metrics.js';
import { ofRunsFinishedBefore } from './executions.js';

export interface DetailRow {
  executionId: number;
  assetId: number;
  operation: string;
  status: 'success' | 'failed' | 'skipped';
  recordsInserted: number;
  apiCalls: number;
  durationMs: number;
  error: string | null;
  /** What the API said beside the data (a history cut short by the plan). */
  warning?: string | null;
}

const INSERT_DETAILS = `
  INSERT INTO asset_processing_details (execution_id, asset_id, operation, status, records_inserted, api_calls_used, duration_ms, error_message, warning)
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[], $8::text[], $9::text[])`;

export async function recordDetails(q: Queryable, rows: DetailRow[]): Promise<void> {
  if (rows.length === 0) return;
  rowsWritten.inc({ table: 'asset_processing_details' }, rows.length);
  await q.query(INSERT_DETAILS, [
    rows.map((r) => r.executionId),
    rows.map((r) => r.assetId),
    rows.map((r) => r.operation),
    rows.map((r) => r.status),
    rows.map((r) => r.recordsInserted),
    rows.map((r) => r.apiCalls),
    rows.map((r) => Math.round(r.durationMs)),
    rows.map((r) => r.error),
    rows.map((r) => r.warning ?? null),
  ]);
}

// Deferred and skipped items leave a details row each, so that the run's totals are the
// sum of its details and an operator sees why an asset was not touched.
const DETAILS_FOR_UNCOLLECTED = `
  INSERT INTO asset_processing_details (execution_id, asset_id, operation, status, error_message)
  SELECT execution_id, asset_id, operation, 'skipped',
         CASE status WHEN 'deferred' THEN 'deferred: over today''s API budget or daily cap' ELSE coalesce(error_message, status) END
    FROM work_items WHERE execution_id = $1 AND status IN ('deferred', 'skipped')`;

/** A row for every item of the run that check-quota deferred or skipped, with why. */
export async function recordUncollected(q: Queryable, executionId: number): Promise<void> {
  await q.query(DETAILS_FOR_UNCOLLECTED, [executionId]);
}

/** Rows for items a stopped region deferred, with the reason. */
export async function recordDeferred(
  q: Queryable,
  executionId: number,
  items: Array<{ asset_id: number; operation: string }>,
  reason: string,
): Promise<void> {
  await recordDetails(
    q,
    items.map((i) => ({
      executionId,
      assetId: i.asset_id,
      operation: i.operation,
      status: 'skipped' as const,
      recordsInserted: 0,
      apiCalls: 0,
      durationMs: 0,
      error: reason,
    })),
  );
}

const RUN_TOTALS = `
  SELECT count(*) FILTER (WHERE status = 'success')::int AS processed,
         count(*) FILTER (WHERE status = 'failed')::int AS failed,
         count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
         count(*) FILTER (WHERE status = 'skipped' AND error_message LIKE 'deferred%')::int AS deferred,
         count(DISTINCT asset_id) FILTER (WHERE warning IS NOT NULL)::int AS warnings
    FROM asset_processing_details WHERE execution_id = $1 AND operation <> 'indicator_calc'`;

export interface RunTotals {
  processed: number;
  failed: number;
  skipped: number;
  deferred: number;
  warnings: number;
}

/** A run's totals are the sum of its rows (indicator rows aside: they belong to the indicator run). */
export async function runTotals(q: Queryable, executionId: number): Promise<RunTotals> {
  return (await q.query<RunTotals>(RUN_TOTALS, [executionId])).rows[0]!;
}

// The audit rows of runs that finished more than `days` ago (sql/014_retention.sql).
const PRUNE_DETAILS = `DELETE FROM asset_processing_details d WHERE ${ofRunsFinishedBefore('d')}`;

/** Deletes the audit rows of runs that finished more than `days` ago; returns how many. */
export async function pruneOldDetails(q: Queryable, days: number): Promise<number> {
  return (await q.query(PRUNE_DETAILS, [days])).rowCount ?? 0;
}
