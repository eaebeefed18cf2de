/**
 * Prometheus metrics of a function process, served at GET /metrics by the template's
 * entrypoint (stack.yml's prometheus.io annotations point a scraper at it). Counters are
 * this process's since it started, as Prometheus expects; what the database knows (quota
 * left, the last run) is read when the status function is scraped (status-metrics.ts).
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
registry.setDefaultLabels({ function: process.env.FUNCTION_NAME ?? 'pipeline' });
collectDefaultMetrics({ register: registry, prefix: 'screener_process_' });
// prom-client names three gauges with a counter's _total, which promtool check metrics
// refuses; nodejs_active_handles, _requests and _resources (by type) say the same.
for (const name of ['active_handles', 'active_requests', 'active_resources'])
  registry.removeSingleMetric(`screener_process_nodejs_${name}_total`);

export const invocations = new Counter({
  name: 'screener_invocations_total',
  help: 'Calls answered by this function, by HTTP status class',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const invocationSeconds = new Histogram({
  name: 'screener_invocation_duration_seconds',
  help: 'Time to answer a call',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  registers: [registry],
});

export const apiCalls = new Counter({
  name: 'screener_api_requests_total',
  help: 'EODHD requests made, by endpoint and outcome (HTTP status, not_sent, no_answer)',
  labelNames: ['endpoint', 'status'] as const,
  registers: [registry],
});

export const apiCallsCharged = new Counter({
  name: 'screener_api_calls_charged_total',
  help: 'EODHD calls charged against the daily limit by the answers this process received',
  labelNames: ['endpoint'] as const,
  registers: [registry],
});

export const rowsWritten = new Counter({
  name: 'screener_rows_written_total',
  help: 'Rows inserted or updated, by table',
  labelNames: ['table'] as const,
  registers: [registry],
});

export const priceCorrections = new Counter({
  name: 'screener_price_corrections_total',
  help: 'Stored bars this process replaced because the API answered otherwise when asked again, by source (recheck, reask)',
  labelNames: ['source'] as const,
  registers: [registry],
});

/** A call's status as a label: 2xx, 4xx, 5xx. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}
