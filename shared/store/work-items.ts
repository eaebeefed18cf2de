/**
 * work_items: every write to the table is here. A run's plan is written as work items,
 * one per asset and operation; check-quota defers what does not fit; collect-region's
 * replicas claim them with FOR UPDATE SKIP LOCKED and a lease, so they share a region
 * without overlap and a dead replica's items go back to the pool when its lease ends.
 * Every write after the claim checks the lease is still ours.
 */

import { API_COST } from '../eodhd/client.js';
import type { Queryable } from '../platform/db.js';
import { rowsWritten } from '../platform/metrics.js';
import { ofRunsFinishedBefore } from './executions.js';
import type { Settings } from './settings.js';

// --- the plan ----------------------------------------------------------------------------------
/*
 * The plan of a run, written as work items, one per asset and operation:
 *   price_update        prices behind the run's trading day (bulk or own history, check-quota decides)
 *   adjustment_refresh  a split or dividend changed adjusted_close: the whole history again (1 call)
 *   history_load        no prices yet, or flagged for reprocessing: the history (1 call)
 *   fundamentals_load   none yet, flagged, or due for refresh by the policy (10 calls)
 * Priorities are check-quota's spending order: prices first, then corporate-action
 * refreshes, new histories, new fundamentals, flagged ones, and refreshes oldest first.
 * Assets that failed max_consecutive_failures times in a row are left out until
 * reset_ticker_for_reprocessing brings them back; so are prices or fundamentals EODHD
 * said it does not have for a symbol, until the symbol reappears in its exchange's list.
 * What the plan does not include is not planned, except one item a quota day that asks
 * again (a 403 costs nothing). The unique (execution, asset, operation) key makes a
 * repeated plan a no-op.
 */
const COLLECT_OPERATIONS = ['price_update', 'adjustment_refresh', 'history_load', 'fundamentals_load'] as const;
export type CollectOperation = (typeof COLLECT_OPERATIONS)[number];

const PRIORITY = {
  price_update: 50,
  adjustment_refresh: 60,
  history_load: 70,
  fundamentals_new: 100,
  fundamentals_flagged: 110,
  fundamentals_refresh: 120,
} as const;

export interface PlanScope {
  executionId: number;
  /** The latest trading day of the run (fundamentals' ages are counted to it). */
  tradingDay: string;
  /** Each exchange's trading day: the session its prices are brought up to. */
  tradingDays: Readonly<Record<string, string>>;
  mode: 'auto' | 'bulk' | 'incremental';
  exchanges: string[] | null;
  symbols: string[] | null;
  skipExisting: boolean;
  settings: Settings;
  /** What the plan lets the run fetch: everything, one item to try again ('probe'), or nothing. */
  fetch: { prices: 'yes' | 'probe' | 'no'; fundamentals: 'yes' | 'probe' | 'no' };
}

// A benchmark index (source 'benchmark') is fetched by check-quota, never planned.
const SCOPE = `a.is_active AND a.source <> 'benchmark'
  AND ($2::text[] IS NULL OR a.exchange = ANY($2::text[]))
  AND ($3::text[] IS NULL OR a.symbol = ANY($3::text[]))
  AND coalesce(s.consecutive_failures, 0) < $4`;

const PRICES_KNOWN = `s.prices_not_found_on IS NULL`;
const FUNDAMENTALS_KNOWN = `(s.fundamentals_not_found_on IS NULL)`;

const INSERT = `INSERT INTO work_items (execution_id, asset_id, region, exchange, operation, priority, estimated_calls)`;
const NO_DUP = `ON CONFLICT (execution_id, asset_id, operation) DO NOTHING`;

// skipExisting ($6) ignores reprocess flags: only assets never loaded.
const PLAN_HISTORY_LOADS = `${INSERT}
  SELECT $1, a.id, a.region, a.exchange, 'history_load', ${PRIORITY.history_load}, ${API_COST.eod}
    FROM assets a LEFT JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE ${SCOPE} AND $5::date IS NOT NULL AND s.prices_not_found_on IS NULL
     AND (NOT coalesce(s.prices_loaded, false) OR (NOT $6 AND s.needs_prices_reprocess))
   ORDER BY a.id LIMIT $7
  ${NO_DUP}`;

const PLAN_ADJUSTMENT_REFRESHES = `${INSERT}
  SELECT $1, a.id, a.region, a.exchange, 'adjustment_refresh', ${PRIORITY.adjustment_refresh}, ${API_COST.eod}
    FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE ${SCOPE} AND $5::date IS NOT NULL AND ${PRICES_KNOWN}
     AND s.prices_loaded AND NOT s.needs_prices_reprocess AND s.needs_adjustment_refresh
  ${NO_DUP}`;

