/**
 * A screen over the screener rows calc-indicators keeps ready: one statement for the page
 * (and its total), read from
 *   - technical_indicators (one row per asset: the latest) when the day is the last session;
 *   - indicator_history (one row per asset and session) as of an earlier day D: per asset
 *     its latest row on or before D, within the staleness window.
 *
 * What the SQL is made of: field names only as the column expressions of FIELD_SQL (a fixed
 * map from the catalog, shared/domain/screen-fields.ts), values only as parameters ($n).
 *
 * The days. "The last session" is the latest day of any screener row (max of
 * technical_indicators.price_date): the day of the newest data, whatever exchange it is
 * from. Each exchange then counts its own sessions (its calendar: official and learnt
 * holidays, shared/domain/calendar.ts): a row is fresh when it is of one of the
 * `screen_stale_sessions` + 1 last sessions of its exchange on or before the day (the
 * exchange's last session on or before it, and the N before that); an older row leaves its
 * asset out unless the request says includeStale. A holiday of one exchange does not make its
 * listings stale, and a day that is a holiday everywhere answers the sessions before it.
 * `asOf` goes from the history's first day (min of indicator_history.date) to the last session.
 *
 * The universe of D (sql/026's universe_on, inline so that the planner sees it): listed on or
 * before D (or no known start) and not delisted by D; never a benchmark or an index (INDX).
 * Quarantined bars are never used: a row whose (asset, day) has an open error finding is
 * skipped (as of D, the asset's latest row before it is taken instead; calc-indicators leaves
 * such bars out of its series, so this is only the window before it computes again).
 *
 * Money (the catalog's `money` fields) is converted to the screen's currency at D's rates:
 * fx_rate(c, D) is units of the reporting currency per unit of c, so a value in c becomes
 * value x rate(c) / rate(target). The few rates are read once per screen, beside the day;
 * filters and sorts on money compare the converted values. Values are exact (no rounding).
 */
import { type Calendars, defaultCalendar } from '../domain/calendar.js';
import { addDays } from '../domain/dates.js';
import { EXCHANGES, type ExchangeCode } from '../domain/exchanges.js';
import { SCREEN_FIELDS, type ScreenField, SIGNALS } from '../domain/screen-fields.js';
import type { Queryable } from '../platform/db.js';
import { loadCalendars } from '../store/exchange-calendars.js';
import { loadSettings } from '../store/settings.js';
import type { Filter, Preset, ScreenAnswer, ScreenRequest, Sort } from './contract.js';
import { DEFAULT_COLUMNS, PRESETS, presetNamed } from './presets.js';

/** Always shown first, in this order. */
export const FIXED_COLUMNS = ['symbol', 'exchange', 'name'] as const;

type Source = 'latest' | 'history';

const ASSET_COLUMN: Record<string, string> = {
  symbol: 'a.symbol',
  code: 'a.code',
  name: 'a.name',
  exchange: 'a.exchange',
  country: 'a.country',
};

/**
 * The SQL of a field on a source: the only way a field name becomes SQL. Row fields are the
 * row's column of the same name (the catalog's names are the columns', sql/028), the date
 * is technical_indicators' price_date; money is multiplied by its currency's factor.
 */
function fieldSql(f: ScreenField, source: Source): string {
  if (f.from === 'asset') {
    const col = ASSET_COLUMN[f.name];
    if (!col) throw new Error(`screen field ${f.name} has no asset column`);
    return col;
  }
  if (!/^[a-z][a-z0-9_]*$/.test(f.name)) throw new Error(`screen field ${f.name} is not a column name`);
  if (f.name === 'date') return source === 'latest' ? 'r.price_date' : 'r.date';
  if (f.money === 'quote') return `(r.${f.name} * fq.factor)`;
  if (f.money === 'quote_unit') return `(r.${f.name} / r.quote_per_major * fq.factor)`;
  if (f.money === 'fundamentals') return `(r.${f.name} * ff.factor)`;
  return `r.${f.name}`;
}

const FIELDS = new Map(SCREEN_FIELDS.map((f) => [f.name, f]));
const field = (name: string): ScreenField => {
  const f = FIELDS.get(name);
  if (!f) throw new Error(`not a screen field: ${name}`);
  return f;
};

/** A refusal the request can fix (asOf out of range, a currency without rates): a 400. */
export class ScreenRefusal extends Error {}

/** Nothing to screen yet: no screener row at all (answered 409: run the pipeline first). */
export class NothingToScreen extends Error {}

