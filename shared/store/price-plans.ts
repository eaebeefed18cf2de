/**
 * price_plans: every write to the table is here. The bulk days check-quota chose for each
 * exchange of a run, and from which day a ticker is covered by them, and the published
 * sessions it reads again for late corrections; collect-region reads them back (its
 * replicas fetch each bulk day, and each re-read, once).
 */
import type { Queryable } from '../platform/db.js';

export interface PricePlan {
  exchange: string;
  /** Days fetched with the bulk endpoint, one request each. */
  bulkDates: string[];
  /** Tickers complete through this day or later are covered by the bulk days. */
  coversFrom: string | null;
  /** What the exchange's price updates were estimated to cost. */
  calls: number;
  /** Published sessions read again for late corrections, and how (one bulk answer a day, or one call a ticker for them all). */
  recheckDates?: string[];
  recheckMethod?: 'bulk' | 'ticker' | null;
}

const STORE_PRICE_PLAN = `
  INSERT INTO price_plans (execution_id, exchange, bulk_dates, covers_from, estimated_calls, recheck_dates, recheck_method)
  VALUES ($1, $2, $3::date[], $4, $5, $6::date[], $7)
  ON CONFLICT (execution_id, exchange) DO NOTHING`;

/** Records an exchange's plan for a run (a repeated check-quota changes nothing). */
export async function storePricePlan(q: Queryable, executionId: number, p: PricePlan): Promise<void> {
  await q.query(STORE_PRICE_PLAN, [
    executionId,
    p.exchange,
    p.bulkDates,
    p.coversFrom,
    p.calls,
    p.recheckDates ?? [],
    p.recheckMethod ?? null,
  ]);
}

const STORE_RECHECK_PLAN = `
  INSERT INTO price_plans AS p (execution_id, exchange, bulk_dates, covers_from, estimated_calls, recheck_dates, recheck_method)
  VALUES ($1, $2, '{}', NULL, 0, $3::date[], $4)
  ON CONFLICT (execution_id, exchange) DO UPDATE SET recheck_dates = EXCLUDED.recheck_dates, recheck_method = EXCLUDED.recheck_method
   WHERE p.recheck_method IS NULL`;

/** Records an exchange's re-reads for a run, beside its bulk days (a repeated check-quota changes nothing). */
export async function storeRecheckPlan(
  q: Queryable,
  executionId: number,
  exchange: string,
  dates: string[],
  method: 'bulk' | 'ticker',
): Promise<void> {
  await q.query(STORE_RECHECK_PLAN, [executionId, exchange, dates, method]);
}

const RECHECK_PLANS = `
  SELECT exchange, recheck_dates::text[] AS dates, recheck_method AS method FROM price_plans
   WHERE execution_id = $1 AND exchange = ANY($2::text[]) AND recheck_method IS NOT NULL
   ORDER BY exchange`;

/** The re-reads planned for these exchanges in a run. */
export async function recheckPlansOf(
  q: Queryable,
  executionId: number,
  exchanges: readonly string[],
): Promise<Array<{ exchange: string; dates: string[]; method: 'bulk' | 'ticker' }>> {
  return (
    await q.query<{ exchange: string; dates: string[]; method: 'bulk' | 'ticker' }>(RECHECK_PLANS, [
      executionId,
      exchanges,
    ])
  ).rows;
}

const PRICE_PLAN = `
  SELECT bulk_dates::text[] AS bulk_dates, covers_from::text AS covers_from FROM price_plans
   WHERE execution_id = $1 AND exchange = $2`;

/** An exchange's bulk days in a run, and from which day they cover a ticker; null without a plan. */
export async function pricePlanOf(
  q: Queryable,
  executionId: number,
  exchange: string,
): Promise<{ bulkDates: string[]; coversFrom: string } | null> {
  const r = (await q.query<{ bulk_dates: string[]; covers_from: string | null }>(PRICE_PLAN, [executionId, exchange]))
    .rows[0];
  return r && r.covers_from !== null && r.bulk_dates.length > 0
    ? { bulkDates: r.bulk_dates, coversFrom: r.covers_from }
    : null;
}
