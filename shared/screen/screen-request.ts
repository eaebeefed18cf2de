/**
 * A screen's request, from a POST's JSON body or a GET's query string (the same fields):
 * zod checks the shape, then each filter, sort, column and signal is checked against the
 * catalog (shared/domain/screen-fields.ts), so that a field reaches SQL only as a name the
 * catalog knows (EODHD's aliases become canonical names) and a value only of the field's
 * type. Every refusal is one line that says what to send: an unknown name comes with the
 * closest valid ones.
 *
 * Bounded: at most MAX_FILTERS filters, MAX_IN values in an `in`, strings of MAX_STRING
 * characters, a filter's value at most a list of scalars (no deeper nesting), limit
 * 1-1000, offset at most MAX_OFFSET; the body itself is capped by the template (256 KiB).
 */
import { z } from 'zod';
import { EXCHANGES } from '../domain/exchanges.js';
import { SCREEN_FIELDS, type ScreenField, SIGNALS, screenField, screenFieldNames } from '../domain/screen-fields.js';
import { type Filter, type FilterOp, NUMBER_OPS, type ScreenRequest, type Sort, STRING_OPS } from './contract.js';
import { FORM_ROW_KEY, formFilters } from './form-filters.js';
import { PRESETS, presetNamed } from './presets.js';

export const MAX_FILTERS = 50;
export const MAX_IN = 1000;
export const MAX_STRING = 200;
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 50;
export const MAX_OFFSET = 100_000;
export const MAX_SORTS = 10;
export const MAX_COLUMNS = 150;

export type ParsedScreen = { ok: true; value: ScreenRequest } | { ok: false; reason: string };

const ISO_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const isRealDate = (d: string) =>
  ISO_DATE.test(d) &&
  !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) &&
  new Date(`${d}T00:00:00Z`).toISOString().startsWith(d);

// The shape, before the catalog is asked. Lists may come as lists or, from a query string,
// as comma lists (filters as EODHD's JSON text); each is bounded here, before any is read.
const text = (what: string, max = MAX_STRING) =>
  z.string({ error: `${what} must be a string` }).max(max, `${what} is at most ${max} characters`);
const list = (what: string, max: number) =>
  z.union([z.array(text(`each of ${what}`)).max(max), text(what, max * (MAX_STRING + 1))], {
    // What is wrong with the value, said of the value (a union's own error says only that both failed).
    error: (issue) => {
      const v = issue.input;
      if (Array.isArray(v)) {
        if (v.length > max) return `at most ${max} ${what}, not ${v.length}`;
        if (v.some((x) => typeof x !== 'string')) return `${what} must be a list of strings`;
        return `each of ${what} is at most ${MAX_STRING} characters`;
      }
      return typeof v === 'string' ? `${what} is too long` : `${what} must be a list of strings or a comma list`;
    },
  });
