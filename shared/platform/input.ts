/**
 * Every function's input, as zod schemas (unknown fields rejected), and the one place that
 * turns a raw request body into a value or a 400 with a reason a person can act on.
 */
import { z } from 'zod';
import { addDays, utcToday } from '../domain/dates.js';
import { EXCHANGES, REGIONS } from '../domain/exchanges.js';
import { QUALITY_CHECKS } from '../domain/quality.js';
import type { FunctionEvent, FunctionResult } from './function-contract.js';
import { CHAINED_STEPS } from './invoke.js';

const executionId = z
  .number({ error: 'executionId must be a number' })
  .int()
  .positive()
  .max(2 ** 31 - 1);
const isoDate = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'must be a date YYYY-MM-DD')
  .refine(
    (d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    'is not a real date',
  );

/** The earliest trading day a run may be for: EODHD's histories start around here. */
const HISTORY_START = '1970-01-01';

/**
 * A run's trading day: a real date, no earlier than HISTORY_START and no later than the
 * API's next day (today in UTC + 1: the API's day runs ahead of UTC by at most that), so
 * that no loop over the days between a stored price and the run's day can run away.
 */
const tradingDay = isoDate
  .refine((d) => d >= HISTORY_START, `must be ${HISTORY_START} or later`)
  .refine((d) => d <= addDays(utcToday(), 1), {
    error: () => `must be no later than ${addDays(utcToday(), 1)} (the API's next day at most)`,
  });
const exchange = z.enum(EXCHANGES, { error: `exchange must be one of ${EXCHANGES.join(', ')}` });
// The exchange part from the one list of exchanges.
export const SYMBOL_PATTERN = new RegExp(`^[A-Za-z0-9][A-Za-z0-9_\\-&]{0,19}\\.(${EXCHANGES.join('|')})$`);
const symbol = z
  .string()
  .regex(
    SYMBOL_PATTERN,
    `a symbol is CODE.EXCHANGE with EXCHANGE one of ${EXCHANGES.join(', ')} (e.g. AAPL.US, BRK-B.US)`,
  )
  .transform((s) => s.toUpperCase());

/** What a run is asked to cover (init-execution's input, and the status page's start-run action). */
const runFields = {
  exchanges: z.array(exchange).min(1).max(EXCHANGES.length).optional(),
  symbols: z.array(symbol).min(1).max(1000).optional(),
  dryRun: z.boolean().default(false),
  skipExisting: z.boolean().default(false),
  asOf: tradingDay.optional(),
};

export const InitExecutionInput = z
  .strictObject({
    mode: z
      .enum(['auto', 'bulk', 'incremental', 'resume'], { error: 'mode must be auto, bulk, incremental or resume' })
      .default('auto'),
    ...runFields,
    /** resume only: how long a run may go without progress before its steps are re-driven. */
    staleMinutes: z.number().int().min(0).max(1440).optional(),
    /** resume only: the same in seconds (tests re-drive within seconds); give one of the two. */
    staleSeconds: z.number().int().min(0).max(86_400).optional(),
  })
  .refine((v) => v.staleMinutes === undefined || v.staleSeconds === undefined, {
    message: 'give staleMinutes or staleSeconds, not both',
    path: ['staleSeconds'],
  });
export type InitExecutionInput = z.infer<typeof InitExecutionInput>;

export const ExecutionInput = z.strictObject({ executionId });
export type ExecutionInput = z.infer<typeof ExecutionInput>;

export const CollectRegionInput = z.strictObject({
  executionId,
  region: z.enum(REGIONS, { error: `region must be one of ${REGIONS.join(', ')}` }),
});
export type CollectRegionInput = z.infer<typeof CollectRegionInput>;

/** calc-indicators' {symbols, from}: how many symbols, and sessions an asset (20 years), at most. */
export const HISTORY_FROM_SYMBOLS = 100;
export const MANUAL_HISTORY_SESSIONS = 5040;

export const CalcIndicatorsInput = z.union(
  [
    z.strictObject({ executionId }),
    z.strictObject({ symbols: z.array(symbol).min(1).max(25_000) }),
    // History recomputed from a day (even before the retention): at most HISTORY_FROM_SYMBOLS
    // symbols, each at most MANUAL_HISTORY_SESSIONS sessions, so that the request is bounded.
    z.strictObject({
      symbols: z
        .array(symbol)
        .min(1)
        .max(HISTORY_FROM_SYMBOLS, `with from, give at most ${HISTORY_FROM_SYMBOLS} symbols`),
      from: tradingDay,
    }),
    z.strictObject({ all: z.literal(true, { error: 'all must be true' }) }),
  ],
  { error: 'give one of {executionId}, {symbols: [...]}, {symbols: [...], from: "YYYY-MM-DD"} or {all: true}' },
);
export type CalcIndicatorsInput = z.infer<typeof CalcIndicatorsInput>;

/** GET /function/status?runs=N&failing=N: how many daily runs and failing assets to show. */
export const StatusQuery = z.strictObject({
  runs: z.coerce.number().int().min(1, 'runs is 1 to 100').max(100, 'runs is 1 to 100').default(14),
  failing: z.coerce.number().int().min(0, 'failing is 0 to 500').max(500, 'failing is 0 to 500').default(50),
});
export type StatusQuery = z.infer<typeof StatusQuery>;

/**
 * POST /function/status: what an operator does from the pages (each asks for an operator
 * credential: shared/platform/operator.ts): bring a failing ticker back; confirm a
 * quarantined bar as real (a genuine crash: it is used again); drop it (it is wrong:
 * deleted, its findings resolved); start a run; invoke a step of a run again.
 */
const ResetAction = z.strictObject({
  action: z.literal('reset'),
  symbol,
  scope: z
    .enum(['all', 'fundamentals', 'prices', 'indicators'], {
      error: 'scope must be all, fundamentals, prices or indicators',
    })
    .default('all'),
});
const FindingAction = z.strictObject({
  action: z.enum(['confirm', 'drop']),
  symbol,
  date: isoDate,
  check: z.enum(QUALITY_CHECKS, { error: `check must be one of ${QUALITY_CHECKS.join(', ')}` }).optional(),
  note: z.string().trim().min(1).max(500, 'note is at most 500 characters').optional(),
});
/**
 * A run started from the status page: init-execution's input beside the action (not mode
 * resume: that is resume-runs' sweep, which settles API calls with a key the status
 * function does not hold).
 */
const StartRunAction = z.strictObject({
  action: z.literal('start-run'),
  mode: z.enum(['auto', 'bulk', 'incremental'], { error: 'mode must be auto, bulk or incremental' }).default('auto'),
  ...runFields,
});
/** A step of a run invoked again from the status page, as the chain invokes it (region: collect-region's shard only). */
const RunStepAction = z
  .strictObject({
    action: z.literal('run-step'),
    step: z.enum(CHAINED_STEPS, { error: `step must be one of ${CHAINED_STEPS.join(', ')}` }),
    executionId,
    region: z.enum(REGIONS, { error: `region must be one of ${REGIONS.join(', ')}` }).optional(),
  })
  .refine((v) => (v.step === 'collect-region') === (v.region !== undefined), {
    message: 'give a region for collect-region (its shard), and none for another step',
    path: ['region'],
  });
export const StatusAction = z.discriminatedUnion(
  'action',
  [ResetAction, FindingAction, StartRunAction, RunStepAction],
  { error: 'action must be reset, confirm, drop, start-run or run-step' },
);
export type StatusAction = z.infer<typeof StatusAction>;

/** application/json, or a +json type, with any parameters. */
function isJson(contentType: string | undefined): boolean {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return t === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(t);
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: FunctionResult };

export function badRequest(reason: string, details?: unknown): FunctionResult {
  return { status: 400, body: { error: 'bad_request', reason, ...(details === undefined ? {} : { details }) } };
}

/**
 * Decodes and validates a body. An empty body is `{}` (the cron-connector posts nothing);
 * invalid UTF-8, non-JSON, non-objects and schema violations are 400s that say what to fix.
 */
export function parseInput<T>(event: FunctionEvent, schema: z.ZodType<T>): Parsed<T> {
  if (event.method !== 'POST' && event.method !== 'PUT') {
    return {
      ok: false,
      response: {
        status: 405,
        body: { error: 'method_not_allowed', reason: `use POST with a JSON body, not ${event.method}` },
        headers: { allow: 'POST' },
      },
    };
  }
  // Only JSON (or nothing) is read: a web page's form or text/plain post cannot open a run.
  if (event.body.length > 0 && !isJson(event.headers['content-type'])) {
    return {
      ok: false,
      response: {
        status: 415,
        body: {
          error: 'unsupported_media_type',
          reason: `send the body as JSON with Content-Type: application/json, not ${event.headers['content-type'] ?? 'no type'} (curl -H 'Content-Type: application/json', faas-cli invoke --content-type application/json)`,
        },
      },
    };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(event.body);
  } catch {
    return { ok: false, response: badRequest('the body is not valid UTF-8') };
  }
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      return {
        ok: false,
        response: badRequest(`the body is not JSON: ${err instanceof Error ? err.message : 'parse error'}`),
      };
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      response: badRequest(
        `the body must be a JSON object, not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`,
      ),
    };
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
    const first = issues[0]!;
    return { ok: false, response: badRequest(`${first.path}: ${first.message}`, issues) };
  }
  return { ok: true, value: r.data };
}

/** Validates a GET request's query string (the only input a GET takes); 400 with the reason. */
export function parseQuery<T>(event: FunctionEvent, schema: z.ZodType<T>): Parsed<T> {
  const r = schema.safeParse(event.query);
  if (r.success) return { ok: true, value: r.data };
  const issues = r.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.') || '(query)', message: i.message }));
  return { ok: false, response: badRequest(`${issues[0]!.path}: ${issues[0]!.message}`, issues) };
}