// The day's biggest insert (one row per asset) skips ON CONFLICT: its speculative insertion
// cost ~20% more (231 against 194 ms for 21,817 rows); the anti-join already leaves out an
// asset that has any price item in the run, and a plan is written by one transaction.
// Behind is behind the asset's own exchange's day ($6, $7): a holiday's exchange is not.
const PLAN_PRICE_UPDATES = `${INSERT}
  SELECT $1, a.id, a.region, a.exchange, 'price_update', ${PRIORITY.price_update}, ${API_COST.eod}
    FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
         JOIN unnest($6::text[], $7::date[]) AS d(exchange, as_of) ON d.exchange = a.exchange
   WHERE ${SCOPE} AND $5::date IS NOT NULL AND ${PRICES_KNOWN}
     AND s.prices_loaded AND NOT s.needs_prices_reprocess
     AND coalesce(s.prices_checked_through, s.prices_last_date) < d.as_of
     AND NOT EXISTS (SELECT 1 FROM work_items w WHERE w.execution_id = $1 AND w.asset_id = a.id
                        AND w.operation IN ('history_load', 'adjustment_refresh', 'price_update'))`;

const PLAN_FUNDAMENTALS = `${INSERT}
  SELECT $1, a.id, a.region, a.exchange, 'fundamentals_load',
         CASE WHEN NOT coalesce(s.fundamentals_loaded, false) THEN ${PRIORITY.fundamentals_new} ELSE ${PRIORITY.fundamentals_flagged} END, ${API_COST.fundamentals}
    FROM assets a LEFT JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE ${SCOPE} AND $5::date IS NOT NULL AND (s.asset_id IS NULL OR ${FUNDAMENTALS_KNOWN})
     AND (NOT coalesce(s.fundamentals_loaded, false) OR (NOT $6 AND s.needs_fundamentals_reprocess))
   ORDER BY a.id LIMIT $7
  ${NO_DUP}`;

// Due for refresh: older than the policy's age for its size, or an earnings date passed
// (by a few days, for the filings to reach EODHD) since the document was fetched. Oldest
// first, at most fundamentals_refresh_max_per_day.
const PLAN_FUNDAMENTALS_REFRESH = `${INSERT}
  SELECT $1, x.id, x.region, x.exchange, 'fundamentals_load', ${PRIORITY.fundamentals_refresh}, ${API_COST.fundamentals}
    FROM (
      SELECT a.id, a.region, a.exchange, f.fetched_at
        FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id JOIN fundamentals f ON f.asset_id = a.id
       WHERE ${SCOPE} AND s.fundamentals_loaded AND ${FUNDAMENTALS_KNOWN}
         AND (f.fetched_at < $5::date - make_interval(days => CASE WHEN f.market_cap >= $8::float8 THEN $7::int ELSE $6::int END)
              OR (f.next_earnings_date IS NOT NULL AND f.next_earnings_date >= f.fetched_at::date
                  AND f.next_earnings_date <= $5::date - $9::int))
       ORDER BY f.fetched_at, a.id
       LIMIT $10::int
    ) x
  ${NO_DUP}`;

const PLAN_COUNTS = `
  SELECT operation, region, count(*)::int AS assets, sum(estimated_calls)::int AS estimated_calls
    FROM work_items WHERE execution_id = $1 GROUP BY operation, region ORDER BY operation, region`;

export interface PlanCount {
  operation: string;
  region: string;
  assets: number;
  estimated_calls: number;
}