export interface ScreenContext {
  /** The last session: the latest day of any screener row; null when there is none. */
  last: string | null;
  /** The history's first day; null when the history is empty. */
  first: string | null;
  reportingCurrency: string;
  staleSessions: number;
  calendars: Calendars;
}

const DAYS = `
  SELECT (SELECT max(price_date) FROM technical_indicators) AS last,
         (SELECT min(date) FROM indicator_history) AS first`;

/** What every screen needs besides its own rows: the last session, the history's start, the settings, the calendars. */
export async function screenContext(q: Queryable): Promise<ScreenContext> {
  const [days, settings, calendars] = await Promise.all([
    q.query<{ last: string | null; first: string | null }>(DAYS),
    loadSettings(q),
    loadCalendars(q),
  ]);
  return {
    last: days.rows[0]?.last ?? null,
    first: days.rows[0]?.first ?? null,
    reportingCurrency: settings.reporting_currency,
    staleSessions: settings.screen_stale_sessions,
    calendars,
  };
}

// The rates of the screen's day: every currency with a rate against the reporting currency,
// its minor units, the reporting currency itself and the one asked for.
const RATES = `
  SELECT c AS currency, fx_rate(c, $1::date) AS rate
    FROM (SELECT DISTINCT currency AS c FROM fx_rates WHERE quote = $2
          UNION SELECT code FROM currency_units
          UNION SELECT $2
          UNION SELECT $3) s`;

/** The day a screen answers: the asked day (checked against the range), or the last session. */
export function screenDay(ctx: ScreenContext, asOf: string | null): { day: string; source: Source } {
  if (ctx.last === null)
    throw new NothingToScreen('nothing to screen yet: the pipeline has computed no screener rows (run it first)');
  if (asOf === null || asOf === ctx.last) return { day: ctx.last, source: 'latest' };
  if (ctx.first === null || asOf > ctx.last || asOf < ctx.first)
    throw new ScreenRefusal(
      ctx.first === null
        ? `asOf ${asOf} is outside the history: there is no history yet, only the last session ${ctx.last} (leave asOf out)`
        : `asOf ${asOf} is outside the history: send a day from ${ctx.first} (its first day) to ${ctx.last} (the last session)`,
    );
  return { day: asOf, source: 'history' };
}

/**
 * Each exchange's first fresh day for a screen of `day`: its last session on or before the
 * day, and `sessions` sessions before that (a row on or after it is fresh).
 */
export function freshSince(calendars: Calendars, day: string, sessions: number): Array<[ExchangeCode, string]> {
  return EXCHANGES.map((ex) => {
    const cal = calendars.get(ex) ?? defaultCalendar(ex);
    let s = cal.lastSessionOnOrBefore(day);
    for (let i = 0; i < sessions; i++) s = cal.lastSessionOnOrBefore(addDays(s, -1));
    return [ex, s];
  });
}

/** The request with its preset folded in: filters and signals of both, the request's sorts first. */
export function withPreset(req: ScreenRequest): {
  filters: Filter[];
  signals: string[];
  sort: Sort[];
  columns: string[];
  preset: Preset | null;
} {
  const preset = req.preset ? (presetNamed(req.preset) ?? null) : null;
  const sort: Sort[] = [];
  for (const s of [...req.sort, ...(preset?.sort ?? [])]) if (!sort.some((x) => x.field === s.field)) sort.push(s);
  const columns = req.columns.length > 0 ? req.columns : preset ? preset.columns : [...DEFAULT_COLUMNS];
  return {
    filters: [...(preset?.filters ?? []), ...req.filters],
    signals: [...new Set([...(preset?.signals ?? []), ...req.signals])],
    sort,
    columns: columns.filter((c) => !(FIXED_COLUMNS as readonly string[]).includes(c)),
    preset,
  };
}

/** An SQL statement and its parameters. */
export interface Statement {
  text: string;
  values: unknown[];
}

export interface ScreenPlan {
  day: string;
  source: Source;
  currency: string;
  columns: string[];
  page: Statement;
  count: Statement;
}

/**
 * The statements of a screen: the page (with count(*) OVER () as its total) and the count
 * alone (for a page past the last row, whose total the page cannot carry).
 */
