/**
 * assets (and asset_currency_changes, exchange_list_reads, delisted_list_reads): every write to them is here. Keeps `assets` equal
 * to what the exchanges list: new listings added, vanished ones made
 * inactive and dated (delisted_on), returning ones made active again (and asked again for what EODHD did not
 * have). One exchange-symbol-list call per exchange. A listing whose quote currency
 * changed (GBX <-> GBP) has its whole history fetched again, in the new currency. Monthly,
 * EODHD's delisted list of an exchange adds the names delisted before the pipeline saw them
 * (source 'delisted_list', never active) and confirms the delistings it saw.
 */
import type pg from 'pg';
import { EXCHANGE_CURRENCY, type ExchangeCode, REGION_OF, VENUE_OF } from '../domain/exchanges.js';
import { type EodhdClient, EodhdError } from '../eodhd/client.js';
import type { SymbolListItem } from '../eodhd/schemas.js';
import type { Queryable } from '../platform/db.js';
import { errorText, log } from '../platform/log.js';
import { ensureStates, flagCurrencyRefresh, forgetNotFound } from './asset-state.js';

export interface ExchangeSync {
  exchange: ExchangeCode;
  listed: number;
  added: number;
  reactivated: number;
  deactivated: number;
  /** Listings whose quote currency changed since the last sync. */
  currencyChanged: number;
  error?: string;
}

/** EODHD writes a class-share dot as a dash in symbols (BRK.B is BRK-B.US). */
export function normaliseCode(code: string): string {
  return code.trim().toUpperCase().replace(/\./g, '-');
}

// One statement compares the list with what is stored and writes only the difference: new
// listings, returning ones, and listings whose venue, name, type, currency, ISIN or country
// changed. Rewriting all 21,800 rows each day (a new row version and five index entries
// each) was most of a normal day's sync, and ON CONFLICT locks every row it meets even when
// its WHERE then writes nothing, so unchanged rows do not reach the INSERT at all.
// Currency changes are read from the same comparison, before the write (a data-modifying
// CTE sees the rows as they were): the stored series is in the old currency, so the whole
// history is fetched again (an adjustment refresh) in the new one.
const SYNC_LIST = `
  WITH listed AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
      AS l(code, venue, name, type, currency, isin, country, symbol)
  ), diff AS (
    SELECT l.*, a.id AS stored_id, a.is_active AS was_active, a.currency AS stored_currency,
           a.id IS NULL OR NOT a.is_active OR a.source <> 'list'
             OR (a.venue, a.name, a.type, a.currency, a.isin, a.country) IS DISTINCT FROM
                (l.venue, coalesce(l.name, a.name), coalesce(l.type, a.type), coalesce(l.currency, a.currency),
                 coalesce(l.isin, a.isin), coalesce(l.country, a.country)) AS news
      FROM listed l LEFT JOIN assets a ON a.symbol = l.symbol
  ), currency_changed AS (
    SELECT stored_id AS id, stored_currency AS old, currency AS new FROM diff
     WHERE stored_id IS NOT NULL AND currency IS NOT NULL AND stored_currency IS NOT NULL AND stored_currency <> currency
  ), logged AS (
    INSERT INTO asset_currency_changes (asset_id, seen_on, from_currency, to_currency)
    SELECT id, $11, old, new FROM currency_changed ON CONFLICT DO NOTHING
  ), up AS (
    INSERT INTO assets AS a (symbol, code, exchange, venue, region, name, type, currency, isin, country, first_seen, last_seen, listed_from)
    SELECT d.symbol, d.code, $9, d.venue, $10, d.name, d.type, d.currency, d.isin, d.country, $11, $11, $11 FROM diff d WHERE d.news
    ON CONFLICT (symbol) DO UPDATE SET
      venue = EXCLUDED.venue, name = coalesce(EXCLUDED.name, a.name), type = coalesce(EXCLUDED.type, a.type),
      currency = coalesce(EXCLUDED.currency, a.currency), isin = coalesce(EXCLUDED.isin, a.isin),
      country = coalesce(EXCLUDED.country, a.country), last_seen = greatest(a.last_seen, EXCLUDED.last_seen),
      is_active = true, source = 'list', listed_from = coalesce(a.listed_from, EXCLUDED.listed_from),
      delisted_on = NULL, delisted_source = NULL, delisted_confirmed_on = NULL,
      updated_at = CASE WHEN a.is_active THEN a.updated_at ELSE now() END
    RETURNING a.id, (xmax = 0) AS inserted
  )
  SELECT 'written' AS kind, up.id, up.inserted, (NOT up.inserted AND d.was_active IS FALSE) AS was_inactive, NULL AS old, NULL AS new
    FROM up LEFT JOIN diff d ON d.stored_id = up.id
  UNION ALL
  SELECT 'currency', id, NULL, NULL, old, new FROM currency_changed`;

