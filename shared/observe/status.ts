/**
 * What the status function shows: everything an operator checks about the pipeline, read
 * in one go from the views beside the tables (no writes here). The page (status-page.ts)
 * and the JSON answer are the same data.
 */
import type { Calendars } from '../domain/calendar.js';
import type { Queryable } from '../platform/db.js';
import type { FunctionResult } from '../platform/function-contract.js';
import {
  badRequest,
  CalcIndicatorsInput,
  CollectRegionInput,
  ExecutionInput,
  type StatusAction,
  type StatusQuery,
} from '../platform/input.js';
import { log } from '../platform/log.js';
import { checkOperator } from '../platform/operator.js';
import { newNonce, pageHeaders } from '../platform/page.js';
import type { PipelineContext } from '../steps/context.js';
import { decideQuarantinedBar } from '../steps/decide-finding.js';
import { startRun } from '../steps/init-execution.js';
import { resetTicker } from '../store/asset-state.js';
import { loadCalendars } from '../store/exchange-calendars.js';
import { DAILY_PIPELINE, getRun } from '../store/executions.js';
import { renderStatusPage } from './status-page.js';

export interface StepState {
  step: string;
  shard: string;
  status: string;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  seconds: number | null;
  error_message: string | null;
}

export interface RunState {
  execution_id: number;
  trigger_kind: string;
  status: string;
  as_of: string;
  current_step: string | null;
  started_at: string;
  finished_at: string | null;
  duration_seconds: number;
  assets_processed: number;
  assets_failed: number;
  assets_skipped: number;
  api_calls_used: number;
  error_message: string | null;
  indicator_execution_id: number | null;
  indicator_status: string | null;
  indicators_calculated: number | null;
  steps: StepState[];
}

export interface QuotaDay {
  quota_day: string;
  used: number;
  call_limit: number | null;
  api_daily_limit: number | null;
  api_reported: number | null;
  calls_left: number;
  unknown_requests: number;
}

export interface Status {
  generated_at: string;
  progress: Array<Record<string, unknown>>;
  runs: RunState[];
  indicator_runs: Array<{ execution_id: number; status: string; started_at: string; assets_processed: number }>;
  quota: {
    plan: {
      subscription_type: string | null;
      daily_rate_limit: number;
      extra_limit: number;
      read_on: string;
    } | null;
    today: QuotaDay | null;
    days: QuotaDay[];
  };
  freshness: Array<{
    exchange: string;
    region: string;
    active_assets: number;
    with_prices: number;
    prices_through: string | null;
    behind: number;
    without_prices: number;
    /** The exchange's last session published now (its calendar: a holiday is not missed). */
    last_session: string;
    /** Its sessions after prices_through up to last_session (null without prices). */
    sessions_behind: number | null;
  }>;
  failing: Array<{
    symbol: string;
    exchange: string;
    consecutive_failures: number;
    excluded: boolean;
    last_error_message: string | null;
    last_error_at: string | null;
  }>;
  not_in_plan: Array<{ kind: string; since: string; detail: string | null; what: string }>;
  data_quality: {
    /** Open and confirmed findings by check, severity and exchange. */
    by_check: Array<{ check: string; severity: string; exchange: string; open: number; confirmed: number }>;
    /** Each exchange's assets with a quarantined bar, of its priced assets. */
    quarantined: Array<{ exchange: string; priced: number; quarantined: number; pct: number }>;
    /** The assets with the most open findings. */
    worst: Array<{ symbol: string; exchange: string; errors: number; warnings: number }>;
    /** The quarantined bars (open errors), newest first: what an operator confirms or drops. */
    bars: Array<{ symbol: string; date: string; check: string; detail: string; reasked: boolean }>;
    /** Bars the API answered differently when read again, in the last 7 days. */
    corrections_7d: number;
  };
}

const RUNS = `
  SELECT execution_id, trigger_kind, status, as_of, current_step, started_at, finished_at,
         duration_seconds::float8 AS duration_seconds, assets_processed, assets_failed, assets_skipped,
         api_calls_used, error_message, indicator_execution_id, indicator_status, indicators_calculated
    FROM v_recent_executions LIMIT $1`;