export function planScreen(
  req: ScreenRequest,
  ctx: ScreenContext,
  rates: ReadonlyArray<{ currency: string; factor: number }>,
  currency: string,
): ScreenPlan {
  const { day, source } = screenDay(ctx, req.asOf);
  const merged = withPreset(req);
  const values: unknown[] = [];
  const p = (v: unknown) => `$${values.push(v)}`;
  const sql = (name: string) => fieldSql(field(name), source);

  const conditions: string[] = [];
  // The universe of the day.
  const d = p(day);
  conditions.push(
    `(a.listed_from IS NULL OR a.listed_from <= ${d}::date)`,
    `(a.delisted_source IS NULL OR a.delisted_on > ${d}::date)`,
    `a.source <> 'benchmark'`,
    `a.exchange <> 'INDX'`,
  );
  if (req.exchanges.length > 0) conditions.push(`a.exchange = ANY(${p(req.exchanges)}::text[])`);
  for (const f of merged.filters) conditions.push(filterSql(f, sql(f.field), field(f.field), p));
  if (merged.signals.length > 0) {
    for (const s of merged.signals) if (!SIGNALS.some((x) => x.name === s)) throw new Error(`not a signal: ${s}`);
    conditions.push(`r.signals @> ${p(merged.signals)}::text[]`);
  }

  // Fresh rows only, unless asked: each exchange's first fresh day (a join on the ten rows).
  const since = freshSince(ctx.calendars, day, ctx.staleSessions);
  const fresh = req.includeStale
    ? ''
    : `JOIN unnest(${p(since.map((s) => s[0]))}::text[], ${p(since.map((s) => s[1]))}::date[]) AS c(exchange, since)
           ON c.exchange = a.exchange AND ${source === 'latest' ? 'r.price_date' : 'r.date'} >= c.since`;
  const fx = `fx(currency, factor) AS (SELECT * FROM unnest(${p(rates.map((r) => r.currency))}::text[], ${p(rates.map((r) => r.factor))}::float8[]))`;
  const quarantined = (alias: string, date: string) =>
    `EXISTS (SELECT 1 FROM price_quality_findings q
              WHERE q.asset_id = ${alias}.asset_id AND q.date = ${alias}.${date}
                AND q.status = 'open' AND q.severity = 'error')`;

  let from: string;
  const withs = fx;
  if (source === 'latest') {
    from = `technical_indicators r JOIN assets a ON a.id = r.asset_id`;
    conditions.push(`r.price_date <= ${d}::date`, `NOT ${quarantined('r', 'price_date')}`);
  } else {
    // Per asset of the day's universe its latest row on or before D: one backward step on the
    // key (asset, date) of the year's partition. Within the staleness window (from the
    // earliest exchange's first fresh day; each exchange's own bound is the join below), or
    // of any earlier day with includeStale. Measured against the latest day of each asset
    // from the (date, asset_id) index grouped by asset, then its row (bench/screen.ts: 173
    // against 119 ms a year back at 21,817 assets).
    const lo = req.includeStale ? null : (since.map((s) => s[1]).sort()[0] ?? day);
    from = `assets a CROSS JOIN LATERAL (
              SELECT h.* FROM indicator_history h
               WHERE h.asset_id = a.id AND h.date <= ${d}::date${lo ? ` AND h.date >= ${p(lo)}::date` : ''}
                 AND NOT ${quarantined('h', 'date')}
               ORDER BY h.date DESC LIMIT 1) r`;
  }
  from += `
      ${fresh}
      LEFT JOIN fx fq ON fq.currency = r.currency
      LEFT JOIN fx ff ON ff.currency = r.fundamentals_currency`;

  // The order: the request's sorts, the preset's, then market cap and symbol (a total order,
  // so that pages neither repeat nor skip a row). NULLs last whichever the direction.
  const order = merged.sort.map((s) => `${sql(s.field)} ${s.dir === 'desc' ? 'DESC' : 'ASC'} NULLS LAST`);
  if (!merged.sort.some((s) => s.field === 'market_cap')) order.push(`${sql('market_cap')} DESC NULLS LAST`);
  order.push('a.symbol');

  const columns = [...FIXED_COLUMNS, ...merged.columns];
  const select = columns.map((c) => `${sql(c)} AS "${c}"`).join(', ');
  const where = conditions.join('\n        AND ');
  const countValues = [...values];
  const limit = p(req.limit);
  const offset = p(req.offset);
  return {
    day,
    source,
    currency,
    columns,
    page: {
      text: `WITH ${withs}
      SELECT ${select}, count(*) OVER () AS "__total"
        FROM ${from}
       WHERE ${where}
       ORDER BY ${order.join(', ')}
       LIMIT ${limit} OFFSET ${offset}`,
      values,
    },
    count: {
      text: `WITH ${withs}
      SELECT count(*)::int AS n FROM ${from} WHERE ${where}`,
      values: countValues,
    },
  };
}