const Body = z.strictObject(
  {
    // Counted and read one by one in parseFilters (each refusal names the filter); the body's
    // own cap (256 KiB) bounds the list before that.
    filters: z
      .union([z.array(z.unknown()), z.string().max(MAX_FILTERS * 1100)], {
        error: (issue) =>
          typeof issue.input === 'string'
            ? `filters is too long: at most ${MAX_FILTERS} filters of short values`
            : 'filters must be a list of [field, operation, value], as EODHD writes them',
      })
      .optional(),
    signals: list('signals', SIGNALS.length).optional(),
    preset: text('preset', 40).nullable().optional(),
    sort: list('sorts', MAX_SORTS).optional(),
    order: z.enum(['a', 'd', 'asc', 'desc'], { error: 'order is a (ascending) or d (descending)' }).optional(),
    limit: z
      .union([z.number(), z.string().max(20)], { error: `limit must be a whole number from 1 to ${MAX_LIMIT}` })
      .optional(),
    offset: z
      .union([z.number(), z.string().max(20)], { error: `offset must be a whole number from 0 to ${MAX_OFFSET}` })
      .optional(),
    columns: list('columns', MAX_COLUMNS).optional(),
    exchanges: list('exchanges', EXCHANGES.length).optional(),
    asOf: text('asOf', 40).nullable().optional(),
    currency: text('currency', 40).nullable().optional(),
    includeStale: z
      .union([z.boolean(), z.enum(['true', 'false', '1', '0'])], { error: 'includeStale must be true or false' })
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}: send filters, signals, preset, sort, order, limit, offset, columns, exchanges, asOf, currency, includeStale`
        : 'the request must be an object of filters, signals, preset, sort, limit, offset, columns, exchanges, asOf, currency, includeStale',
  },
);
type Body = z.infer<typeof Body>;

/**
 * A POST's body before it is read as a screen: the JSON object as parsed, untouched (a copy
 * would drop an own "__proto__" key, which parseScreenBody refuses as an unknown field).
 */
export const ScreenJson = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'the body must be a JSON object',
);

/** The screen asked by a POST's JSON body (already parsed as JSON). */
export function parseScreenBody(json: unknown): ParsedScreen {
  const r = Body.safeParse(json);
  if (!r.success) return { ok: false, reason: issueText(r.error.issues[0]) };
  return fromBody(r.data);
}

/**
 * The screen asked by a GET's query string: the same fields, lists as comma lists, filters as
 * JSON text and, from the screen page's plain form, as filter rows (f1_field, f1_op, f1_value:
 * form-filters.ts) after them. An empty value is a field left blank: absent.
 */
export function parseScreenQuery(query: Record<string, string>): ParsedScreen {
  const rows = formFilters(query);
  if (!rows.ok) return { ok: false, reason: rows.reason };
  // fromEntries: a key "__proto__" stays an own key (and is refused as unknown), not a prototype.
  const rest: Record<string, unknown> = Object.fromEntries(
    Object.entries(query).filter(([k, v]) => !FORM_ROW_KEY.test(k) && v.trim() !== ''),
  );
  if (rows.filters.length > 0) {
    let given: unknown = [];
    if (typeof rest.filters === 'string') {
      try {
        given = JSON.parse(rest.filters);
      } catch {
        given = null;
      }
      if (!Array.isArray(given))
        return {
          ok: false,
          reason:
            'filters must be JSON as EODHD writes it: [["market_capitalization",">",1000000000],["sector","=","Technology"]]',
        };
    }
    rest.filters = [...(given as unknown[]), ...rows.filters];
  }
  return parseScreenBody(rest);
}

function issueText(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'the request is not a screen';
  const path = issue.path.map(String).join('.');
  // The messages above name their field already; zod's own say which one.
  return path && !issue.message.startsWith(path.split('.')[0]!) && issue.code !== 'unrecognized_keys'
    ? `${path}: ${issue.message}`
    : issue.message;
}

function fromBody(b: Body): ParsedScreen {
  try {
    const preset = b.preset ?? null;
    if (preset !== null && !presetNamed(preset))
      throw new Refusal(
        `unknown preset ${JSON.stringify(preset)}: use one of ${PRESETS.map((p) => p.name).join(', ')} (GET ?presets lists them with their filters)`,
      );
    return {
      ok: true,
      value: {
        filters: parseFilters(b.filters),
        signals: parseSignals(b.signals),
        preset,
        sort: parseSorts(b.sort, b.order),
        limit: wholeNumber('limit', b.limit, 1, MAX_LIMIT, DEFAULT_LIMIT),
        offset: wholeNumber('offset', b.offset, 0, MAX_OFFSET, 0),
        columns: parseColumns(b.columns),
        exchanges: parseExchanges(b.exchanges),
        asOf: parseAsOf(b.asOf ?? null),
        currency: parseCurrency(b.currency ?? null),
        includeStale: b.includeStale === true || b.includeStale === 'true' || b.includeStale === '1',
      },
    };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, reason: err.message };
    throw err;
  }
}

/** A bad request, thrown inside the parse and answered as its reason. */
class Refusal extends Error {}

function wholeNumber(what: string, v: number | string | undefined, min: number, max: number, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  const n = typeof v === 'number' ? v : /^\s*-?\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Refusal(`${what} must be a whole number from ${min} to ${max}, not ${JSON.stringify(v).slice(0, 40)}`);
  return n;
}

/** A comma list (from a query string) or a list, trimmed, without empties and repeats. */
function items(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  const all = (typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter((s) => s !== '');
  return [...new Set(all)];
}

function parseSignals(v: string | string[] | undefined): string[] {
  const names = items(v);
  if (names.length > SIGNALS.length) throw new Refusal(`at most ${SIGNALS.length} signals`);
  for (const s of names)
    if (!SIGNALS.some((x) => x.name === s))
      throw new Refusal(
        `unknown signal ${quote(s)}: ${closest(
          s,
          SIGNALS.map((x) => x.name),
        )}(GET ?fields lists the signals)`,
      );
  return names;
}

function parseExchanges(v: string | string[] | undefined): string[] {
  const out: string[] = [];
  for (const e of items(v)) {
    const code = e.toUpperCase();
    if (!(EXCHANGES as readonly string[]).includes(code))
      throw new Refusal(`unknown exchange ${quote(e)}: use EODHD's codes ${EXCHANGES.join(', ')}`);
    if (!out.includes(code)) out.push(code);
  }
  return out;
}

