/**
 * What a step needs from the outside world, in one object so that tests can run the same
 * steps in-process against a real database and the simulator.
 */
import type pg from 'pg';
import { type EodhdClient, REQUEST_TIMEOUTS_MS } from '../eodhd/client.js';
import { eodhdApiKey, eodhdBaseUrl, numberFromEnv } from '../platform/config.js';
import { db } from '../platform/db.js';
import { type Invoker, invokeAsync } from '../platform/invoke.js';
import { meteredClient } from '../store/call-book.js';
import type { Settings } from '../store/settings.js';

export interface PipelineContext {
  pool: pg.Pool;
  /** A client that charges the given quota day and records calls against the run. */
  api(executionId: number | null, quotaDay: string, settings: Settings): EodhdClient;
  invoke: Invoker;
  /** How long collect-region works before it hands over to a fresh invocation of itself. */
  collectTimeBudgetMs: number;
  /** How many tickers collect-region fetches at once. */
  collectConcurrency: number;
  /** Identifies this process in work-item leases. */
  workerId: string;
}

let cached: PipelineContext | undefined;

export function defaultContext(): PipelineContext {
  if (cached) return cached;
  const baseUrl = eodhdBaseUrl();
  cached = {
    pool: db(),
    api: (executionId, quotaDay, settings) =>
      meteredClient({
        baseUrl,
        apiKey: eodhdApiKey(),
        db: db(),
        quotaDay,
        callLimit: settings.eodhd_daily_quota - settings.eodhd_quota_buffer,
        requestsPerMinute: settings.eodhd_requests_per_minute,
        executionId,
        headersTimeoutMs: numberFromEnv('EODHD_HEADERS_TIMEOUT_MS', REQUEST_TIMEOUTS_MS.headers),
        bodyTimeoutMs: numberFromEnv('EODHD_BODY_TIMEOUT_MS', REQUEST_TIMEOUTS_MS.body),
      }),
    invoke: invokeAsync,
    collectTimeBudgetMs: numberFromEnv('COLLECT_TIME_BUDGET_MS', 240_000),
    collectConcurrency: numberFromEnv('COLLECT_CONCURRENCY', 8),
    workerId: `${process.env.HOSTNAME ?? 'local'}:${process.pid}`,
  };
  return cached;
}
