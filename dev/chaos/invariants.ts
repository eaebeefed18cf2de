/**
 * What must hold after any run, however it was delivered, killed, restarted or lied to:
 * one named function per invariant, its SQL beside it. Each answers a Check: how many
 * violations it found (0 = holds), of which kind (the chaos report adds them up), and a
 * few examples to start from. They take a pool on the pipeline's schema and work for ava
 * tests as well as for the chaos suite (dev/chaos).
 *
 * Operations are not named: every work item is collection work, and every processing
 * detail but calc-indicators' (indicator_calc) records one, so these keep holding when
 * operations are renamed or added.
 */
import type pg from 'pg';
import type { EodBar } from '../../shared/eodhd/schemas.js';

export type CheckKind = 'duplicates' | 'lost' | 'wrong' | 'overrun' | 'books' | 'leak' | 'written' | 'liveness';

export interface Check {
  name: string;
  kind: CheckKind;
  /** Violations found: 0 means the invariant holds. */
  found: number;
  /** What was compared, in a line. */
  detail: string;
  examples: unknown[];
}

type Q = pg.Pool | pg.PoolClient;

function check(name: string, kind: CheckKind, found: number, detail: string, examples: unknown[] = []): Check {
  return { name, kind, found, detail, examples: examples.slice(0, 5) };
}

async function rows<T>(q: Q, sql: string, args: unknown[] = []): Promise<T[]> {
  return (await q.query(sql, args)).rows as T[];
}

// --- duplicates -----------------------------------------------------------------------

const DUPLICATE_PRICES = `
  SELECT a.symbol, p.date::text AS date, count(*)::int AS n
    FROM stock_prices p JOIN assets a ON a.id = p.asset_id
   GROUP BY a.symbol, p.date HAVING count(*) > 1
   ORDER BY n DESC, a.symbol, p.date`;

/** No (asset, date) is stored twice in stock_prices. */
export async function noDuplicatePrices(q: Q): Promise<Check> {
  const r = await rows<{ symbol: string; date: string; n: number }>(q, DUPLICATE_PRICES);
  return check(
    'noDuplicatePrices',
    'duplicates',
    r.reduce((s, x) => s + x.n - 1, 0),
    'rows of stock_prices beyond the first per (asset, date)',
    r,
  );
}

const DUPLICATE_DETAILS = `
  SELECT d.execution_id, a.symbol, d.operation, count(*)::int AS n
    FROM asset_processing_details d JOIN assets a ON a.id = d.asset_id
   WHERE d.operation <> 'indicator_calc' AND ($1::bigint[] IS NULL OR d.execution_id = ANY($1::bigint[]))
   GROUP BY d.execution_id, a.symbol, d.operation HAVING count(*) > 1
   ORDER BY n DESC`;

/** Every collection operation on an asset is recorded once per run: nothing was done (or counted) twice. */
export async function noDuplicateDetails(q: Q, executionIds: number[] | null = null): Promise<Check> {
  const r = await rows<{ execution_id: number; symbol: string; operation: string; n: number }>(q, DUPLICATE_DETAILS, [
    executionIds,
  ]);
  return check(
    'noDuplicateDetails',
    'duplicates',
    r.reduce((s, x) => s + x.n - 1, 0),
    'asset_processing_details rows beyond the first per (run, asset, operation)',
    r,
  );
}

const DUPLICATE_RUNS = `
  SELECT parent_execution_id, count(*)::int AS n, array_agg(execution_id ORDER BY execution_id) AS runs
    FROM process_executions
   WHERE process_name <> 'daily_pipeline' AND parent_execution_id IS NOT NULL AND status IN ('success', 'partial')
     AND ($1::bigint[] IS NULL OR parent_execution_id = ANY($1::bigint[]))
   GROUP BY parent_execution_id HAVING count(*) > 1`;

/** A daily run hands over to at most one finished child run (calc-indicators): a duplicate delivery opened no second one. */
export async function oneChildRunPerRun(q: Q, executionIds: number[] | null = null): Promise<Check> {
  const r = await rows<{ parent_execution_id: number; n: number; runs: number[] }>(q, DUPLICATE_RUNS, [executionIds]);
  return check(
    'oneChildRunPerRun',
    'duplicates',
    r.reduce((s, x) => s + x.n - 1, 0),
    'finished child runs beyond the first per daily run',
    r,
  );
}

// --- every planned item ends ------------------------------------------------------------

const OPEN_ITEMS = `
  SELECT w.operation, w.status, count(*)::int AS n, min(a.symbol) AS example
    FROM work_items w JOIN assets a ON a.id = w.asset_id
   WHERE w.execution_id = $1 AND w.status NOT IN ('done', 'failed', 'deferred', 'skipped')
   GROUP BY w.operation, w.status`;