// NOT IN over a subquery is a hashed anti-join; NOT (symbol = ANY(array)) compared every
// active symbol with the whole list (10,000 x 10,000 for Frankfurt: 2.5 s, now 10 ms).
// A vanished listing was last seen by the read before this one (when there was one), and
// is delisted from the day after: the earliest day it may have left the list.
const DEACTIVATE_VANISHED = `
  UPDATE assets a SET is_active = false, updated_at = now(), last_seen = v.last_seen,
         delisted_on = v.last_seen + 1, delisted_source = 'vanished'
    FROM (SELECT greatest(x.last_seen, coalesce((SELECT r.read_on FROM exchange_list_reads r WHERE r.exchange = $1), x.last_seen)) AS last_seen, x.id
            FROM assets x WHERE x.exchange = $1 AND x.is_active AND x.source = 'list' AND x.symbol NOT IN (SELECT unnest($2::text[]))) v
   WHERE a.id = v.id
  RETURNING a.id`;

const RECORD_READ = `
  INSERT INTO exchange_list_reads (exchange, read_on, listed) VALUES ($1, $2, $3)
  ON CONFLICT (exchange) DO UPDATE SET read_on = greatest(exchange_list_reads.read_on, EXCLUDED.read_on), listed = EXCLUDED.listed`;

const ACTIVE_COUNT = `SELECT count(*)::int AS n FROM assets WHERE exchange = $1 AND is_active`;

/**
 * A symbol list's rows this pipeline takes (US: only the venues of `usVenues`), by symbol,
 * and the SQL parameters both list statements share: codes, venues, names, types,
 * currencies, ISINs, countries, symbols, the exchange, its region and the day.
 */
function listRows(
  items: SymbolListItem[],
  exchange: ExchangeCode,
  usVenues: string[],
  today: string,
  keep: (it: SymbolListItem) => boolean = () => true,
): { symbols: string[]; params: unknown[] } {
  const venues = new Set(usVenues.map((v) => v.toUpperCase()));
  const seen = new Map<string, SymbolListItem>();
  for (const it of items) {
    if (!keep(it)) continue;
    if (exchange === 'US' && !venues.has((it.Exchange ?? '').toUpperCase())) continue;
    const code = normaliseCode(it.Code);
    if (!code) continue;
    seen.set(`${code}.${exchange}`, it);
  }
  const symbols = [...seen.keys()];
  const col = (f: (it: SymbolListItem) => string | null | undefined) => [...seen.values()].map((it) => f(it) ?? null);
  return {
    symbols,
    params: [
      symbols.map((s) => s.slice(0, s.lastIndexOf('.'))),
      col((it) => (exchange === 'US' ? (it.Exchange ?? 'US').toUpperCase() : VENUE_OF[exchange])),
      col((it) => it.Name),
      col((it) => it.Type),
      col((it) => it.Currency),
      col((it) => it.Isin),
      col((it) => it.Country),
      symbols,
      exchange,
      REGION_OF[exchange],
      today,
    ],
  };
}

