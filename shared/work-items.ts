/**
 * Work items: claimed with FOR UPDATE SKIP LOCKED and a lease, so replicas of
 * collect-region share a region without overlap and a dead replica's items go back to the
 * pool when its lease ends. Every write checks the lease is still ours.
 */
import type { Queryable } from './db.js';

export interface ClaimedItem {
  id: number;
  asset_id: number;
  symbol: string;
  code: string;
  exchange: string;
  operation: 'price_update' | 'adjustment_refresh' | 'history_load' | 'fundamentals_load' | 'bulk_load';
  prices_loaded: boolean;
  prices_first_date: string | null;
  prices_last_date: string | null;
  prices_checked_through: string | null;
  fundamentals_loaded: boolean;
  needs_prices_reprocess: boolean;
  needs_fundamentals_reprocess: boolean;
  /** The currency the API quotes the listing in (the list's), for a whole history fetched now. */
  currency: string | null;
}

const CLAIMABLE = `((status = 'pending' AND (not_before IS NULL OR not_before <= now())) OR (status = 'claimed' AND lease_expires_at < now()))`;

const ITEM_COLUMNS = `w.id, w.asset_id, a.symbol, a.code, w.exchange, w.operation,
  coalesce(s.prices_loaded, false) AS prices_loaded, s.prices_first_date, s.prices_last_date, s.prices_checked_through,
  coalesce(s.fundamentals_loaded, false) AS fundamentals_loaded,
  coalesce(s.needs_prices_reprocess, false) AS needs_prices_reprocess,
  coalesce(s.needs_fundamentals_reprocess, false) AS needs_fundamentals_reprocess, a.currency`;

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
     WHERE execution_id = $1 AND region = $2 AND operation NOT IN ('price_update', 'indicator_calc') AND ${CLAIMABLE}
     ORDER BY priority, id LIMIT $4 FOR UPDATE SKIP LOCKED
  )${CLAIM_BATCH}`;

export async function claimPriceUpdates(q: Queryable, executionId: number, region: string, owner: string, limit: number, leaseSeconds: number): Promise<ClaimedItem[]> {
  return (await q.query<ClaimedItem>(CLAIM_PRICE_UPDATES, [executionId, region, owner, limit, leaseSeconds])).rows;
}

/** Histories, fundamentals and corporate-action refreshes, in the plan's priority order. */
export async function claimOtherWork(q: Queryable, executionId: number, region: string, owner: string, limit: number, leaseSeconds: number): Promise<ClaimedItem[]> {
  return (await q.query<ClaimedItem>(CLAIM_OTHER_WORK, [executionId, region, owner, limit, leaseSeconds])).rows;
}

const FINISH_ITEMS = `
  UPDATE work_items SET status = $2, error_message = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
   WHERE id = ANY($1::bigint[]) AND status = 'claimed' AND lease_owner = $4
  RETURNING id`;

/** Ends items this owner still holds; returns the ids it really ended (a lost lease ends none). */
export async function finishItems(q: Queryable, ids: number[], status: 'done' | 'failed' | 'skipped', error: string | null, owner: string): Promise<number[]> {
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
export async function retryItemLater(q: Queryable, id: number, owner: string, error: string, delaySeconds: number, retry: number): Promise<boolean> {
  return (await q.query(RETRY_ITEM_LATER, [id, owner, error, delaySeconds, retry])).rowCount === 1;
}

const RELEASE_ITEMS = `
  UPDATE work_items SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
   WHERE id = ANY($1::bigint[]) AND status = 'claimed' AND lease_owner = $2`;

/** Hands back claimed items this replica will not start (out of time). */
export async function releaseItems(q: Queryable, ids: number[], owner: string): Promise<void> {
  if (ids.length > 0) await q.query(RELEASE_ITEMS, [ids, owner]);
}

const EXTEND_LEASES = `
  UPDATE work_items SET lease_expires_at = now() + make_interval(secs => $3::float8)
   WHERE execution_id = $1 AND lease_owner = $2 AND status = 'claimed'`;

export async function extendLeases(q: Queryable, executionId: number, owner: string, leaseSeconds: number): Promise<void> {
  await q.query(EXTEND_LEASES, [executionId, owner, leaseSeconds]);
}

const DEFER_REGION = `
  WITH d AS (
    UPDATE work_items SET status = 'deferred', error_message = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE execution_id = $1 AND region = $2 AND operation <> 'indicator_calc'
       AND (status = 'pending' OR (status = 'claimed' AND lease_owner = $4))
    RETURNING execution_id, asset_id, operation
  )
  INSERT INTO asset_processing_details (execution_id, asset_id, operation, status, error_message)
  SELECT execution_id, asset_id, operation, 'skipped', $3 FROM d`;

/** Stops a region's collection (quota used up, key refused): what is left is deferred to the next run. */
export async function deferRegion(q: Queryable, executionId: number, region: string, reason: string, owner: string): Promise<void> {
  await q.query(DEFER_REGION, [executionId, region, reason, owner]);
}

const REMAINING = `
  SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
         count(*) FILTER (WHERE status = 'pending' AND not_before > now())::int AS delayed,
         greatest(0, extract(epoch FROM min(not_before) FILTER (WHERE status = 'pending' AND not_before > now()) - now()))::float8 AS next_in_seconds,
         count(*) FILTER (WHERE status = 'claimed' AND lease_expires_at >= now())::int AS claimed_live,
         count(*) FILTER (WHERE status = 'claimed' AND lease_expires_at < now())::int AS claimed_expired
    FROM work_items WHERE execution_id = $1 AND region = $2 AND operation <> 'indicator_calc'`;

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

// Fan-in: the region's step flips to done once (a duplicate finds it done and changes
// nothing) and the same statement counts the run's pending regions down; the caller that
// sees 0 is the last region, and only it invokes finalize.
const REGION_DONE = `
  WITH flipped AS (
    UPDATE pipeline_steps SET status = 'done', result = $3, finished_at = now(), updated_at = now(), lease_expires_at = NULL
     WHERE execution_id = $1 AND step = 'collect-region' AND shard = $2 AND status <> 'done'
    RETURNING execution_id
  ), counted AS (
    UPDATE process_executions e SET regions_pending = e.regions_pending - 1, last_progress_at = now()
      FROM flipped WHERE e.execution_id = flipped.execution_id
    RETURNING e.regions_pending
  ), fin AS (
    INSERT INTO pipeline_steps (execution_id, step, shard)
    SELECT $1, 'finalize', '' FROM counted WHERE regions_pending = 0
    ON CONFLICT DO NOTHING
  )
  SELECT (SELECT count(*) FROM flipped)::int AS flipped, (SELECT regions_pending FROM counted) AS regions_pending`;

export async function markRegionDone(q: Queryable, executionId: number, region: string, result: unknown): Promise<{ flipped: boolean; last: boolean }> {
  const r = (await q.query<{ flipped: number; regions_pending: number | null }>(REGION_DONE, [executionId, region, JSON.stringify(result)])).rows[0]!;
  return { flipped: r.flipped === 1, last: r.regions_pending === 0 };
}

const BULK_ROWS_INSERT = `
  INSERT INTO bulk_eod_rows (execution_id, exchange, code, date, open, high, low, close, adjusted_close, volume)
  SELECT $1, $2, * FROM unnest($3::text[], $4::date[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::float8[])
  ON CONFLICT (execution_id, exchange, code, date) DO NOTHING`;

export async function storeBulkRows(q: Queryable, executionId: number, exchange: string, rows: Array<{ code: string; date: string; open: number; high: number; low: number; close: number; adjusted_close: number; volume: number }>): Promise<void> {
  if (rows.length === 0) return;
  await q.query(BULK_ROWS_INSERT, [executionId, exchange, rows.map((r) => r.code), rows.map((r) => r.date), rows.map((r) => r.open),
    rows.map((r) => r.high), rows.map((r) => r.low), rows.map((r) => r.close), rows.map((r) => r.adjusted_close), rows.map((r) => r.volume)]);
}

const BULK_ROWS_FOR = `
  SELECT code, date, open, high, low, close, adjusted_close, volume FROM bulk_eod_rows
   WHERE execution_id = $1 AND exchange = $2 AND code = ANY($3::text[])`;

export async function bulkRowsFor(q: Queryable, executionId: number, exchange: string, codes: string[]) {
  return (await q.query<{ code: string; date: string; open: number; high: number; low: number; close: number; adjusted_close: number; volume: number }>(BULK_ROWS_FOR, [executionId, exchange, codes])).rows;
}
