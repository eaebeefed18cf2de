/**
 * The health check an operator (or a CronJob) runs: is everything in place, and is the
 * data moving? Each check is one line; a failing one says what to do. On the cluster it
 * asks the Kubernetes API (the function deployments ready, the cron-connector running, the
 * secrets present); everywhere it asks the database (reachable, migrated, the last run,
 * each exchange's prices fresh, the day's quota not used up).
 */
import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type pg from 'pg';
import { databaseProblem } from '../platform/database-problem.js';
import { FUNCTION_NAMES } from '../platform/invoke.js';
import { loadCalendars } from '../store/exchange-calendars.js';
import { pendingMigrations } from '../store/migrate.js';
import { loadSettings } from '../store/settings.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do, for a failing check. */
  fix?: string;
}

/** The functions stack.yml deploys (a test holds the two lists together). */
export const DEPLOYED_FUNCTIONS: readonly string[] = [...FUNCTION_NAMES, 'resume-runs', 'status', 'screen'];
// The pipeline's login, the API key, and the screen's read-only login (sql/029).
export const SECRETS = ['database-url', 'eodhd-api-key', 'screen-database-url'] as const;

export interface ClusterScope {
  functionNamespace: string;
  openfaasNamespace: string;
}

/** The HTTP status of a failed Kubernetes API call (ApiException.code), or null when no answer came. */
function statusOf(err: unknown): number | null {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : null;
}

export async function clusterChecks(kc: KubeConfig, scope: ClusterScope): Promise<Check[]> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const server = kc.getCurrentCluster()?.server ?? '(no cluster)';
  const checks: Check[] = [];
  const deployment = async (name: string, namespace: string, fix: string): Promise<Check | 'unreachable'> => {
    try {
      const d = await apps.readNamespacedDeployment({ name, namespace });
      const ready = d.status?.availableReplicas ?? 0;
      const wanted = d.spec?.replicas ?? 1;
      return ready >= 1
        ? { name: `deployment ${namespace}/${name}`, ok: true, detail: `${ready}/${wanted} ready` }
        : {
            name: `deployment ${namespace}/${name}`,
            ok: false,
            detail: `0/${wanted} ready`,
            fix: `kubectl -n ${namespace} describe deployment ${name} (image pull, secrets, resources)`,
          };
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return { name: `deployment ${namespace}/${name}`, ok: false, detail: 'not deployed', fix };
      if (status === null) return 'unreachable';
      return {
        name: `deployment ${namespace}/${name}`,
        ok: false,
        detail: `the API answered ${status}`,
        fix: 'check the credentials of the kubeconfig (get deployments in both namespaces)',
      };
    }
  };
  for (const fn of DEPLOYED_FUNCTIONS) {
    const c = await deployment(fn, scope.functionNamespace, 'faas-cli deploy -f stack.yml');
    if (c === 'unreachable')
      return [
        {
          name: 'kubernetes api',
          ok: false,
          detail: `no answer from ${server}`,
          fix: 'set KUBECONFIG (or run in the cluster), or give --no-cluster to check the database only',
        },
      ];
    checks.push(c);
  }
  const cron = await deployment(
    'cron-connector',
    scope.openfaasNamespace,
    'helm upgrade --install cron-connector openfaas/cron-connector -n openfaas -f k8s/helm/cron-connector-values.yaml',
  );
  if (cron !== 'unreachable') checks.push(cron);
  for (const name of SECRETS) {
    try {
      const s = await core.readNamespacedSecret({ name, namespace: scope.functionNamespace });
      const has = Boolean(s.data?.[name] ?? s.stringData?.[name]);
      checks.push(
        has
          ? { name: `secret ${name}`, ok: true, detail: 'present' }
          : {
              name: `secret ${name}`,
              ok: false,
              detail: `has no key ${name}`,
              fix: `faas-cli secret update ${name} --from-file=...`,
            },
      );
    } catch (err) {
      checks.push({
        name: `secret ${name}`,
        ok: false,
        detail: statusOf(err) === 404 ? 'missing' : `cannot be read (${statusOf(err) ?? 'no answer'})`,
        fix: `faas-cli secret create ${name} --from-file=... (k8s/README.md)`,
      });
    }
  }
  return checks;
}

export interface DatabaseScope {
  url: string;
  /** The check's instant: each exchange's last published session is taken at it. */
  now: Date;
  /** Sessions an exchange's prices may lag its last published session. */
  maxDaysBehind: number;
  /** A running run without progress for this long is stalled. */
  stalledMinutes: number;
}

const LAST_RUN = `
  SELECT r.execution_id, r.status, r.as_of::text, r.current_step, r.error_message,
         extract(epoch FROM now() - e.last_progress_at)::float8 / 60 AS idle_minutes
    FROM v_recent_executions r JOIN process_executions e USING (execution_id) LIMIT 1`;
const FRESHNESS = `SELECT exchange, prices_through::text, behind, without_prices, active_assets FROM v_exchange_freshness`;
const QUOTA = `
  SELECT quota_day::text, used, call_limit, calls_left FROM v_api_quota_days
   WHERE quota_day = (SELECT quota_day FROM api_plan)`;