/** Every planned work item of a finished run (and its indicator step) ended done, failed, deferred or skipped. */
export async function workItemsEnded(q: Q, executionId: number): Promise<Check> {
  const r = await rows<{ operation: string; status: string; n: number; example: string }>(q, OPEN_ITEMS, [executionId]);
  return check(
    'workItemsEnded',
    'lost',
    r.reduce((s, x) => s + x.n, 0),
    `work items of run ${executionId} still pending or claimed`,
    r,
  );
}

// --- the books ----------------------------------------------------------------------------

const RUN_TOTALS = `
  SELECT e.status, e.assets_processed, e.assets_failed, e.assets_skipped, e.api_calls_used,
         coalesce(d.ok, 0) AS ok, coalesce(d.failed, 0) AS failed, coalesce(d.skipped, 0) AS skipped,
         coalesce(c.calls, 0) AS calls
    FROM process_executions e
    LEFT JOIN LATERAL (
      SELECT count(*) FILTER (WHERE status = 'success')::int AS ok, count(*) FILTER (WHERE status = 'failed')::int AS failed,
             count(*) FILTER (WHERE status = 'skipped')::int AS skipped
        FROM asset_processing_details WHERE execution_id = e.execution_id AND operation <> 'indicator_calc') d ON true
    LEFT JOIN LATERAL (SELECT sum(cost)::int AS calls FROM api_calls WHERE execution_id = e.execution_id) c ON true
   WHERE e.execution_id = $1`;

/** The run's totals equal the sums of its details rows (collection operations), and its API calls the ledger's. */
export async function runTotalsMatchDetails(q: Q, executionId: number): Promise<Check> {
  const [r] = await rows<{
    status: string;
    assets_processed: number;
    assets_failed: number;
    assets_skipped: number;
    api_calls_used: number;
    ok: number;
    failed: number;
    skipped: number;
    calls: number;
  }>(q, RUN_TOTALS, [executionId]);
  if (!r) return check('runTotalsMatchDetails', 'books', 1, `run ${executionId} does not exist`);
  const diffs: unknown[] = [];
  if (r.assets_processed !== r.ok) diffs.push({ column: 'assets_processed', run: r.assets_processed, details: r.ok });
  if (r.assets_failed !== r.failed) diffs.push({ column: 'assets_failed', run: r.assets_failed, details: r.failed });
  if (r.assets_skipped !== r.skipped)
    diffs.push({ column: 'assets_skipped', run: r.assets_skipped, details: r.skipped });
  if (r.api_calls_used !== r.calls) diffs.push({ column: 'api_calls_used', run: r.api_calls_used, ledger: r.calls });
  return check(
    'runTotalsMatchDetails',
    'books',
    diffs.length,
    `totals of run ${executionId} (${r.status}) against its details and the API ledger`,
    diffs,
  );
}

// --- the API ledger and the quota -----------------------------------------------------------

const LEDGER_OF_DAY = `
  SELECT coalesce(sum(c.cost), 0)::int AS ledger,
         coalesce(sum(c.cost) FILTER (WHERE c.outcome IN ('answered', 'not_sent')), 0)::int AS known,
         coalesce(sum(c.cost) FILTER (WHERE c.outcome IN ('sent', 'no_answer')), 0)::int AS unsettled,
         count(c.id)::int AS requests,
         coalesce(min(d.reserved_calls), 0)::int AS counter,
         coalesce(min(d.reserved_calls + d.external_calls), 0)::int AS reserved
    FROM (SELECT $1::date AS day) x
    LEFT JOIN api_quota_days d ON d.quota_day = x.day
    LEFT JOIN api_calls c ON c.quota_day = x.day`;

const QUOTA_SETTINGS = `
  SELECT (SELECT value FROM pipeline_settings WHERE key = 'eodhd_daily_quota')::text::int AS quota,
         (SELECT value FROM pipeline_settings WHERE key = 'eodhd_quota_buffer')::text::int AS buffer`;

export interface LedgerFigures {
  /** Sum of the day's ledger rows (what each counts against the day). */
  ledger: number;
  /** Of which rows whose cost the API's answer told us. */
  known: number;
  /** Of which rows still waiting to be settled (process died, no answer). */
  unsettled: number;
  requests: number;
  /** The day's counter (reserved_calls), and with external calls. */
  counter: number;
  reserved: number;
}

export async function ledgerOfDay(q: Q, quotaDay: string): Promise<LedgerFigures> {
  return (await rows<LedgerFigures>(q, LEDGER_OF_DAY, [quotaDay]))[0]!;
}

