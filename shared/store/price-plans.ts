/**
 * price_plans: every write to the table is here. The bulk days check-quota chose for each
 * exchange of a run, and from which day a ticker is covered by them; collect-region reads
 * them back (its replicas fetch each bulk day once).
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
}

const STORE_PRICE_PLAN = `
  INSERT INTO price_plans (execution_id, exchange, bulk_dates, covers_from, estimated_calls) VALUES ($1, $2, $3::date[], $4, $5)
  ON CONFLICT (execution_id, exchange) DO NOTHING`;

/** Records an exchange's plan for a run (a repeated check-quota changes nothing). */
export async function storePricePlan(q: Queryable, executionId: number, p: PricePlan): Promise<void> {
  await q.query(STORE_PRICE_PLAN, [executionId, p.exchange, p.bulkDates, p.coversFrom, p.calls]);
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
  const r = (await q.query<{ bulk_dates: string[]; covers_from: string }>(PRICE_PLAN, [executionId, exchange])).rows[0];
  return r ? { bulkDates: r.bulk_dates, coversFrom: r.covers_from } : null;
}
