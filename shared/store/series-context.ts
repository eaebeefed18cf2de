/**
 * What the quality checks need to know of an asset beside its bars (reads only): its
 * exchange and symbol, the days of its splits and dividends, the days its quote currency
 * changed, and its latest market cap and shares outstanding in the major unit of the
 * currency its prices are quoted in (a GBX listing's close is in pence: per_major 100).
 */
import type { Queryable } from '../platform/db.js';

const CONTEXT = `
  SELECT a.id AS asset_id, a.symbol, a.exchange,
         coalesce((SELECT array_agg(DISTINCT c.date::text) FROM corporate_actions c WHERE c.symbol = a.symbol), '{}') AS action_days,
         coalesce((SELECT array_agg(x.seen_on::text ORDER BY x.seen_on) FROM asset_currency_changes x WHERE x.asset_id = a.id), '{}') AS switch_days,
         f.market_cap, f.shares_outstanding,
         coalesce(pu.major, coalesce(s.prices_currency, a.currency)) = coalesce(fu.major, f.currency) AS same_currency,
         coalesce(pu.per_major, 1) AS per_major
    FROM assets a
    LEFT JOIN asset_processing_state s ON s.asset_id = a.id
    LEFT JOIN currency_units pu ON pu.code = coalesce(s.prices_currency, a.currency)
    LEFT JOIN fundamentals f ON f.asset_id = a.id
    LEFT JOIN currency_units fu ON fu.code = f.currency
   WHERE a.id = ANY($1::bigint[])`;

export interface AssetContext {
  asset_id: number;
  symbol: string;
  exchange: string;
  action_days: string[];
  switch_days: string[];
  market_cap: number | null;
  shares_outstanding: number | null;
  same_currency: boolean | null;
  per_major: number;
}

export async function seriesContextOf(q: Queryable, assetIds: number[]): Promise<Map<number, AssetContext>> {
  const rows = (await q.query<AssetContext & { asset_id: string }>(CONTEXT, [assetIds])).rows;
  return new Map(rows.map((r) => [Number(r.asset_id), { ...r, asset_id: Number(r.asset_id) }]));
}

const PRICED_ASSETS = `
  SELECT a.id AS asset_id, a.code, a.symbol, s.prices_first_date::text AS first_date
    FROM assets a JOIN asset_processing_state s ON s.asset_id = a.id
   WHERE a.exchange = $1 AND a.is_active AND s.prices_loaded
     AND ($2::text[] IS NULL OR a.symbol = ANY($2::text[]))
   ORDER BY a.id`;

export interface PricedAsset {
  asset_id: number;
  code: string;
  symbol: string;
  first_date: string | null;
}

/** The active assets of an exchange with stored prices (of these symbols, when given): what a re-read compares. */
export async function pricedAssetsOf(q: Queryable, exchange: string, symbols: string[] | null): Promise<PricedAsset[]> {
  return (await q.query<PricedAsset & { asset_id: string }>(PRICED_ASSETS, [exchange, symbols])).rows.map((r) => ({
    ...r,
    asset_id: Number(r.asset_id),
  }));
}

const ASSET_ID = `SELECT id FROM assets WHERE symbol = $1`;

export async function assetIdOf(q: Queryable, symbol: string): Promise<number | null> {
  const r = (await q.query<{ id: string }>(ASSET_ID, [symbol])).rows[0];
  return r ? Number(r.id) : null;
}
