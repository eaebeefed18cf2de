/**
 * finalize: the run's totals from its details (processed, failed, skipped), its API calls
 * from the ledger, its status, and the hand-over to calc-indicators.
 */
import type { PipelineContext } from './context.js';
import { inTransaction } from './db.js';
import { stepFailed } from './discover.js';
import { finishRun } from './executions.js';
import { loadEntitlements, notInPlan } from './api-plan.js';
import type { FunctionResult } from './function-contract.js';
import { log } from './log.js';
import { callsOfExecution } from './quota.js';
import { guardStep } from './step-guard.js';
import { completeStep, ensureStepPending, STEP_LEASE_SECONDS } from './steps.js';

const TOTALS = `
  SELECT count(*) FILTER (WHERE status = 'success')::int AS processed,
         count(*) FILTER (WHERE status = 'failed')::int AS failed,
         count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
         count(*) FILTER (WHERE status = 'skipped' AND error_message LIKE 'deferred%')::int AS deferred,
         count(DISTINCT asset_id) FILTER (WHERE warning IS NOT NULL)::int AS warnings
    FROM asset_processing_details WHERE execution_id = $1 AND operation <> 'indicator_calc'`;

const LEFT_OVER_ITEMS = `
  SELECT count(*)::int AS n FROM work_items
   WHERE execution_id = $1 AND operation <> 'indicator_calc' AND status IN ('pending', 'claimed')`;

// A ticker fetched through the run's day that has no bar on it, on an exchange where other
// tickers do: that day is out and the ticker simply did not trade. Its series is complete
// through the day, and it is not fetched again for it.
const EXTEND_CHECKED_THROUGH = `
  WITH run AS (SELECT as_of FROM process_executions WHERE execution_id = $1),
  published AS (
    SELECT DISTINCT a.exchange FROM stock_prices p JOIN assets a ON a.id = p.asset_id
     WHERE p.date = (SELECT as_of FROM run)
  )
  UPDATE asset_processing_state s SET prices_checked_through = run.as_of, updated_at = now()
    FROM work_items w JOIN assets a ON a.id = w.asset_id, run
   WHERE w.execution_id = $1 AND w.status = 'done' AND w.operation IN ('price_update', 'history_load', 'adjustment_refresh', 'bulk_load')
     AND s.asset_id = w.asset_id AND s.prices_loaded
     AND (s.prices_checked_through IS NULL OR s.prices_checked_through < run.as_of)
     AND a.exchange IN (SELECT exchange FROM published)`;

const DROP_BULK_ROWS = `DELETE FROM bulk_eod_rows WHERE execution_id = $1`;

export async function finalizeRun(ctx: PipelineContext, executionId: number): Promise<FunctionResult> {
  const g = await guardStep(ctx, executionId, 'finalize', '', STEP_LEASE_SECONDS);
  if (!g.ok) return g.response;
  const run = g.run;
  try {
    const result = await inTransaction(ctx.pool, async (c) => {
      // The run's row is locked before its ledger is summed: settling requests of unknown
      // outcome (shared/quota.ts) changes a run's ledger and total together under this lock.
      const runRow = (await c.query<{ stop_reason: string | null; error_message: string | null; api_plan: Record<string, unknown> | null }>(
        'SELECT stop_reason, error_message, api_plan FROM process_executions WHERE execution_id = $1 FOR UPDATE', [executionId])).rows[0]!;
      const t = (await c.query<{ processed: number; failed: number; skipped: number; deferred: number; warnings: number }>(TOTALS, [executionId])).rows[0]!;
      const off = notInPlan(await loadEntitlements(c));
      const leftOver = (await c.query<{ n: number }>(LEFT_OVER_ITEMS, [executionId])).rows[0]!.n;
      const calls = await callsOfExecution(c, executionId);
      const apiCalls = calls.reduce((s, x) => s + x.calls, 0);
      // failed: nothing could be done (key refused, or every ticker failed);
      // partial: some tickers failed, or collection stopped early; success otherwise.
      const status = runRow.stop_reason === 'auth' || (t.processed === 0 && t.failed > 0)
        ? 'failed'
        : t.failed > 0 || runRow.stop_reason !== null || leftOver > 0 ? 'partial' : 'success';
      const finished = await finishRun(c, executionId, {
        status, step: 'calc-indicators', processed: t.processed, failed: t.failed, skipped: t.skipped, warnings: t.warnings, apiCalls,
        error: runRow.error_message ?? (leftOver > 0 ? `${leftOver} work items were still open at finalize` : null),
      });
      await c.query(EXTEND_CHECKED_THROUGH, [executionId]);
      await c.query(DROP_BULK_ROWS, [executionId]);
      const durationSeconds = finished && finished.finished_at ? (finished.finished_at.getTime() - run.started_at.getTime()) / 1000 : null;
      const body = {
        executionId, status, assetsProcessed: t.processed, assetsFailed: t.failed, assetsSkipped: t.skipped, deferred: t.deferred,
        // Assets whose answer carried a warning (a history cut short by the plan).
        assetsWithWarnings: t.warnings,
        apiCallsUsed: apiCalls, apiCallsByEndpoint: calls, durationSeconds, stopReason: runRow.stop_reason,
        plan: runRow.api_plan, notInPlan: off, next: 'calc-indicators',
      };
      await completeStep(c, executionId, 'finalize', '', body);
      await ensureStepPending(c, executionId, 'calc-indicators');
      return body;
    });
    log('info', 'run_finished', { execution_id: executionId, status: result.status, processed: result.assetsProcessed, failed: result.assetsFailed, skipped: result.assetsSkipped, api_calls: result.apiCallsUsed, duration_s: result.durationSeconds });
    await ctx.invoke('calc-indicators', { executionId });
    return { status: 200, body: result };
  } catch (err) {
    return stepFailed(ctx, executionId, 'finalize', '', err);
  } finally {
    g.release();
  }
}