export async function writePlan(q: Queryable, p: PlanScope): Promise<PlanCount[]> {
  const args = [p.executionId, p.exchanges, p.symbols, p.settings.max_consecutive_failures, p.tradingDay];
  const s = p.settings;
  // A probe is one item: it asks the API once whether the plan now includes the kind.
  const prices = p.fetch.prices;
  const fundamentals = p.fetch.fundamentals;
  if (prices !== 'no' && p.mode !== 'incremental')
    await q.query(PLAN_HISTORY_LOADS, [...args, p.skipExisting, prices === 'probe' ? 1 : null]);
  if (prices === 'yes' && p.mode !== 'bulk') {
    await q.query(PLAN_ADJUSTMENT_REFRESHES, args);
    const days = Object.entries(p.tradingDays);
    await q.query(PLAN_PRICE_UPDATES, [...args, days.map(([ex]) => ex), days.map(([, d]) => d)]);
  }
  let planned = 0;
  if (fundamentals !== 'no' && p.mode !== 'incremental') {
    planned =
      (await q.query(PLAN_FUNDAMENTALS, [...args, p.skipExisting, fundamentals === 'probe' ? 1 : null])).rowCount ?? 0;
  }
  const refreshes =
    fundamentals === 'probe' ? (planned > 0 ? 0 : 1) : fundamentals === 'yes' ? s.fundamentals_refresh_max_per_day : 0;
  if (p.mode === 'auto' && !p.skipExisting && refreshes > 0) {
    await q.query(PLAN_FUNDAMENTALS_REFRESH, [
      ...args,
      s.fundamentals_refresh_days,
      s.fundamentals_refresh_large_days,
      s.fundamentals_large_market_cap,
      s.fundamentals_refresh_after_earnings_days,
      refreshes,
    ]);
  }
  const counts = await planCounts(q, p.executionId);
  rowsWritten.inc(
    { table: 'work_items' },
    counts.reduce((n, c) => n + c.assets, 0),
  );
  return counts;
}

async function planCounts(q: Queryable, executionId: number): Promise<PlanCount[]> {
  return (await q.query<PlanCount>(PLAN_COUNTS, [executionId])).rows;
}

const EXCLUDED_COUNT = `
  SELECT count(*)::int AS n FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE a.is_active AND s.consecutive_failures >= $1
     AND ($2::text[] IS NULL OR a.exchange = ANY($2::text[]))
     AND ($3::text[] IS NULL OR a.symbol = ANY($3::text[]))`;

export async function excludedForFailures(
  q: Queryable,
  maxFailures: number,
  exchanges: string[] | null,
  symbols: string[] | null,
): Promise<number> {
  return (await q.query<{ n: number }>(EXCLUDED_COUNT, [maxFailures, exchanges, symbols])).rows[0]!.n;
}

const UNKNOWN_SYMBOLS = `SELECT s FROM unnest($1::text[]) s WHERE NOT EXISTS (SELECT 1 FROM assets a WHERE a.symbol = s AND a.is_active)`;

export async function unknownSymbols(q: Queryable, symbols: string[]): Promise<string[]> {
  return (await q.query<{ s: string }>(UNKNOWN_SYMBOLS, [symbols])).rows.map((r) => r.s);
}

// --- fitting the budget (check-quota) ---------------------------------------------------------

const PRICE_DEMAND = `
  SELECT w.exchange, coalesce(s.prices_checked_through, s.prices_last_date)::text AS through, count(*)::int AS assets
    FROM work_items w JOIN asset_processing_state s ON s.asset_id = w.asset_id
   WHERE w.execution_id = $1 AND w.operation = 'price_update' AND w.status = 'pending'
   GROUP BY 1, 2`;

// Within an exchange: covered tickers first (the bulk days serve them), then the others
// from the most recent (cheapest to fill) back.
const DEFER_PRICE_UPDATES = `
  WITH ranked AS (
    SELECT w.id, row_number() OVER (ORDER BY ($3::date IS NOT NULL AND coalesce(s.prices_checked_through, s.prices_last_date) >= $3::date) DESC,
                                             coalesce(s.prices_checked_through, s.prices_last_date) DESC NULLS LAST, w.id) AS rn
      FROM work_items w JOIN asset_processing_state s ON s.asset_id = w.asset_id
     WHERE w.execution_id = $1 AND w.operation = 'price_update' AND w.status = 'pending' AND w.exchange = $2
  )
  UPDATE work_items w SET status = 'deferred', updated_at = now()
    FROM ranked r WHERE w.id = r.id AND r.rn > $4`;

// New assets' fundamentals beyond the day's cap wait for tomorrow.
const CAP_NEW_FUNDAMENTALS = `
  WITH ranked AS (
    SELECT id, row_number() OVER (ORDER BY id) AS rn FROM work_items
     WHERE execution_id = $1 AND operation = 'fundamentals_load' AND priority = ${PRIORITY.fundamentals_new} AND status = 'pending'
  )
  UPDATE work_items w SET status = 'deferred', updated_at = now() FROM ranked r WHERE w.id = r.id AND r.rn > $2`;