/**
 * Syncs one exchange. A list that failed to arrive, or that is less than half of what is
 * stored (a truncated answer), deactivates nothing: losing the universe is worse than
 * keeping a delisted ticker one more day.
 */
export async function syncExchange(
  pool: pg.Pool,
  api: EodhdClient,
  exchange: ExchangeCode,
  usVenues: string[],
  today: string,
): Promise<ExchangeSync> {
  let items: SymbolListItem[];
  try {
    items = (await api.exchangeSymbols(exchange)).rows;
  } catch (err) {
    if (err instanceof EodhdError && (err.kind === 'quota' || err.kind === 'auth')) throw err;
    const message = errorText(err);
    log('warn', 'universe_sync_failed', { exchange, error: message });
    return { exchange, listed: 0, added: 0, reactivated: 0, deactivated: 0, currencyChanged: 0, error: message };
  }
  const { symbols, params } = listRows(items, exchange, usVenues, today);
  const rows = (
    await pool.query<{
      kind: 'written' | 'currency';
      id: number;
      inserted: boolean | null;
      was_inactive: boolean | null;
      old: string | null;
      new: string | null;
    }>(SYNC_LIST, params)
  ).rows;
  const changes = rows.filter((r) => r.kind === 'currency');
  await flagCurrencyRefresh(
    pool,
    changes.map((c) => c.id),
  );
  if (changes.length > 0)
    log('info', 'currency_changed', {
      exchange,
      listings: changes.length,
      first: changes.slice(0, 5).map((c) => `${c.old}->${c.new}`),
    });
  const upserted = rows.filter((r) => r.kind === 'written');
  const added = upserted.filter((r) => r.inserted).map((r) => r.id);
  const back = upserted.filter((r) => r.was_inactive).map((r) => r.id);
  // A name known only from a delisted list has no state yet: it gets one when it is listed.
  await ensureStates(pool, [...added, ...back]);
  // Back in its exchange's list: ask EODHD again for what it did not have.
  await forgetNotFound(pool, back);
  const active = (await pool.query<{ n: number }>(ACTIVE_COUNT, [exchange])).rows[0]!.n;
  let deactivated = 0;
  if (symbols.length >= active * 0.5 || active < 20) {
    deactivated = (await pool.query(DEACTIVATE_VANISHED, [exchange, symbols])).rowCount ?? 0;
    // Only a trusted read counts as one: after a refused shrink the list is read again.
    await pool.query(RECORD_READ, [exchange, today, symbols.length]);
  } else {
    log('warn', 'universe_shrink_refused', { exchange, listed: symbols.length, active });
  }
  return {
    exchange,
    listed: symbols.length,
    added: added.length,
    reactivated: back.length,
    deactivated,
    currencyChanged: changes.length,
  };
}

// --- the universe as it was -------------------------------------------------------------------

export interface DelistedListRead {
  exchange: ExchangeCode;
  /** Names EODHD's delisted list gave (of the exchange's venues, for the US). */
  listed: number;
  /** Names the pipeline did not know: recorded as source 'delisted_list', never active. */
  added: number;
  /** Listings the pipeline saw vanish, now confirmed delisted by EODHD. */
  confirmed: number;
  /** Names the delisted list gives that the exchange's own list still gives (the live list wins). */
  stillListed: number;
}

// Due: never read, or read refreshDays ago or more.
const DELISTED_DUE = `
  SELECT e AS exchange FROM unnest($1::text[]) e
   WHERE NOT EXISTS (SELECT 1 FROM delisted_list_reads r WHERE r.exchange = e AND r.read_on > $2::date - $3::int)
   ORDER BY e`;

