/**
 * The pipeline in-process: the same step functions the handlers call, chained by an
 * invoker that queues each async invocation and delivers the queue in waves (what is
 * queued together runs concurrently, as the regions do on the cluster).
 */
import type pg from 'pg';
import type { Region } from '../shared/domain/exchanges.js';
import type { FunctionResult } from '../shared/platform/function-contract.js';
import type { InitExecutionInput } from '../shared/platform/input.js';
import type { FunctionName } from '../shared/platform/invoke.js';
import { calcIndicators } from '../shared/steps/calc-indicators.js';
import { checkQuota } from '../shared/steps/check-quota.js';
import { collectRegion } from '../shared/steps/collect-region.js';
import type { PipelineContext } from '../shared/steps/context.js';
import { discoverDelta } from '../shared/steps/discover-delta.js';
import { finalizeRun } from '../shared/steps/finalize.js';
import { startRun } from '../shared/steps/init-execution.js';
import { meteredClient } from '../shared/store/call-book.js';
import { setSetting } from '../shared/store/settings.js';

export interface Invocation {
  fn: FunctionName;
  body: Record<string, unknown>;
  result?: FunctionResult;
}

export interface InProcessPipeline {
  ctx: PipelineContext;
  invocations: Invocation[];
  /** Delivers queued invocations until none are left. */
  drain(): Promise<void>;
  /** Opens a run and drives its chain to the end; returns the execution id. */
  run(input?: Partial<InitExecutionInput>): Promise<number>;
  deliver(inv: Invocation): Promise<FunctionResult>;
  /** Loses what is queued (a queue restart): returns what was lost. */
  dropQueued(): Promise<Invocation[]>;
}

export async function inProcessPipeline(
  pool: pg.Pool,
  apiUrl: string,
  opts: { apiKey?: string; collectTimeBudgetMs?: number; requestsPerMinute?: number } = {},
): Promise<InProcessPipeline> {
  await setSetting(pool, 'eodhd_requests_per_minute', opts.requestsPerMinute ?? 60_000);
  // Time is compressed here: a ticker's retry after a transient failure waits half a second.
  await setSetting(pool, 'item_retry_delay_seconds', 0.5);
  const queue: Invocation[] = [];
  const invocations: Invocation[] = [];
  const ctx: PipelineContext = {
    pool,
    api: (executionId, quotaDay, settings) =>
      meteredClient({
        baseUrl: apiUrl,
        apiKey: opts.apiKey ?? 'sim-demo-key',
        db: pool,
        quotaDay,
        callLimit: settings.eodhd_daily_quota - settings.eodhd_quota_buffer,
        requestsPerMinute: settings.eodhd_requests_per_minute,
        executionId,
        sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50))),
      }),
    invoke: async (fn, body) => {
      queue.push({ fn, body: body as Record<string, unknown> });
    },
    collectTimeBudgetMs: opts.collectTimeBudgetMs ?? 600_000,
    collectConcurrency: 8,
    workerId: `test:${process.pid}`,
  };
  const deliver = async (inv: Invocation): Promise<FunctionResult> => {
    const b = inv.body as { executionId: number; region: Region };
    let r: FunctionResult;
    switch (inv.fn) {
      case 'init-execution':
        r = await startRun(
          ctx,
          { mode: 'auto', dryRun: false, skipExisting: false, ...(inv.body as object) } as InitExecutionInput,
          { callId: null, kind: 'manual' },
        );
        break;
      case 'discover-delta':
        r = await discoverDelta(ctx, b.executionId);
        break;
      case 'check-quota':
        r = await checkQuota(ctx, b.executionId);
        break;
      case 'collect-region':
        r = await collectRegion(ctx, b.executionId, b.region);
        break;
      case 'finalize':
        r = await finalizeRun(ctx, b.executionId);
        break;
      case 'calc-indicators':
        r = await calcIndicators(ctx, inv.body as { executionId: number }, null);
        break;
    }
    inv.result = r;
    invocations.push(inv);
    return r;
  };
  const drain = async () => {
    while (queue.length > 0) {
      const wave = queue.splice(0, queue.length);
      await Promise.all(wave.map(deliver));
    }
  };
  return {
    ctx,
    invocations,
    drain,
    deliver,
    dropQueued: async () => queue.splice(0, queue.length),
    run: async (input = {}) => {
      const r = await deliver({ fn: 'init-execution', body: input as Record<string, unknown> });
      if (r.status !== 202) throw new Error(`init-execution answered ${r.status}: ${JSON.stringify(r.body)}`);
      await drain();
      return (r.body as { executionId: number }).executionId;
    },
  };
}
