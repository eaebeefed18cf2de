/**
 * finalize: the run's totals from its details (processed, failed, skipped), its API calls
 * from the ledger, its price corrections and quality findings, its status, and the
 * hand-over to calc-indicators.
 */

import { inTransaction } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import { callsOfExecution } from '../store/api-ledger.js';
import { loadEntitlements, notInPlan } from '../store/api-plan.js';
import { extendCheckedThrough } from '../store/asset-state.js';
import { dropBulkRows } from '../store/bulk-eod.js';
import { pruneOldDetails, runTotals } from '../store/details.js';
import { finishRun, lockRun } from '../store/executions.js';
import { correctionsOfRun } from '../store/price-corrections.js';
import { findingsOfRun } from '../store/quality-findings.js';
import { loadSettings } from '../store/settings.js';
import { extendListedFrom } from '../store/universe.js';
import { openItemCount, pruneOldWorkItems } from '../store/work-items.js';
import type { PipelineContext } from './context.js';
import { runStep } from './step-runner.js';

export async function finalizeRun(ctx: PipelineContext, executionId: number): Promise<FunctionResult> {
  return runStep(ctx, executionId, 'finalize', '', async (s) => {
    const body = await inTransaction(ctx.pool, async (c) => {
      const runRow = await lockRun(c, executionId);
      const t = await runTotals(c, executionId);
      const leftOver = await openItemCount(c, executionId);
      const calls = await callsOfExecution(c, executionId);
      const apiCalls = calls.reduce((n, x) => n + x.calls, 0);
      const corrections = await correctionsOfRun(c, executionId);
      const findings = await findingsOfRun(c, executionId);
      // failed: nothing could be done (key refused, or every ticker failed);
      // partial: some tickers failed, or collection stopped early; success otherwise.
      const status =
        runRow.stop_reason === 'auth' || (t.processed === 0 && t.failed > 0)
          ? 'failed'
          : t.failed > 0 || runRow.stop_reason !== null || leftOver > 0
            ? 'partial'
            : 'success';
      const finished = await finishRun(c, executionId, {
        status,
        step: 'calc-indicators',
        processed: t.processed,
        failed: t.failed,
        skipped: t.skipped,
        warnings: t.warnings,
        apiCalls,
        corrections,
        qualityErrors: findings.errors,
        qualityWarnings: findings.warnings,
        error: runRow.error_message ?? (leftOver > 0 ? `${leftOver} work items were still open at finalize` : null),
      });
      await extendCheckedThrough(c, executionId);
      // Histories loaded by the run say since when their assets were listed (universe_on).
      await extendListedFrom(c);
      await dropBulkRows(c, executionId);
      // Old runs' per-asset rows go, so the tables stay the size of the retention window.
      const retentionDays = (await loadSettings(c)).run_detail_retention_days;
      const pruned = {
        retentionDays,
        workItems: await pruneOldWorkItems(c, retentionDays),
        details: await pruneOldDetails(c, retentionDays),
      };
      const result = {
        executionId,
        status,
        assetsProcessed: t.processed,
        assetsFailed: t.failed,
        assetsSkipped: t.skipped,
        deferred: t.deferred,
        // Assets whose answer carried a warning (a history cut short by the plan).
        assetsWithWarnings: t.warnings,
        apiCallsUsed: apiCalls,
        // Bars the API answered differently when read again; findings the checks opened.
        priceCorrections: corrections,
        qualityFindings: findings,
        apiCallsByEndpoint: calls,
        durationSeconds: finished?.finished_at
          ? (finished.finished_at.getTime() - s.run.started_at.getTime()) / 1000
          : null,
        stopReason: runRow.stop_reason,
        plan: runRow.api_plan,
        notInPlan: notInPlan(await loadEntitlements(c)),
        pruned,
        next: 'calc-indicators',
      };
      await s.complete(c, result, [{ fn: 'calc-indicators', body: { executionId } }]);
      return result;
    });
    return {
      body,
      logged: [
        'run_finished',
        {
          status: body.status,
          processed: body.assetsProcessed,
          failed: body.assetsFailed,
          skipped: body.assetsSkipped,
          api_calls: body.apiCallsUsed,
          price_corrections: body.priceCorrections,
          quality_errors: body.qualityFindings.errors,
          quality_warnings: body.qualityFindings.warnings,
          duration_s: body.durationSeconds,
        },
      ],
    };
  });
}