/** The exchanges whose delisted list is due: never read, or read `refreshDays` ago or more (0: never due). */
export async function delistedListsDue(
  q: Queryable,
  exchanges: ExchangeCode[],
  today: string,
  refreshDays: number,
): Promise<ExchangeCode[]> {
  if (refreshDays <= 0 || exchanges.length === 0) return [];
  return (await q.query<{ exchange: ExchangeCode }>(DELISTED_DUE, [exchanges, today, refreshDays])).rows.map(
    (r) => r.exchange,
  );
}

const ACTIVE_IN = `SELECT count(*)::int AS n FROM assets WHERE is_active AND exchange = ANY($1::text[])`;

/** Active assets of these exchanges: at most one price call each, what the day keeps for prices first. */
export async function activeAssets(q: Queryable, exchanges: ExchangeCode[]): Promise<number> {
  return (await q.query<{ n: number }>(ACTIVE_IN, [exchanges])).rows[0]!.n;
}

// One statement: names not known become delisted_list assets (inactive, no state row: never
// planned, never counted as listed); vanished ones are confirmed, once; a name the
// exchange's own list still gives is left alone (the live list wins, it is read daily).
// The delisted list carries no date: a name it adds has none (no day's universe has it).
const RECORD_DELISTED = `
  WITH listed AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
      AS l(code, venue, name, type, currency, isin, country, symbol)
  ), confirmed AS (
    UPDATE assets a SET delisted_confirmed_on = $11, delisted_source = coalesce(a.delisted_source, 'delisted_list'),
           updated_at = now()
      FROM listed l
     WHERE a.symbol = l.symbol AND NOT a.is_active AND a.delisted_confirmed_on IS NULL
    RETURNING a.id
  ), added AS (
    INSERT INTO assets (symbol, code, exchange, venue, region, name, type, currency, isin, country, first_seen, last_seen,
                        source, is_active, delisted_source, delisted_confirmed_on)
    SELECT l.symbol, l.code, $9, l.venue, $10, l.name, l.type, l.currency, l.isin, l.country, $11, $11,
           'delisted_list', false, 'delisted_list', $11
      FROM listed l
    ON CONFLICT (symbol) DO NOTHING
    RETURNING id
  )
  SELECT (SELECT count(*) FROM added)::int AS added, (SELECT count(*) FROM confirmed)::int AS confirmed,
         (SELECT count(*) FROM listed l JOIN assets a ON a.symbol = l.symbol WHERE a.is_active)::int AS still_listed`;

const RECORD_DELISTED_READ = `
  INSERT INTO delisted_list_reads (exchange, read_on, listed, added, confirmed) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (exchange) DO UPDATE SET read_on = greatest(delisted_list_reads.read_on, EXCLUDED.read_on),
    listed = EXCLUDED.listed, added = EXCLUDED.added, confirmed = EXCLUDED.confirmed`;

/**
 * Reads an exchange's delisted list (exchange-symbol-list?delisted=1, 1 call) and records
 * what it says; the read is recorded so that the next one waits its refresh days. A failed
 * call throws (the caller decides), and records nothing: the list is asked again next run.
 */
export async function readDelistedList(
  pool: pg.Pool,
  api: EodhdClient,
  exchange: ExchangeCode,
  usVenues: string[],
  today: string,
): Promise<DelistedListRead> {
  const items = (await api.delistedSymbols(exchange)).rows;
  // Every row of a delisted=1 answer is marked delisted; one that says otherwise is not taken for one.
  const { symbols, params } = listRows(items, exchange, usVenues, today, (it) => it.IsDelisted !== false);
  const r = (await pool.query<{ added: number; confirmed: number; still_listed: number }>(RECORD_DELISTED, params))
    .rows[0]!;
  await pool.query(RECORD_DELISTED_READ, [exchange, today, symbols.length, r.added, r.confirmed]);
  return { exchange, listed: symbols.length, added: r.added, confirmed: r.confirmed, stillListed: r.still_listed };
}