const QUARANTINE = `SELECT exchange, priced, quarantined, pct FROM v_quarantine_by_exchange ORDER BY exchange`;

export async function databaseChecks(pool: pg.Pool, scope: DatabaseScope): Promise<Check[]> {
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    return [{ name: 'database', ok: false, detail: databaseProblem(err, scope.url) }];
  }
  const checks: Check[] = [{ name: 'database', ok: true, detail: 'answers' }];
  const pending = await pendingMigrations(pool);
  if (pending.length > 0) {
    checks.push({
      name: 'migrations',
      ok: false,
      detail: `${pending.length} not applied (${pending.join(', ')})`,
      fix: 'run the migration Job (k8s/jobs/migrate.yaml) or npm run migrate',
    });
    return checks; // the views below may not exist yet
  }
  checks.push({ name: 'migrations', ok: true, detail: 'all applied' });

  const run = (await pool.query(LAST_RUN)).rows[0];
  if (!run) {
    checks.push({
      name: 'last run',
      ok: false,
      detail: 'no daily run yet',
      fix: 'wait for the schedule (21:30 UTC on weekdays) or start one: curl -X POST <gateway>/function/init-execution',
    });
  } else if (run.status === 'running') {
    const stalled = run.idle_minutes > scope.stalledMinutes;
    checks.push({
      name: 'last run',
      ok: !stalled,
      detail: `run ${run.execution_id} for ${run.as_of} running (${run.current_step}), last progress ${Math.round(run.idle_minutes)} min ago`,
      ...(stalled
        ? {
            fix: "resume-runs re-drives it every 10 minutes: check that it runs (faas-cli logs resume-runs) and the step's logs",
          }
        : {}),
    });
  } else {
    const ok = run.status === 'success' || run.status === 'partial';
    checks.push({
      name: 'last run',
      ok,
      detail: `run ${run.execution_id} for ${run.as_of}: ${run.status}${run.error_message ? ` (${run.error_message})` : ''}`,
      ...(ok
        ? {}
        : {
            fix: "read the run on the status page and the failed step's logs (faas-cli logs <step>), then start a new run",
          }),
    });
  }

  // The newest day each exchange's prices can be for: its last session published by now
  // (its calendar: a holiday is not behind), and the lag counted in its sessions.
  const calendars = await loadCalendars(pool);
  for (const f of (await pool.query(FRESHNESS)).rows) {
    const name = `prices ${f.exchange}`;
    if (!f.prices_through) {
      checks.push({
        name,
        ok: false,
        detail: `none for ${f.active_assets} assets`,
        fix: 'the next run loads them; if it did not, see the failing tickers on the status page',
      });
      continue;
    }
    const cal = calendars.get(f.exchange);
    const { last: expected, behind: lag } = cal
      ? cal.sessionsBehind(f.prices_through, scope.now)
      : { last: f.prices_through, behind: 0 };
    const ok = lag <= scope.maxDaysBehind;
    checks.push({
      name,
      ok,
      detail: `through ${f.prices_through}${lag > 0 ? `, ${lag} session(s) behind ${expected}` : ''}${f.behind + f.without_prices > 0 ? `; ${f.behind + f.without_prices} assets behind that` : ''}`,
      ...(ok
        ? {}
        : {
            fix: 'check that the daily runs succeed (last run above, status page) and that the plan includes this exchange',
          }),
    });
  }

  // Quarantined bars (open errors of the quality checks): a few are the API's bad ticks; a
  // large share of an exchange is a feed gone wrong, or thresholds that do not fit it.
  const alertPct = (await loadSettings(pool)).quality_quarantine_alert_pct;
  for (const x of (await pool.query(QUARANTINE)).rows) {
    const ok = Number(x.pct) <= alertPct;
    checks.push({
      name: `quarantine ${x.exchange}`,
      ok,
      detail: `${x.quarantined} of ${x.priced} priced assets have a quarantined bar (${Number(x.pct).toFixed(2)}%; alert above ${alertPct}%)`,
      ...(ok
        ? {}
        : {
            fix: 'look at the data-quality section of the status page (v_data_quality): confirm or drop the bars, or tune the quality_* settings',
          }),
    });
  }

  const q = (await pool.query(QUOTA)).rows[0];
  if (q) {
    const ok = Number(q.calls_left) > 0;
    checks.push({
      name: 'quota',
      ok,
      detail: `${q.quota_day}: ${q.used} calls used of ${q.call_limit ?? '?'}, ${q.calls_left} left`,
      ...(ok
        ? {}
        : { fix: 'the rest waits for tomorrow; if this happens every day, raise eodhd_daily_quota or the plan' }),
    });
  }
  return checks;
}

/** The lines a person reads: "ok   name: detail" or "FAIL name: detail -> fix". */
export function formatChecks(checks: Check[]): string {
  return checks
    .map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}${!c.ok && c.fix ? ` -> ${c.fix}` : ''}`)
    .join('\n');
}