// Everything but price updates, in priority order, while the running total fits.
const DEFER_OVER_BUDGET = `
  WITH ranked AS (
    SELECT id, sum(estimated_calls) OVER (ORDER BY priority, id) AS cum FROM work_items
     WHERE execution_id = $1 AND status = 'pending' AND operation <> 'price_update'
  )
  UPDATE work_items w SET status = 'deferred', updated_at = now() FROM ranked r WHERE w.id = r.id AND r.cum > $2`;

const DEMAND_BY_OPERATION = `
  SELECT operation, count(*) FILTER (WHERE status = 'pending')::int AS assets,
         coalesce(sum(estimated_calls) FILTER (WHERE status = 'pending'), 0)::int AS calls,
         count(*) FILTER (WHERE status = 'deferred')::int AS deferred
    FROM work_items WHERE execution_id = $1 AND operation <> 'price_update'
   GROUP BY operation ORDER BY operation`;

const SKIP_ALL_FOR_DRY_RUN = `
  UPDATE work_items SET status = 'skipped', error_message = 'dry run', updated_at = now()
   WHERE execution_id = $1 AND status = 'pending'`;

const REGIONS_WITH_WORK = `
  SELECT DISTINCT region FROM work_items
   WHERE execution_id = $1 AND status = 'pending'`;

/** How many of an exchange's price-update tickers are complete through each date. */
export interface ExchangeDemand {
  exchange: string;
  byThrough: Array<{ through: string; assets: number }>;
}

export async function priceDemand(q: Queryable, executionId: number): Promise<ExchangeDemand[]> {
  const rows = (
    await q.query<{ exchange: string; through: string | null; assets: number }>(PRICE_DEMAND, [executionId])
  ).rows;
  const by = new Map<string, ExchangeDemand>();
  for (const r of rows) {
    const d = by.get(r.exchange) ?? { exchange: r.exchange, byThrough: [] };
    d.byThrough.push({ through: r.through ?? '1900-01-01', assets: r.assets });
    by.set(r.exchange, d);
  }
  return [...by.values()];
}

/** Defers an exchange's price updates beyond the first `keep` (covered ones first, then the most recent). */
export async function deferPriceUpdates(
  q: Queryable,
  executionId: number,
  exchange: string,
  coversFrom: string | null,
  keep: number,
): Promise<void> {
  await q.query(DEFER_PRICE_UPDATES, [executionId, exchange, coversFrom, keep]);
}

/** Defers new assets' fundamentals beyond the day's cap. */
export async function capNewFundamentals(q: Queryable, executionId: number, cap: number): Promise<void> {
  await q.query(CAP_NEW_FUNDAMENTALS, [executionId, cap]);
}

/** Defers everything but price updates, in priority order, past `budget` calls. */
export async function deferOverBudget(q: Queryable, executionId: number, budget: number): Promise<void> {
  await q.query(DEFER_OVER_BUDGET, [executionId, budget]);
}

/** Per operation (price updates aside): what is still to do, its estimated calls, and what was deferred. */
export async function demandByOperation(
  q: Queryable,
  executionId: number,
): Promise<Array<{ operation: string; assets: number; calls: number; deferred: number }>> {
  return (await q.query(DEMAND_BY_OPERATION, [executionId])).rows;
}

/** A dry run: every pending item is skipped. */
export async function skipAllForDryRun(q: Queryable, executionId: number): Promise<void> {
  await q.query(SKIP_ALL_FOR_DRY_RUN, [executionId]);
}

/** The regions with collection work left. */
export async function regionsWithWork(q: Queryable, executionId: number): Promise<string[]> {
  return (await q.query<{ region: string }>(REGIONS_WITH_WORK, [executionId])).rows.map((r) => r.region);
}

// --- claims and leases ---------------------------------------------------------------------------

export interface ClaimedItem {
  id: number;
  asset_id: number;
  symbol: string;
  code: string;
  exchange: string;
  operation: CollectOperation;
  prices_first_date: string | null;
  prices_last_date: string | null;
  prices_checked_through: string | null;
  /** The currency the API quotes the listing in (the list's), for a whole history fetched now. */
  currency: string | null;
}

const CLAIMABLE = `((status = 'pending' AND (not_before IS NULL OR not_before <= now())) OR (status = 'claimed' AND lease_expires_at < now()))`;

const ITEM_COLUMNS = `w.id, w.asset_id, a.symbol, a.code, w.exchange, w.operation,
  s.prices_first_date, s.prices_last_date, s.prices_checked_through, a.currency`;