// An asset's first stored price earlier than its first list read (its history): listed
// since then. Written once per asset, when its history arrives.
const EXTEND_LISTED_FROM = `
  UPDATE assets a SET listed_from = s.prices_first_date
    FROM asset_processing_state s
   WHERE s.asset_id = a.id AND s.prices_first_date IS NOT NULL
     AND (a.listed_from IS NULL OR s.prices_first_date < a.listed_from)`;

/** After a run: assets whose history goes back further than their first list read are listed since its first bar. */
export async function extendListedFrom(q: Queryable): Promise<number> {
  return (await q.query(EXTEND_LISTED_FROM)).rowCount ?? 0;
}

// Per exchange of a watchlist: whether every symbol is already an active asset, and when
// the exchange's list was last read.
const WATCHLIST_STATE = `
  SELECT w.exchange, bool_and(a.is_active IS TRUE) AS all_known,
         (SELECT r.read_on FROM exchange_list_reads r WHERE r.exchange = w.exchange)::text AS listed_on
    FROM (SELECT s, split_part(s, '.', array_length(string_to_array(s, '.'), 1)) AS exchange FROM unnest($1::text[]) s) w
    LEFT JOIN assets a ON a.symbol = w.s
   GROUP BY w.exchange`;

/**
 * The exchanges whose lists a watchlist run reads: those with a symbol not yet known, or
 * whose list was read more than `maxAgeDays` ago. A small plan (the free one: 20 calls a
 * day) then spends its calls on prices, not on the same lists every day.
 */
export async function listsForWatchlist(
  pool: pg.Pool,
  symbols: string[],
  today: string,
  maxAgeDays = 7,
): Promise<ExchangeCode[]> {
  const rows = (
    await pool.query<{ exchange: ExchangeCode; all_known: boolean; listed_on: string | null }>(WATCHLIST_STATE, [
      symbols,
    ])
  ).rows;
  const cutoff = new Date(Date.parse(`${today}T00:00:00Z`) - maxAgeDays * 86_400_000).toISOString().slice(0, 10);
  return rows
    .filter((r) => !r.all_known || r.listed_on === null || r.listed_on < cutoff)
    .map((r) => r.exchange)
    .sort();
}

// The asset's quote currency is the list's (prices), not the document's: they differ on
// London (prices in pence, fundamentals in pounds) and are kept apart. A listed asset's name,
// ISIN and country are its list's too (read every day; the document is read weeks apart and
// words them differently: "UK" in London's list, "United Kingdom" in its documents), so the
// two never undo each other's writes; the document fills what the list leaves empty, and
// names a watchlist symbol no list includes. Unchanged rows are not rewritten.
const REFRESH_ASSET = `
  UPDATE assets AS a SET name = n.name, isin = n.isin, country = n.country, sector = $5, industry = $6, type = n.type,
         updated_at = now()
    FROM (SELECT id,
                 CASE WHEN source = 'list' THEN coalesce(name, $2) ELSE coalesce($2, name) END AS name,
                 CASE WHEN source = 'list' THEN coalesce(isin, $3) ELSE coalesce($3, isin) END AS isin,
                 CASE WHEN source = 'list' THEN coalesce(country, $4) ELSE coalesce($4, country) END AS country,
                 coalesce(type, $7) AS type
            FROM assets WHERE id = $1) n
   WHERE a.id = n.id
     AND (a.name, a.isin, a.country, a.sector, a.industry, a.type) IS DISTINCT FROM (n.name, n.isin, n.country, $5::text, $6::text, n.type)`;

/** What a fundamentals document says of the asset: its name, ISIN, country, EODHD's classification and type. */
export async function refreshAssetFromDocument(
  q: Queryable,
  assetId: number,
  d: {
    name: string | null;
    isin: string | null;
    country: string | null;
    sector: string | null;
    industry: string | null;
    type: string | null;
  },
): Promise<void> {
  await q.query(REFRESH_ASSET, [assetId, d.name, d.isin, d.country, d.sector, d.industry, d.type]);
}