function filterSql(f: Filter, expr: string, meta: ScreenField, p: (v: unknown) => string): string {
  const cast = meta.type === 'number' ? '::float8' : meta.type === 'date' ? '::date' : '::text';
  switch (f.op) {
    case 'is null':
      return `${expr} IS NULL`;
    case 'not null':
      return `${expr} IS NOT NULL`;
    case 'between': {
      const [lo, hi] = f.value as readonly (number | string)[];
      return `${expr} BETWEEN ${p(lo)}${cast} AND ${p(hi)}${cast}`;
    }
    case 'in':
      return `${expr} = ANY(${p(f.value)}::text[])`;
    case 'match':
      // A case-insensitive substring: LIKE's own characters in the text are taken literally.
      return `${expr} ILIKE '%' || ${p(String(f.value).replace(/[\\%_]/g, '\\$&'))}::text || '%'`;
    case '=':
    case '!=':
    case '>':
    case '>=':
    case '<':
    case '<=':
      return `${expr} ${f.op === '!=' ? '<>' : f.op} ${p(f.value)}${cast}`;
  }
}

/** The rates of `day` as factors into `currency`; a currency without a rate on that day is a refusal. */
export async function screenRates(
  q: Queryable,
  day: string,
  reporting: string,
  currency: string,
): Promise<Array<{ currency: string; factor: number }>> {
  const { rows } = await q.query<{ currency: string; rate: number | null }>(RATES, [day, reporting, currency]);
  const target = rows.find((r) => r.currency === currency)?.rate ?? null;
  if (target === null || !(target > 0)) {
    const known = rows
      .filter((r) => r.rate !== null)
      .map((r) => r.currency)
      .sort();
    throw new ScreenRefusal(
      `currency ${currency} has no rate on ${day}: use one of ${known.join(', ')} (or leave currency out for ${reporting})`,
    );
  }
  return rows.filter((r) => r.rate !== null).map((r) => ({ currency: r.currency, factor: r.rate! / target }));
}

/** Answers a screen: its page of rows and the total. */
export async function runScreen(q: Queryable, req: ScreenRequest): Promise<ScreenAnswer> {
  const ctx = await screenContext(q);
  const { day } = screenDay(ctx, req.asOf);
  const currency = req.currency ?? ctx.reportingCurrency;
  const rates = await screenRates(q, day, ctx.reportingCurrency, currency);
  const plan = planScreen(req, ctx, rates, currency);
  const { rows } = await q.query<Record<string, string | number | null>>(plan.page.text, plan.page.values);
  let total = rows.length > 0 ? Number(rows[0]!.__total) : 0;
  if (rows.length === 0 && req.offset > 0) {
    total = (await q.query<{ n: number }>(plan.count.text, plan.count.values)).rows[0]?.n ?? 0;
  }
  return {
    asOf: plan.day,
    total,
    currency,
    columns: plan.columns,
    data: rows.map((r) => Object.fromEntries(plan.columns.map((c) => [c, r[c] ?? null]))),
    limit: req.limit,
    offset: req.offset,
  };
}

/** GET ?presets: every preset with its filters, signals, sorts and columns. */
export function presetList(): { presets: readonly Preset[] } {
  return { presets: PRESETS };
}

/** GET ?fields: every field (name, type, unit, group, aliases, money, description) and the signals. */
export function fieldList() {
  return {
    fields: SCREEN_FIELDS.map((f) => ({
      name: f.name,
      type: f.type,
      unit: f.unit,
      group: f.group,
      aliases: f.aliases ?? [],
      ...(f.money ? { money: f.money } : {}),
      description: f.description,
    })),
    signals: SIGNALS,
  };
}

/**
 * The answer as CSV (RFC 4180: a header row, CRLF line ends, a field with a comma, quote or
 * line break quoted, quotes doubled). A text cell starting with = + - @ (or a tab or CR) gets
 * a leading ' so that a spreadsheet does not run it as a formula; numbers are written as
 * numbers (a negative number is a number, not a formula).
 */
export function screenCsv(answer: ScreenAnswer): string {
  const cell = (v: string | number | null | undefined): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
    const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [answer.columns.map(cell).join(',')];
  for (const row of answer.data) lines.push(answer.columns.map((c) => cell(row[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}