/**
 * The ledger (sum of api_calls.cost of the quota day) equals what the API itself charged
 * (the simulator's usage().calls for that day). Exact: a request charged but missing from
 * the ledger is a lost row, one counted but not charged an invented one. Requests whose
 * process died are in the ledger from before they left; they must have been settled
 * against the API's count (the resume sweep) before this holds.
 */
export async function apiLedgerMatchesApi(q: Q, quotaDay: string, apiCalls: number): Promise<Check> {
  const l = await ledgerOfDay(q, quotaDay);
  return check(
    'apiLedgerMatchesApi',
    'lost',
    Math.abs(apiCalls - l.ledger),
    `${quotaDay}: ledger ${l.ledger} calls in ${l.requests} requests (${l.unsettled} unsettled), the API charged ${apiCalls}`,
    l.ledger === apiCalls
      ? []
      : [{ ledger: l.ledger, known: l.known, unsettled: l.unsettled, api: apiCalls, reserved: l.reserved }],
  );
}

/**
 * What holds at every moment, even before anything is settled: what the answers told us
 * <= what the API charged <= what the ledger counts, and the day's counter equals the
 * ledger (both change in the same statements).
 */
export async function apiLedgerBoundsApi(q: Q, quotaDay: string, apiCalls: number): Promise<Check> {
  const l = await ledgerOfDay(q, quotaDay);
  const over = Math.max(0, l.known - apiCalls) + Math.max(0, apiCalls - l.ledger) + Math.abs(l.counter - l.ledger);
  return check(
    'apiLedgerBoundsApi',
    'books',
    over,
    `${quotaDay}: known ${l.known} <= API ${apiCalls} <= ledger ${l.ledger} = counter ${l.counter}`,
    over === 0 ? [] : [{ known: l.known, api: apiCalls, ledger: l.ledger, counter: l.counter, unsettled: l.unsettled }],
  );
}

/** What the API charged on the quota day, and what we reserved, stayed within quota - buffer. */
export async function quotaNotOverrun(q: Q, quotaDay: string, apiCalls: number, limit?: number): Promise<Check> {
  const s = (await rows<{ quota: number; buffer: number }>(q, QUOTA_SETTINGS))[0]!;
  const max = limit ?? s.quota - s.buffer;
  const l = await ledgerOfDay(q, quotaDay);
  const over = Math.max(0, apiCalls - max) + Math.max(0, l.ledger - max);
  return check(
    'quotaNotOverrun',
    'overrun',
    over,
    `${quotaDay}: API charged ${apiCalls}, ledger ${l.ledger}, limit (quota - buffer) ${max}`,
    over === 0 ? [] : [{ api: apiCalls, ledger: l.ledger, reserved: l.reserved, limit: max }],
  );
}

// --- the stored data ----------------------------------------------------------------------

export type Bar = EodBar;

const PRICES_OF = `
  SELECT a.symbol, p.date::text AS date, p.open, p.high, p.low, p.close, p.adjusted_close, p.volume
    FROM stock_prices p JOIN assets a ON a.id = p.asset_id
   WHERE $1::text[] IS NULL OR a.symbol = ANY($1::text[])
   ORDER BY a.symbol, p.date`;

/** Every stored bar, by symbol. */
export async function pricesBySymbol(q: Q, symbols: string[] | null = null): Promise<Map<string, Bar[]>> {
  const out = new Map<string, Bar[]>();
  for (const r of await rows<Bar & { symbol: string }>(q, PRICES_OF, [symbols])) {
    let list = out.get(r.symbol);
    if (!list) out.set(r.symbol, (list = []));
    const { symbol: _, ...bar } = r;
    list.push(bar);
  }
  return out;
}

// An asset is clean when every collection item it had in these runs ended done: its data
// must then be complete, not only right.
const CLEAN_ASSETS = `
  SELECT a.symbol FROM assets a
   WHERE EXISTS (SELECT 1 FROM work_items w WHERE w.asset_id = a.id AND w.execution_id = ANY($1::bigint[]))
     AND NOT EXISTS (SELECT 1 FROM work_items w WHERE w.asset_id = a.id AND w.execution_id = ANY($1::bigint[])
                      AND w.status <> 'done')
   ORDER BY a.symbol`;

export async function cleanAssets(q: Q, executionIds: number[]): Promise<string[]> {
  return (await rows<{ symbol: string }>(q, CLEAN_ASSETS, [executionIds])).map((r) => r.symbol);
}

function sameBar(a: Bar, b: Bar): boolean {
  return (
    a.open === b.open &&
    a.high === b.high &&
    a.low === b.low &&
    a.close === b.close &&
    a.adjusted_close === b.adjusted_close &&
    a.volume === b.volume
  );
}

