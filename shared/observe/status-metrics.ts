/**
 * What the database knows, as Prometheus gauges: read when the status function is scraped
 * (one replica, so the figures are not repeated per function), from the same views as the
 * status page.
 */
import { Gauge } from 'prom-client';
import { QUALITY_CHECKS } from '../domain/quality.js';
import type { Queryable } from '../platform/db.js';
import { registry } from '../platform/metrics.js';
import { loadCalendars } from '../store/exchange-calendars.js';

const QUOTA = `
  SELECT used, call_limit, calls_left FROM v_api_quota_days
   WHERE quota_day = coalesce((SELECT quota_day FROM api_plan), (SELECT max(quota_day) FROM api_quota_days))`;
const LAST_RUN = `
  SELECT status, extract(epoch FROM coalesce(finished_at, started_at))::float8 AS at FROM v_recent_executions LIMIT 1`;
const FAILING = `SELECT count(*)::int AS n, count(*) FILTER (WHERE excluded)::int AS excluded FROM v_failed_assets`;
const FRESHNESS = `
  SELECT exchange, behind, without_prices, prices_through::text,
         coalesce(extract(epoch FROM now() - prices_through::timestamptz), -1)::float8 AS age_seconds
    FROM v_exchange_freshness`;
const QUALITY_OPEN = `
  SELECT c.check_name, s.severity, count(f.id)::int AS n
    FROM unnest($1::text[]) AS c(check_name) CROSS JOIN (VALUES ('error'), ('warning')) AS s(severity)
    LEFT JOIN price_quality_findings f ON f.check_name = c.check_name AND f.severity = s.severity AND f.status = 'open'
   GROUP BY 1, 2`;

const RUN_STATES = ['running', 'success', 'partial', 'failed'];

/** Registers the database gauges, reading through `pool()` at each scrape. */
export function registerStatusMetrics(pool: () => Queryable): void {
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: Gauge) => Promise<void>) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        await collect(this);
      },
    });
  const quota = async (g: Gauge, column: 'used' | 'call_limit' | 'calls_left') => {
    const row = (await pool().query(QUOTA)).rows[0];
    g.set(Number(row?.[column] ?? 0));
  };
  gauge('screener_quota_used_calls', "Calls counted against the API's current day", [], (g) => quota(g, 'used'));
  gauge('screener_quota_limit_calls', "The day's limit (the plan's, less the buffer)", [], (g) =>
    quota(g, 'call_limit'),
  );
  gauge('screener_quota_left_calls', 'Calls the pipeline may still make today', [], (g) => quota(g, 'calls_left'));
  gauge(
    'screener_last_run_status',
    'The latest daily run: 1 for its status, 0 for the others',
    ['status'],
    async (g) => {
      const run = (await pool().query(LAST_RUN)).rows[0];
      for (const s of RUN_STATES) g.set({ status: s }, run?.status === s ? 1 : 0);
    },
  );
  gauge('screener_last_run_timestamp_seconds', 'When the latest daily run finished (or started)', [], async (g) => {
    g.set(Number((await pool().query(LAST_RUN)).rows[0]?.at ?? 0));
  });
  gauge(
    'screener_assets_failing',
    'Assets whose last attempts failed (excluded: over the limit)',
    ['excluded'],
    async (g) => {
      const r = (await pool().query(FAILING)).rows[0];
      g.set({ excluded: 'false' }, Number(r?.n ?? 0) - Number(r?.excluded ?? 0));
      g.set({ excluded: 'true' }, Number(r?.excluded ?? 0));
    },
  );
  // Seconds, Prometheus' base unit (promtool check metrics refuses _days).
  gauge(
    'screener_exchange_prices_age_seconds',
    'Seconds since the start (UTC) of the latest price day of each exchange (-1: none)',
    ['exchange'],
    async (g) => {
      for (const r of (await pool().query(FRESHNESS)).rows) g.set({ exchange: r.exchange }, r.age_seconds);
    },
  );
  gauge(
    'screener_data_quality_open',
    'Open findings of the quality checks, by check and severity (an open error quarantines its bar)',
    ['check', 'severity'],
    async (g) => {
      for (const r of (await pool().query(QUALITY_OPEN, [QUALITY_CHECKS])).rows)
        g.set({ check: r.check_name, severity: r.severity }, r.n);
    },
  );
  gauge(
    'screener_exchange_sessions_behind',
    "Sessions of each exchange's calendar after its latest price day up to its last published session (-1: no prices); a holiday is not one",
    ['exchange'],
    async (g) => {
      const calendars = await loadCalendars(pool());
      const now = new Date();
      for (const r of (await pool().query(FRESHNESS)).rows) {
        const cal = calendars.get(r.exchange);
        const behind = r.prices_through && cal ? cal.sessionsBehind(r.prices_through, now).behind : -1;
        g.set({ exchange: r.exchange }, behind);
      }
    },
  );
  gauge(
    'screener_exchange_assets_behind',
    'Active assets of an exchange behind its latest price day',
    ['exchange'],
    async (g) => {
      for (const r of (await pool().query(FRESHNESS)).rows)
        g.set({ exchange: r.exchange }, r.behind + r.without_prices);
    },
  );
}