function parseAsOf(v: string | null): string | null {
  if (v === null || v.trim() === '') return null;
  if (!isRealDate(v)) throw new Refusal(`asOf must be a real day YYYY-MM-DD, not ${quote(v)}`);
  return v;
}

function parseCurrency(v: string | null): string | null {
  if (v === null || v.trim() === '') return null;
  if (!/^[A-Za-z]{3}$/.test(v))
    throw new Refusal(`currency must be a three-letter code like USD, EUR or GBP, not ${quote(v)}`);
  return v.toUpperCase();
}

function parseColumns(v: string | string[] | undefined): string[] {
  const out: string[] = [];
  for (const c of items(v)) {
    const f = known(c, 'column');
    if (!out.includes(f.name)) out.push(f.name);
  }
  return out;
}

function parseSorts(v: string | string[] | undefined, order: Body['order']): Sort[] {
  const specs = items(v);
  if (specs.length > MAX_SORTS) throw new Refusal(`at most ${MAX_SORTS} sorts`);
  if (order !== undefined) {
    // EODHD's own form: sort=field&order=d|a (one field).
    if (specs.length !== 1) throw new Refusal('with order, give one sort field: sort=market_cap&order=d');
    return [{ field: known(specs[0]!, 'sort field').name, dir: order.startsWith('d') ? 'desc' : 'asc' }];
  }
  const out: Sort[] = [];
  for (const spec of specs) {
    const m = /^(.*?)(?:\.(asc|desc))?$/i.exec(spec)!;
    const f = known(m[1]!, 'sort field');
    const dir = (m[2]?.toLowerCase() ?? 'asc') as Sort['dir'];
    if (!out.some((s) => s.field === f.name)) out.push({ field: f.name, dir });
  }
  return out;
}

function parseFilters(v: string | unknown[] | undefined): Filter[] {
  if (v === undefined) return [];
  let list: unknown = v;
  if (typeof v === 'string') {
    if (v.trim() === '') return [];
    try {
      list = JSON.parse(v);
    } catch {
      throw new Refusal(
        'filters must be JSON as EODHD writes it: [["market_capitalization",">",1000000000],["sector","=","Technology"]]',
      );
    }
  }
  if (!Array.isArray(list))
    throw new Refusal('filters must be a list of [field, operation, value]: [["pe_ratio","<",15]]');
  if (list.length > MAX_FILTERS) throw new Refusal(`at most ${MAX_FILTERS} filters, not ${list.length}`);
  return list.map((f, i) => parseFilter(f, i));
}

function parseFilter(raw: unknown, i: number): Filter {
  const at = `filters[${i}]`;
  if (!Array.isArray(raw) || raw.length < 2 || raw.length > 3)
    throw new Refusal(`${at} must be [field, operation, value] (or [field, "is null"]), e.g. ["pe_ratio","<",15]`);
  const [name, rawOp, value] = raw as [unknown, unknown, unknown];
  if (typeof name !== 'string') throw new Refusal(`${at}: the field must be a name, e.g. "market_cap"`);
  const field = known(name, 'field', at);
  if (typeof rawOp !== 'string' || rawOp.length > 20)
    throw new Refusal(`${at}: the operation must be one of ${opsOf(field).join(' ')}`);
  const op = rawOp.trim().toLowerCase().replace(/\s+/g, ' ');
  const ops: readonly string[] = opsOf(field);
  if (!ops.includes(op)) {
    const other = field.type === 'string' ? 'a number or date operation' : 'a string operation';
    throw new Refusal(
      `${at}: ${quote(rawOp)} is ${(field.type === 'string' ? NUMBER_OPS : STRING_OPS).includes(op as never) ? other : 'not an operation'}: ${field.name} is a ${field.type} field; use one of ${ops.join(', ')}`,
    );
  }
  const filterOp = op as FilterOp;
  if (op === 'is null' || op === 'not null') {
    if (raw.length === 3 && value !== null && value !== undefined)
      throw new Refusal(`${at}: ${op} takes no value: [${JSON.stringify(field.name)}, ${JSON.stringify(op)}]`);
    return { field: field.name, op: filterOp, value: null };
  }
  if (raw.length < 3) throw new Refusal(`${at}: ${op} needs a value: [${JSON.stringify(field.name)}, "${op}", ...]`);
  return { field: field.name, op: filterOp, value: filterValue(field, op, value, at) };
}