const STEPS = `
  SELECT execution_id, step, shard, status, attempts, started_at, finished_at, error_message,
         round(extract(epoch FROM finished_at - started_at)::numeric, 1)::float8 AS seconds
    FROM pipeline_steps WHERE execution_id = ANY($1::bigint[]) AND step NOT IN ('bulk-eod', 'recheck-eod')
   ORDER BY execution_id, started_at NULLS LAST, step, shard`;

const INDICATOR_RUNS = `
  SELECT execution_id, status, started_at, assets_processed FROM process_executions
   WHERE process_name = 'calc_indicators' AND parent_execution_id IS NULL
   ORDER BY execution_id DESC LIMIT 10`;

const QUOTA_DAYS = `
  SELECT quota_day::text, used::int, call_limit, api_daily_limit, api_reported, calls_left::int, unknown_requests
    FROM v_api_quota_days
   WHERE quota_day > (SELECT max(quota_day) FROM api_quota_days) - 30 AND (used > 0 OR call_limit IS NOT NULL)
   ORDER BY quota_day`;

const PLAN = `SELECT subscription_type, daily_rate_limit, extra_limit, quota_day::text AS read_on FROM api_plan`;

const FRESHNESS = `SELECT exchange, region, active_assets, with_prices, prices_through::text, behind, without_prices
                     FROM v_exchange_freshness`;

const FAILING = `
  SELECT symbol, exchange, consecutive_failures, excluded, last_error_message, last_error_at
    FROM v_failed_assets LIMIT $1`;

const NOT_IN_PLAN = `SELECT kind, since::text, detail, what FROM v_api_plan WHERE status = 'not_in_plan'`;

const QUALITY_BY_CHECK = `
  SELECT "check", severity, exchange, count(*) FILTER (WHERE status = 'open')::int AS open,
         count(*) FILTER (WHERE status = 'confirmed')::int AS confirmed
    FROM v_data_quality GROUP BY 1, 2, 3 ORDER BY 2, 1, 3`;

const QUARANTINED = `SELECT exchange, priced, quarantined, pct::float8 AS pct FROM v_quarantine_by_exchange ORDER BY exchange`;

const WORST = `
  SELECT symbol, exchange, count(*) FILTER (WHERE severity = 'error')::int AS errors,
         count(*) FILTER (WHERE severity = 'warning')::int AS warnings
    FROM v_data_quality WHERE status = 'open' GROUP BY 1, 2
   ORDER BY errors DESC, warnings DESC, symbol LIMIT 10`;

const QUARANTINED_BARS = `
  SELECT symbol, date::text, "check", detail, reasked_at IS NOT NULL AS reasked
    FROM v_data_quality WHERE status = 'open' AND severity = 'error'
   ORDER BY date DESC, symbol LIMIT $1`;

const CORRECTIONS_7D = `SELECT count(*)::int AS n FROM price_corrections WHERE seen_at > now() - interval '7 days'`;

/** The status, with the last `runs` daily runs and up to `failing` failing assets. */
async function readStatus(q: Queryable, limits: { runs: number; failing: number }): Promise<Status> {
  const runs = (await q.query<Omit<RunState, 'steps'>>(RUNS, [limits.runs])).rows;
  const steps = (await q.query<StepState & { execution_id: number }>(STEPS, [runs.map((r) => r.execution_id)])).rows;
  const days = (await q.query<QuotaDay>(QUOTA_DAYS)).rows;
  const progress = (await q.query('SELECT * FROM get_processing_progress()')).rows;
  const plan = (await q.query<NonNullable<Status['quota']['plan']>>(PLAN)).rows[0] ?? null;
  return {
    generated_at: new Date().toISOString(),
    progress,
    runs: runs.map((r) => ({
      ...r,
      steps: steps.filter((s) => s.execution_id === r.execution_id).map(({ execution_id: _, ...s }) => s),
    })),
    indicator_runs: (await q.query(INDICATOR_RUNS)).rows,
    quota: {
      plan,
      // The quota day as the last run read it (today by the API's clock; the machine's date may be another).
      today: days.find((d) => d.quota_day === plan?.read_on) ?? days.at(-1) ?? null,
      days,
    },
    freshness: withSessions((await q.query<FreshnessRow>(FRESHNESS)).rows, await loadCalendars(q), new Date()),
    failing: (await q.query(FAILING, [limits.failing])).rows,
    not_in_plan: (await q.query(NOT_IN_PLAN)).rows,
    data_quality: {
      by_check: (await q.query(QUALITY_BY_CHECK)).rows,
      quarantined: (await q.query(QUARANTINED)).rows,
      worst: (await q.query(WORST)).rows,
      bars: (await q.query(QUARANTINED_BARS, [limits.failing])).rows,
      corrections_7d: (await q.query<{ n: number }>(CORRECTIONS_7D)).rows[0]!.n,
    },
  };
}