/**
 * The stored prices against what a clean run stored (or what the API answers): every
 * stored bar equals the reference's bar of that symbol and date (else it is wrong), and
 * an asset whose work all ended done has every bar the reference has (else rows were lost).
 * Returns two checks: pricesAreRight (wrong) and noLostPrices (lost).
 */
export function comparePrices(
  stored: Map<string, Bar[]>,
  reference: Map<string, Bar[]>,
  complete: Iterable<string>,
): [Check, Check] {
  let wrong = 0;
  const wrongEx: unknown[] = [];
  for (const [symbol, bars] of stored) {
    const ref = new Map((reference.get(symbol) ?? []).map((b) => [b.date, b]));
    for (const b of bars) {
      const r = ref.get(b.date);
      if (!r || !sameBar(b, r)) {
        wrong++;
        if (wrongEx.length < 5) wrongEx.push({ symbol, stored: b, reference: r ?? null });
      }
    }
  }
  let lost = 0;
  let compared = 0;
  const lostEx: unknown[] = [];
  for (const symbol of complete) {
    compared++;
    const have = new Set((stored.get(symbol) ?? []).map((b) => b.date));
    const missing = (reference.get(symbol) ?? []).filter((b) => !have.has(b.date));
    lost += missing.length;
    if (missing.length > 0 && lostEx.length < 5)
      lostEx.push({
        symbol,
        missing: missing.length,
        first: missing[0]!.date,
        last: missing[missing.length - 1]!.date,
      });
  }
  const storedRows = [...stored.values()].reduce((s, b) => s + b.length, 0);
  return [
    check(
      'pricesAreRight',
      'wrong',
      wrong,
      `${storedRows} stored bars of ${stored.size} assets against the reference`,
      wrongEx,
    ),
    check(
      'noLostPrices',
      'lost',
      lost,
      `${compared} assets whose work all ended done have every bar of the reference`,
      lostEx,
    ),
  ];
}

// --- the key ---------------------------------------------------------------------------------

const TABLES = `
  SELECT table_name FROM information_schema.tables
   WHERE table_schema = 'financial_screener' AND table_type = 'BASE TABLE' ORDER BY table_name`;

/** The API key appears in no row of any table, and in none of the given texts (log lines, answers). */
export async function apiKeyNowhere(q: Q, key: string, texts: Iterable<string> = []): Promise<Check> {
  const hits: unknown[] = [];
  let found = 0;
  for (const { table_name } of await rows<{ table_name: string }>(q, TABLES)) {
    const [h] = await rows<{ n: number }>(
      q,
      `SELECT count(*)::int AS n FROM financial_screener.${table_name} x WHERE strpos(x::text, $1) > 0`,
      [key],
    );
    if (h!.n > 0) {
      found += h!.n;
      hits.push({ table: table_name, rows: h!.n });
    }
  }
  let lines = 0;
  for (const t of texts) {
    lines++;
    // The key itself, and any api_token value that is not redacted.
    if (t.includes(key) || /api_token=(?!\*\*\*)[^&\s"']+/.test(t)) {
      found++;
      if (hits.length < 5) hits.push({ text: t.slice(0, 300) });
    }
  }
  return check('apiKeyNowhere', 'leak', found, `every row of every table and ${lines} log lines and answers`, hits);
}

// --- nothing written ----------------------------------------------------------------------------

/** A fingerprint of every table's content: md5 of its rows in a stable order. */
export async function tableFingerprints(q: Q): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const { table_name } of await rows<{ table_name: string }>(q, TABLES)) {
    const [r] = await rows<{ n: number; h: string | null }>(
      q,
      `SELECT count(*)::int AS n, md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))) AS h FROM financial_screener.${table_name} x`,
    );
    out[table_name] = `${r!.n}:${r!.h ?? ''}`;
  }
  return out;
}

/** No table changed between two fingerprints. */
export function nothingWritten(name: string, before: Record<string, string>, after: Record<string, string>): Check {
  const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((t) => before[t] !== after[t]);
  return check(
    name,
    'written',
    changed.length,
    `${Object.keys(before).length} tables compared before and after`,
    changed.map((t) => ({ table: t, before: before[t], after: after[t] })),
  );
}

// --- all at once -----------------------------------------------------------------------------------

/** The invariants of one finished run (with its indicator step), in the order the chaos report lists them. */
export async function runInvariants(q: Q, executionId: number): Promise<Check[]> {
  return [
    await workItemsEnded(q, executionId),
    await runTotalsMatchDetails(q, executionId),
    await noDuplicateDetails(q, [executionId]),
    await oneChildRunPerRun(q, [executionId]),
  ];
}