// A benchmark index is an asset of its own (exchange INDX, source 'benchmark'): no list names
// it, so the sync neither adds nor deactivates it, and the plan gives it no work item.
const ENSURE_BENCHMARKS = `
  WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS w(symbol, region, currency)),
  added AS (
    INSERT INTO assets (symbol, code, exchange, venue, region, type, currency, first_seen, last_seen, source)
    SELECT symbol, left(symbol, length(symbol) - length('.INDX')), 'INDX', NULL, region, 'INDEX', currency, $4, $4, 'benchmark'
      FROM wanted WHERE symbol LIKE '%.INDX'
    ON CONFLICT (symbol) DO NOTHING
    RETURNING id, symbol
  )
  SELECT id, symbol FROM added
  UNION ALL
  SELECT a.id, a.symbol FROM assets a JOIN wanted w ON w.symbol = a.symbol WHERE a.source = 'benchmark'`;

/** The benchmark indices' assets, added when new; their ids by symbol (a symbol taken by a listing is left out). */
export async function ensureBenchmarkAssets(
  q: Queryable,
  benchmarks: Array<{ symbol: string; region: string; currency: string }>,
  today: string,
): Promise<Map<string, number>> {
  if (benchmarks.length === 0) return new Map();
  const rows = (
    await q.query<{ id: string; symbol: string }>(ENSURE_BENCHMARKS, [
      benchmarks.map((b) => b.symbol),
      benchmarks.map((b) => b.region),
      benchmarks.map((b) => b.currency),
      today,
    ])
  ).rows;
  return new Map(rows.map((r) => [r.symbol, Number(r.id)]));
}

const ADD_WATCHLIST = `
  WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS w(symbol, code, exchange, region, currency)),
  up AS (
    INSERT INTO assets (symbol, code, exchange, venue, region, currency, first_seen, last_seen, source, listed_from)
    SELECT symbol, code, exchange, NULL, region, currency, $6, $6, 'watchlist', $6 FROM wanted
    ON CONFLICT (symbol) DO UPDATE SET is_active = true, last_seen = greatest(assets.last_seen, EXCLUDED.last_seen),
      source = CASE WHEN assets.source = 'delisted_list' THEN 'watchlist' ELSE assets.source END,
      listed_from = coalesce(assets.listed_from, EXCLUDED.listed_from),
      delisted_on = NULL, delisted_source = NULL, delisted_confirmed_on = NULL,
      updated_at = CASE WHEN assets.is_active THEN assets.updated_at ELSE now() END
     WHERE NOT assets.is_active
    RETURNING id, (xmax = 0) AS inserted
  )
  SELECT id, inserted FROM up`;

/**
 * The symbols a run names (a watchlist) become assets even when no list includes them (an
 * ETF, a venue outside us_venues, a plan without the lists): their prices are asked for,
 * and a symbol EODHD does not know is marked so.
 */
export async function addWatchlist(
  pool: pg.Pool,
  symbols: string[],
  today: string,
): Promise<{ added: number; reactivated: number }> {
  const parts = symbols.map((s) => {
    const dot = s.lastIndexOf('.');
    const exchange = s.slice(dot + 1) as ExchangeCode;
    return {
      symbol: s,
      code: s.slice(0, dot),
      exchange,
      region: REGION_OF[exchange],
      currency: exchange === 'LSE' ? null : EXCHANGE_CURRENCY[exchange],
    };
  });
  const rows = (
    await pool.query<{ id: number; inserted: boolean }>(ADD_WATCHLIST, [
      parts.map((p) => p.symbol),
      parts.map((p) => p.code),
      parts.map((p) => p.exchange),
      parts.map((p) => p.region),
      parts.map((p) => p.currency),
      today,
    ])
  ).rows;
  // A name known only from a delisted list has no state yet: it gets one when a run names it.
  await ensureStates(
    pool,
    rows.map((r) => r.id),
  );
  return { added: rows.filter((r) => r.inserted).length, reactivated: rows.filter((r) => !r.inserted).length };
}