function opsOf(f: ScreenField): readonly string[] {
  return f.type === 'string' ? STRING_OPS : NUMBER_OPS;
}

function filterValue(f: ScreenField, op: string, v: unknown, at: string): Filter['value'] {
  const one = (x: unknown, where: string): number | string => {
    if (f.type === 'number') {
      if (typeof x !== 'number' || !Number.isFinite(x))
        throw new Refusal(`${where}: ${f.name} is a number (${f.unit}): send a number, not ${describe(x)}`);
      return x;
    }
    if (f.type === 'date') {
      if (typeof x !== 'string' || !isRealDate(x))
        throw new Refusal(`${where}: ${f.name} is a date: send "YYYY-MM-DD", not ${describe(x)}`);
      return x;
    }
    if (typeof x !== 'string') throw new Refusal(`${where}: ${f.name} is a string: send a string, not ${describe(x)}`);
    if (x.length > MAX_STRING) throw new Refusal(`${where}: strings are at most ${MAX_STRING} characters`);
    // EODHD writes exchanges in lower case (["exchange","=","us"]); the codes are upper case.
    return f.name === 'exchange' ? x.toUpperCase() : x;
  };
  if (op === 'between') {
    if (!Array.isArray(v) || v.length !== 2)
      throw new Refusal(`${at}: between needs [low, high], e.g. [${JSON.stringify(f.name)},"between",[10,20]]`);
    const lo = one(v[0], at);
    const hi = one(v[1], at);
    if (lo > hi) throw new Refusal(`${at}: between needs low <= high, not [${lo}, ${hi}]`);
    return [lo, hi];
  }
  if (op === 'in') {
    if (!Array.isArray(v) || v.length === 0)
      throw new Refusal(`${at}: in needs a non-empty list, e.g. ["sector","in",["Technology","Energy"]]`);
    if (v.length > MAX_IN) throw new Refusal(`${at}: in takes at most ${MAX_IN} values, not ${v.length}`);
    return [...new Set(v.map((x) => one(x, at)))];
  }
  if (op === 'match' && typeof v === 'string' && v.length === 0)
    throw new Refusal(`${at}: match needs some text to look for`);
  return one(v, at);
}

function known(name: string, what: string, at?: string): ScreenField {
  const f = screenField(name);
  if (f) return f;
  const where = at ? `${at}: ` : '';
  throw new Refusal(
    `${where}unknown ${what} ${quote(name)}: ${closest(name, screenFieldNames())}(GET ?fields lists the ${SCREEN_FIELDS.length} fields)`,
  );
}

function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s);
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'a list';
  if (typeof x === 'string') return `the string ${quote(x)}`;
  return typeof x === 'object' ? 'an object' : String(x);
}

/** "did you mean a, b or c? " for the names within an edit distance of 3; "" when none is. */
function closest(name: string, names: readonly string[]): string {
  const target = name.toLowerCase().slice(0, 64);
  const near = [...new Set(names)]
    .map((n) => ({ n, d: distance(target, n.toLowerCase(), 3) }))
    .filter((x) => x.d <= 3)
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .slice(0, 3)
    .map((x) => x.n);
  if (near.length === 0) return '';
  const last = near.pop()!;
  return `did you mean ${near.length ? `${near.join(', ')} or ${last}` : last}? `;
}

/** Levenshtein distance, given up past `max` (then max + 1). */
export function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}