type FreshnessRow = Omit<Status['freshness'][number], 'last_session' | 'sessions_behind'>;

/** Each exchange's freshness counted in its own sessions. */
function withSessions(rows: FreshnessRow[], calendars: Calendars, now: Date): Status['freshness'] {
  return rows.map((r) => {
    const cal = calendars.get(r.exchange);
    if (!cal) return { ...r, last_session: r.prices_through ?? '', sessions_behind: null };
    if (!r.prices_through) return { ...r, last_session: cal.publishedSession(now), sessions_behind: null };
    const { last, behind } = cal.sessionsBehind(r.prices_through, now);
    return { ...r, last_session: last, sessions_behind: behind };
  });
}

/** GET /function/status: the status as JSON, or as the page for a browser. */
export async function showStatus(ctx: PipelineContext, query: StatusQuery, html: boolean): Promise<FunctionResult> {
  const status = await readStatus(ctx.pool, query);
  if (!html) return { status: 200, body: status, headers: { 'cache-control': 'no-store' } };
  const nonce = newNonce();
  // Only the page's own script; its fetch() calls go to the same gateway.
  return { status: 200, body: renderStatusPage(status, nonce), headers: pageHeaders(nonce) };
}

/**
 * POST /function/status, each action an operator's (shared/platform/operator.ts: 401 without
 * the credential, and nothing written): {"action":"reset","symbol":...} brings a failing
 * ticker back; {"action":"confirm"|"drop","symbol":...,"date":...} decides on a quarantined
 * bar; {"action":"start-run",...init-execution's input} opens a run as init-execution does
 * (the database decides whether one may open) and hands it to discover-delta;
 * {"action":"run-step","step":...,"executionId":...,"region":...} invokes a step of a run
 * again, as the chain and resume-runs invoke it (a finished step answers its stored result).
 */
export async function statusAction(
  ctx: PipelineContext,
  action: StatusAction,
  authorization: string | undefined,
): Promise<FunctionResult> {
  const operator = checkOperator(authorization);
  if (!operator.ok) return operator.response;
  log('info', 'operator_action', { action: action.action, by: operator.by });
  switch (action.action) {
    case 'confirm':
    case 'drop':
      return decideQuarantinedBar(ctx, action);
    case 'start-run': {
      const { action: _, ...input } = action;
      return startRun(ctx, input, { callId: null, kind: 'manual' });
    }
    case 'run-step':
      return runStepAgain(ctx, action);
    case 'reset': {
      const reset = await resetTicker(ctx.pool, action.symbol, action.scope);
      if (!reset)
        return {
          status: 404,
          body: {
            error: 'not_found',
            reason: `no asset with symbol ${action.symbol}: check the symbol (CODE.EXCHANGE)`,
          },
        };
      return { status: 200, body: { reset } };
    }
  }
}

type RunStep = Extract<StatusAction, { action: 'run-step' }>;

/** Invokes a step of a daily run with the body the chain gives it (validated by the step's own schema). */
async function runStepAgain(ctx: PipelineContext, a: RunStep): Promise<FunctionResult> {
  const run = await getRun(ctx.pool, a.executionId);
  if (!run || run.process_name !== DAILY_PIPELINE)
    return {
      status: 404,
      body: {
        error: 'not_found',
        reason: `no daily run ${a.executionId}: pick one of the runs on the status page (v_recent_executions)`,
      },
    };
  const body =
    a.step === 'collect-region' ? { executionId: a.executionId, region: a.region } : { executionId: a.executionId };
  const schema =
    a.step === 'collect-region'
      ? CollectRegionInput
      : a.step === 'calc-indicators'
        ? CalcIndicatorsInput
        : ExecutionInput;
  const checked = schema.safeParse(body);
  if (!checked.success)
    return badRequest(`${a.step}: ${checked.error.issues[0]?.message ?? 'not a valid input for this step'}`);
  await ctx.invoke(a.step, checked.data);
  return { status: 202, body: { invoked: a.step, ...body, runStatus: run.status } };
}