// The common end of both claims: lease the rows of \`batch\` and read what processing needs.
const CLAIM_BATCH = `, claimed AS (
    UPDATE work_items w SET status = 'claimed', lease_owner = $3, lease_expires_at = now() + make_interval(secs => $5::float8),
           updated_at = now()
      FROM batch WHERE w.id = batch.id
    RETURNING w.id, w.asset_id, w.exchange, w.operation
  )
  SELECT ${ITEM_COLUMNS} FROM claimed w JOIN assets a ON a.id = w.asset_id
    LEFT JOIN asset_processing_state s ON s.asset_id = w.asset_id
   ORDER BY w.id`;

// Price updates are claimed one exchange at a time, so that a claim matches one bulk answer.
const CLAIM_PRICE_UPDATES = `
  WITH pick AS (
    SELECT exchange FROM work_items
     WHERE execution_id = $1 AND region = $2 AND operation = 'price_update' AND ${CLAIMABLE}
     ORDER BY exchange, id LIMIT 1 FOR UPDATE SKIP LOCKED
  ), batch AS (
    SELECT w.id FROM work_items w, pick
     WHERE w.execution_id = $1 AND w.operation = 'price_update' AND w.exchange = pick.exchange AND ${CLAIMABLE.replace(/status|lease_expires_at|not_before/g, (m) => `w.${m}`)}
     ORDER BY w.id LIMIT $4 FOR UPDATE OF w SKIP LOCKED
  )${CLAIM_BATCH}`;

const CLAIM_OTHER_WORK = `
  WITH batch AS (
    SELECT id FROM work_items
     WHERE execution_id = $1 AND region = $2 AND operation <> 'price_update' AND ${CLAIMABLE}
     ORDER BY priority, id LIMIT $4 FOR UPDATE SKIP LOCKED
  )${CLAIM_BATCH}`;

/**
 * A batch of the region's items for one replica: price updates first (up to
 * batch.priceUpdates, of one exchange), else histories, fundamentals and corporate-action
 * refreshes in the plan's priority order (up to batch.other).
 */
export async function claimWork(
  q: Queryable,
  executionId: number,
  region: string,
  owner: string,
  batch: { priceUpdates: number; other: number },
  leaseSeconds: number,
): Promise<ClaimedItem[]> {
  const prices = await q.query<ClaimedItem>(CLAIM_PRICE_UPDATES, [
    executionId,
    region,
    owner,
    batch.priceUpdates,
    leaseSeconds,
  ]);
  if (prices.rows.length > 0) return prices.rows;
  return (await q.query<ClaimedItem>(CLAIM_OTHER_WORK, [executionId, region, owner, batch.other, leaseSeconds])).rows;
}

// Statements that change many items lock them in id order first: two of them over
// overlapping rows (a heartbeat and an ending batch) then queue instead of deadlocking.
const FINISH_ITEMS = `
  WITH locked AS (
    SELECT id FROM work_items WHERE id = ANY($1::bigint[]) AND status = 'claimed' AND lease_owner = $4 ORDER BY id FOR UPDATE
  )
  UPDATE work_items w SET status = $2, error_message = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
    FROM locked WHERE w.id = locked.id AND w.status = 'claimed' AND w.lease_owner = $4
  RETURNING w.id`;

/** Ends items this owner still holds; returns the ids it really ended (a lost lease ends none). */
export async function finishItems(
  q: Queryable,
  ids: number[],
  status: 'done' | 'failed' | 'skipped',
  error: string | null,
  owner: string,
): Promise<number[]> {
  if (ids.length === 0) return [];
  return (await q.query<{ id: number }>(FINISH_ITEMS, [ids, status, error, owner])).rows.map((r) => r.id);
}

// attempts counts the times a replica started an item (not claims: a batch claimed by a
// replica that died before reaching most of it says nothing about those items). An item
// started that many times without an outcome kills or stalls whoever takes it.
const START_ITEM = `
  UPDATE work_items SET attempts = attempts + 1, updated_at = now()
   WHERE id = $1 AND status = 'claimed' AND lease_owner = $2
  RETURNING attempts`;

/** Counts a start of the item; its starts so far, or null when this owner no longer holds it. */
export async function startItem(q: Queryable, id: number, owner: string): Promise<number | null> {
  const r = await q.query<{ attempts: number }>(START_ITEM, [id, owner]);
  return r.rows[0]?.attempts ?? null;
}

// Backoff lives here, where it is atomic with giving the lease up: delay x 2^(retry - 1).
const RETRY_ITEM_LATER = `
  UPDATE work_items SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, error_message = $3,
         not_before = now() + make_interval(secs => $4::float8 * power(2, greatest(0, $5::int - 1))), updated_at = now()
   WHERE id = $1 AND status = 'claimed' AND lease_owner = $2
  RETURNING not_before`;

