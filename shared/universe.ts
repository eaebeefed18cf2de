/**
 * Keeps `assets` equal to what the exchanges list: new listings added, vanished ones made
 * inactive, returning ones made active again. One exchange-symbol-list call per exchange.
 */
import type pg from 'pg';
import { EodhdError, type EodhdClient } from './eodhd.js';
import type { SymbolListItem } from './eodhd-schemas.js';
import { REGION_OF, VENUE_OF, type ExchangeCode } from './exchanges.js';
import { log } from './log.js';

export interface ExchangeSync {
  exchange: ExchangeCode;
  listed: number;
  added: number;
  reactivated: number;
  deactivated: number;
  error?: string;
}

/** EODHD writes a class-share dot as a dash in symbols (BRK.B is BRK-B.US). */
export function normaliseCode(code: string): string {
  return code.trim().toUpperCase().replace(/\./g, '-');
}

const UPSERT_ASSETS = `
  WITH listed AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
      AS l(code, venue, name, type, currency, isin, country, symbol)
  ), up AS (
    INSERT INTO assets (symbol, code, exchange, venue, region, name, type, currency, isin, country, first_seen, last_seen)
    SELECT l.symbol, l.code, $9, l.venue, $10, l.name, l.type, l.currency, l.isin, l.country, $11, $11 FROM listed l
    ON CONFLICT (symbol) DO UPDATE SET
      venue = EXCLUDED.venue, name = coalesce(EXCLUDED.name, assets.name), type = coalesce(EXCLUDED.type, assets.type),
      currency = coalesce(EXCLUDED.currency, assets.currency), isin = coalesce(EXCLUDED.isin, assets.isin),
      country = coalesce(EXCLUDED.country, assets.country), last_seen = greatest(assets.last_seen, EXCLUDED.last_seen),
      is_active = true,
      updated_at = CASE WHEN assets.is_active THEN assets.updated_at ELSE now() END
    RETURNING id, (xmax = 0) AS inserted, (xmax <> 0 AND NOT (SELECT a.is_active FROM assets a WHERE a.id = assets.id)) AS was_inactive
  ), st AS (
    INSERT INTO asset_processing_state (asset_id) SELECT id FROM up WHERE inserted
    ON CONFLICT (asset_id) DO NOTHING
  )
  SELECT count(*) FILTER (WHERE inserted)::int AS added, count(*) FILTER (WHERE was_inactive)::int AS reactivated FROM up`;

const DEACTIVATE_VANISHED = `
  UPDATE assets SET is_active = false, updated_at = now()
   WHERE exchange = $1 AND is_active AND NOT (symbol = ANY($2::text[]))
  RETURNING id`;

const ACTIVE_COUNT = `SELECT count(*)::int AS n FROM assets WHERE exchange = $1 AND is_active`;

/**
 * Syncs one exchange. A list that failed to arrive, or that is less than half of what is
 * stored (a truncated answer), deactivates nothing: losing the universe is worse than
 * keeping a delisted ticker one more day.
 */
export async function syncExchange(pool: pg.Pool, api: EodhdClient, exchange: ExchangeCode, usVenues: string[], today: string): Promise<ExchangeSync> {
  let items: SymbolListItem[];
  try {
    items = (await api.exchangeSymbols(exchange)).rows;
  } catch (err) {
    if (err instanceof EodhdError && (err.kind === 'quota' || err.kind === 'auth')) throw err;
    const message = err instanceof Error ? err.message : String(err);
    log('warn', 'universe_sync_failed', { exchange, error: message });
    return { exchange, listed: 0, added: 0, reactivated: 0, deactivated: 0, error: message };
  }
  const venues = new Set(usVenues.map((v) => v.toUpperCase()));
  const seen = new Map<string, SymbolListItem>();
  for (const it of items) {
    if (exchange === 'US' && !venues.has((it.Exchange ?? '').toUpperCase())) continue;
    const code = normaliseCode(it.Code);
    if (!code) continue;
    seen.set(`${code}.${exchange}`, it);
  }
  const symbols = [...seen.keys()];
  const col = (f: (it: SymbolListItem) => string | null | undefined) => [...seen.values()].map((it) => f(it) ?? null);
  const { rows } = await pool.query<{ added: number; reactivated: number }>(UPSERT_ASSETS, [
    symbols.map((s) => s.slice(0, s.lastIndexOf('.'))),
    col((it) => (exchange === 'US' ? (it.Exchange ?? 'US').toUpperCase() : VENUE_OF[exchange])),
    col((it) => it.Name), col((it) => it.Type), col((it) => it.Currency), col((it) => it.Isin), col((it) => it.Country),
    symbols, exchange, REGION_OF[exchange], today,
  ]);
  const active = (await pool.query<{ n: number }>(ACTIVE_COUNT, [exchange])).rows[0]!.n;
  let deactivated = 0;
  if (symbols.length >= active * 0.5 || active < 20) {
    deactivated = (await pool.query(DEACTIVATE_VANISHED, [exchange, symbols])).rowCount ?? 0;
  } else {
    log('warn', 'universe_shrink_refused', { exchange, listed: symbols.length, active });
  }
  return { exchange, listed: symbols.length, added: rows[0]!.added, reactivated: rows[0]!.reactivated, deactivated };
}
