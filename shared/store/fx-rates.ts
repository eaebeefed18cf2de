/**
 * fx_rates: every write to it is here. Daily closes of the pairs {currency}{quote}.FOREX
 * (units of quote per unit of currency); v_fx_rates and fx_rate(currency, day) read them
 * in the reporting currency (sql/024_benchmarks_and_fx.sql).
 */
import type { EodBar } from '../eodhd/schemas.js';
import type { Queryable } from '../platform/db.js';
import { rowsWritten } from '../platform/metrics.js';

// A re-sent bar equal to the stored one is not rewritten.
const UPSERT_RATES = `
  INSERT INTO fx_rates AS r (currency, quote, date, open, high, low, close)
  SELECT $1, $2, u.date, u.open, u.high, u.low, u.close
    FROM unnest($3::date[], $4::float8[], $5::float8[], $6::float8[], $7::float8[]) AS u(date, open, high, low, close)
   WHERE u.close > 0
  ON CONFLICT (currency, quote, date) DO UPDATE SET
    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, fetched_at = now()
  WHERE (r.open, r.high, r.low, r.close) IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close)`;

/** Upserts a pair's daily bars (a close of 0 or less is no rate and is left out); rows written. */
export async function upsertFxRates(q: Queryable, currency: string, quote: string, bars: EodBar[]): Promise<number> {
  if (bars.length === 0) return 0;
  const r = await q.query(UPSERT_RATES, [
    currency,
    quote,
    bars.map((b) => b.date),
    bars.map((b) => b.open),
    bars.map((b) => b.high),
    bars.map((b) => b.low),
    bars.map((b) => b.close),
  ]);
  rowsWritten.inc({ table: 'fx_rates' }, r.rowCount ?? 0);
  return r.rowCount ?? 0;
}

const LAST_RATES = `
  SELECT c AS currency, (SELECT max(date) FROM fx_rates r WHERE r.currency = c AND r.quote = $2)::text AS last
    FROM unnest($1::text[]) AS c`;

/** The last stored day of each currency against `quote` (null: never stored). */
export async function lastFxRates(
  q: Queryable,
  currencies: string[],
  quote: string,
): Promise<Map<string, string | null>> {
  const rows = (await q.query<{ currency: string; last: string | null }>(LAST_RATES, [currencies, quote])).rows;
  return new Map(rows.map((r) => [r.currency, r.last]));
}

// Minor units (GBX) count as their major (GBP): one pair serves both.
const CURRENCIES_IN_USE = `
  SELECT DISTINCT coalesce(u.major, a.currency) AS currency
    FROM assets a LEFT JOIN currency_units u ON u.code = a.currency
   WHERE a.is_active AND a.source <> 'benchmark' AND a.currency IS NOT NULL
     AND ($1::text[] IS NULL OR a.exchange = ANY($1::text[]))
     AND ($2::text[] IS NULL OR a.symbol = ANY($2::text[]))
   ORDER BY 1`;

/** The major currencies the active listings of these exchanges or symbols (null: all) quote in. */
export async function currenciesInUse(
  q: Queryable,
  exchanges: string[] | null,
  symbols: string[] | null,
): Promise<string[]> {
  return (await q.query<{ currency: string }>(CURRENCIES_IN_USE, [exchanges, symbols])).rows.map((r) => r.currency);
}