/** Queues an item this owner holds again for its `retry`-th retry; false when the lease was lost. */
export async function retryItemLater(
  q: Queryable,
  id: number,
  owner: string,
  error: string,
  delaySeconds: number,
  retry: number,
): Promise<boolean> {
  return (await q.query(RETRY_ITEM_LATER, [id, owner, error, delaySeconds, retry])).rowCount === 1;
}

const RELEASE_ITEMS = `
  WITH locked AS (
    SELECT id FROM work_items WHERE id = ANY($1::bigint[]) AND status = 'claimed' AND lease_owner = $2 ORDER BY id FOR UPDATE
  )
  UPDATE work_items w SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
    FROM locked WHERE w.id = locked.id AND w.status = 'claimed' AND w.lease_owner = $2`;

/** Hands back claimed items this replica will not start (out of time). */
export async function releaseItems(q: Queryable, ids: number[], owner: string): Promise<void> {
  if (ids.length > 0) await q.query(RELEASE_ITEMS, [ids, owner]);
}

const EXTEND_LEASES = `
  WITH locked AS (
    SELECT id FROM work_items WHERE execution_id = $1 AND lease_owner = $2 AND status = 'claimed' ORDER BY id FOR UPDATE
  )
  UPDATE work_items w SET lease_expires_at = now() + make_interval(secs => $3::float8)
    FROM locked WHERE w.id = locked.id AND w.lease_owner = $2 AND w.status = 'claimed'`;

export async function extendLeases(
  q: Queryable,
  executionId: number,
  owner: string,
  leaseSeconds: number,
): Promise<void> {
  await q.query(EXTEND_LEASES, [executionId, owner, leaseSeconds]);
}

const DEFER_REGION = `
  UPDATE work_items SET status = 'deferred', error_message = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
   WHERE execution_id = $1 AND region = $2
     AND (status = 'pending' OR (status = 'claimed' AND lease_owner = $4))
  RETURNING asset_id, operation`;

/** Stops a region's collection (quota used up, key refused): what is left is deferred to the next run; the items deferred. */
export async function deferRegion(
  q: Queryable,
  executionId: number,
  region: string,
  reason: string,
  owner: string,
): Promise<Array<{ asset_id: number; operation: string }>> {
  return (await q.query<{ asset_id: number; operation: string }>(DEFER_REGION, [executionId, region, reason, owner]))
    .rows;
}

const REMAINING = `
  SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
         count(*) FILTER (WHERE status = 'pending' AND not_before > now())::int AS delayed,
         greatest(0, extract(epoch FROM min(not_before) FILTER (WHERE status = 'pending' AND not_before > now()) - now()))::float8 AS next_in_seconds,
         count(*) FILTER (WHERE status = 'claimed' AND lease_expires_at >= now())::int AS claimed_live,
         count(*) FILTER (WHERE status = 'claimed' AND lease_expires_at < now())::int AS claimed_expired
    FROM work_items WHERE execution_id = $1 AND region = $2`;

export interface RegionRemaining {
  /** Pending items, of which `delayed` wait for a retry, the first in next_in_seconds. */
  pending: number;
  delayed: number;
  next_in_seconds: number | null;
  claimed_live: number;
  claimed_expired: number;
}

export async function remainingInRegion(q: Queryable, executionId: number, region: string): Promise<RegionRemaining> {
  return (await q.query(REMAINING, [executionId, region])).rows[0];
}

const OPEN_ITEMS = `
  SELECT count(*)::int AS n FROM work_items
   WHERE execution_id = $1 AND status IN ('pending', 'claimed')`;

/** Collection items of the run that never ended (finalize reports them). */
export async function openItemCount(q: Queryable, executionId: number): Promise<number> {
  return (await q.query<{ n: number }>(OPEN_ITEMS, [executionId])).rows[0]!.n;
}

// The work items of runs that finished more than `days` ago (sql/014_retention.sql): a run's
// items are its plan and are read only while it runs and by its own summary.
const PRUNE_WORK_ITEMS = `DELETE FROM work_items w WHERE ${ofRunsFinishedBefore('w')}`;

/** Deletes the work items of runs that finished more than `days` ago; returns how many. */
export async function pruneOldWorkItems(q: Queryable, days: number): Promise<number> {
  return (await q.query(PRUNE_WORK_ITEMS, [days])).rowCount ?? 0;
}
