/**
 * indicator_history: every indicator and derived figure per asset and session (one year a
 * partition: sql/023_indicator_history.sql). Every write to it is here; calc-indicators
 * computes the rows and writes them in the transaction that writes technical_indicators.
 */
import type pg from 'pg';
import { FIGURE_COLUMNS, type FigureRow } from '../domain/figures.js';
import { GROWTH_ROW_COLUMNS, type Growth } from '../domain/growth.js';
import { INDICATOR_COLUMNS, type IndicatorRow } from '../domain/indicators.js';
import {
  BAR_COLUMNS,
  KNOWN_COLUMNS,
  type KnownVersion,
  type SessionScreen,
  VALUATION_COLUMNS,
} from '../domain/screen-row.js';
import { copyIn } from '../platform/copy-in.js';
import type { Queryable } from '../platform/db.js';
import { rowsWritten } from '../platform/metrics.js';

// The screener row's columns (sql/028) in the order a line writes them: the session's own
// values, then the version's (one text a version: written once, reused for its sessions),
// then growth's (likewise, until a yearly report becomes public), then the signals.
const SCREEN_COPY_COLUMNS = [
  ...BAR_COLUMNS,
  ...VALUATION_COLUMNS,
  'book_value',
  ...KNOWN_COLUMNS,
  ...GROWTH_ROW_COLUMNS,
  'signals',
] as const;

export const HISTORY_COLUMNS = [
  'asset_id',
  'date',
  'bars_used',
  ...INDICATOR_COLUMNS,
  ...FIGURE_COLUMNS,
  ...SCREEN_COPY_COLUMNS,
] as const;

export interface HistoryRow {
  assetId: number;
  date: string;
  bars: number;
  values: IndicatorRow;
  figures: FigureRow;
  screen: SessionScreen;
}

/** What one asset's history write is: its rows replace those from `from` on; rows before `keepFrom` go (retention). */
export interface AssetHistory {
  assetId: number;
  /** Rows from this date on are replaced ('-infinity': all); null: only rows are added (none replaced). */
  from: string | null;
  /** Retention: the asset's rows before this date are deleted; null: none. */
  keepFrom: string | null;
}

const ENSURE_YEARS = `SELECT ensure_indicator_history_year(y) AS created FROM unnest($1::int[]) AS y`;

/**
 * The partitions of these years, created if missing (by the migrator's SECURITY DEFINER
 * function: the functions' role may not create tables). Outside the write's transaction:
 * creating a partition locks the whole table, briefly.
 */
export async function ensureHistoryYears(q: Queryable, years: number[]): Promise<number> {
  if (years.length === 0) return 0;
  const r = await q.query<{ created: boolean }>(ENSURE_YEARS, [[...new Set(years)].sort()]);
  return r.rows.filter((x) => x.created).length;
}

// asset_id = ANY: a condition each partition's key answers whatever the join's plan (a hash
// join over partitions not yet analyzed, right after a backfill, read them whole: 2x the
// daily run).
const DELETE_FROM = `
  DELETE FROM indicator_history h USING unnest($1::bigint[], $2::date[]) AS d(asset_id, from_date)
   WHERE h.asset_id = ANY($1::bigint[]) AND h.asset_id = d.asset_id AND h.date >= d.from_date`;
const DELETE_BEFORE = `
  DELETE FROM indicator_history h USING unnest($1::bigint[], $2::date[]) AS d(asset_id, keep_from)
   WHERE h.asset_id = ANY($1::bigint[]) AND h.asset_id = d.asset_id AND h.date < d.keep_from`;

const num = (v: number | null): string => (v === null || !Number.isFinite(v) ? '\\N' : String(v));
// COPY's text format: a backslash, tab, newline or carriage return in a value is escaped.
const ESCAPED = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const text = (v: string | null): string => (v === null ? '\\N' : v.replace(ESCAPED, (c) => ESCAPES[c]!));
const value = (v: number | string | null): string => (typeof v === 'string' ? text(v) : num(v));

/** A text[] as PostgreSQL's array literal: signal names are [0-9a-z_], nothing to quote. */
export const arrayLiteral = (xs: readonly string[]): string => `{${xs.join(',')}}`;

const NO_VERSION = KNOWN_COLUMNS.map(() => '\\N').join('\t');
const NO_GROWTH = GROWTH_ROW_COLUMNS.map(() => '\\N').join('\t');
const versionTexts = new WeakMap<KnownVersion, string>();
const growthTexts = new WeakMap<Growth, string>();

function versionText(v: KnownVersion | null): string {
  if (v === null) return NO_VERSION;
  let t = versionTexts.get(v);
  if (t === undefined) {
    t = KNOWN_COLUMNS.map((c) => value(v[c])).join('\t');
    versionTexts.set(v, t);
  }
  return t;
}

function growthText(g: Growth | null): string {
  if (g === null) return NO_GROWTH;
  let t = growthTexts.get(g);
  if (t === undefined) {
    t = GROWTH_ROW_COLUMNS.map((c) => num(g[c])).join('\t');
    growthTexts.set(g, t);
  }
  return t;
}

/**
 * A row as a line of COPY's text format (no newline). Dates are 'YYYY-MM-DD', numbers
 * finite or NULL, text escaped; String() of a double reads back as the same double.
 */
export function historyLine(r: HistoryRow): string {
  let line = `${r.assetId}\t${r.date}\t${r.bars}`;
  for (const c of INDICATOR_COLUMNS) line += `\t${num(r.values[c])}`;
  for (const c of FIGURE_COLUMNS) line += `\t${num(r.figures[c])}`;
  const s = r.screen;
  line += `\t${num(s.close)}\t${num(s.adjusted_close)}\t${num(s.volume)}\t${text(s.currency)}\t${num(s.quote_per_major)}\t${num(s.avg_volume_50)}\t${num(s.avg_volume_200)}`;
  line += `\t${num(s.market_cap)}\t${num(s.pe_ratio)}\t${num(s.dividend_yield)}\t${num(s.book_value)}`;
  line += `\t${versionText(s.version)}\t${growthText(s.growth)}\t${arrayLiteral(s.signals)}`;
  return line;
}

/**
 * Replaces these assets' rows from each one's `from` with `lines` (historyLine's; COPY: a
 * first backfill is ~500 rows an asset), and deletes those before its `keepFrom`. Inside
 * the caller's transaction; the years' partitions must exist (ensureHistoryYears).
 */
export async function writeHistory(client: pg.PoolClient, assets: AssetHistory[], lines: string[]): Promise<void> {
  const replaced = assets.filter((a) => a.from !== null);
  if (replaced.length > 0)
    await client.query(DELETE_FROM, [replaced.map((a) => a.assetId), replaced.map((a) => a.from)]);
  const pruned = assets.filter((a) => a.keepFrom !== null);
  if (pruned.length > 0)
    await client.query(DELETE_BEFORE, [pruned.map((a) => a.assetId), pruned.map((a) => a.keepFrom)]);
  if (lines.length === 0) return;
  const copied = await copyIn(client, 'indicator_history', [...HISTORY_COLUMNS], `${lines.join('\n')}\n`);
  rowsWritten.inc({ table: 'indicator_history' }, copied);
}

const DROP_EMPTY = `SELECT drop_empty_indicator_history_years($1) AS dropped`;

/** Retention: the years before `beforeYear` that hold no row any more are dropped whole; their names. */
export async function dropEmptyHistoryYears(q: Queryable, beforeYear: number): Promise<string[]> {
  return (await q.query<{ dropped: string }>(DROP_EMPTY, [beforeYear])).rows.map((r) => r.dropped);
}
