/**
 * The screen page's filter rows as a plain GET form sends them (no JavaScript can build the
 * `filters` JSON there): `f1_field=pe_ratio&f1_op=<&f1_value=15&f2_field=...`, a row per
 * index. This turns them into the [field, operation, value] triples of `filters` (EODHD's
 * Screener API format), with each value typed by its field: the request's own validation
 * (screen-request.ts) then judges them as it judges `filters`. A row without a field is an
 * empty row of the form, left out.
 */
import { screenField } from '../domain/screen-fields.js';

/** At most this many rows; a higher index is refused. */
export const FORM_FILTER_ROWS = 50;
/** A query key of a filter row: f<index>_field, f<index>_op or f<index>_value. */
export const FORM_ROW_KEY = /^f([1-9]\d?)_(field|op|value)$/;

export type FilterTriple = [string, string, unknown];

const NULL_OPS = new Set(['is null', 'not null']);

/** "15" -> 15 for a number field (a value that is not a number stays text: the validation says so). */
function typed(text: string, numeric: boolean): string | number {
  const t = text.trim();
  if (!numeric || t === '') return t;
  const n = Number(t.replace(/_/g, ''));
  return Number.isFinite(n) ? n : t;
}

/**
 * The filter rows of a query, in the order of their index, as triples; none when the query
 * has no rows. A reason when a row index is out of range or a row has an operation or a value
 * without a field.
 */
export function formFilters(
  query: Readonly<Record<string, string>>,
): { ok: true; filters: FilterTriple[] } | { ok: false; reason: string } {
  const rows = new Map<number, { field?: string; op?: string; value?: string }>();
  for (const [k, v] of Object.entries(query)) {
    const m = FORM_ROW_KEY.exec(k);
    if (!m) continue;
    const i = Number(m[1]);
    if (i > FORM_FILTER_ROWS)
      return {
        ok: false,
        reason: `${k}: the form has at most ${FORM_FILTER_ROWS} filter rows (f1 to f${FORM_FILTER_ROWS})`,
      };
    const row = rows.get(i) ?? {};
    row[m[2] as 'field' | 'op' | 'value'] = v;
    rows.set(i, row);
  }
  const filters: FilterTriple[] = [];
  for (const i of [...rows.keys()].sort((a, b) => a - b)) {
    const r = rows.get(i)!;
    const field = (r.field ?? '').trim();
    const op = (r.op ?? '').trim();
    const value = r.value ?? '';
    if (field === '') {
      if (value.trim() !== '')
        return { ok: false, reason: `f${i}_value: choose a field for filter row ${i}, or leave its value empty` };
      continue;
    }
    if (op === '') return { ok: false, reason: `f${i}_op: choose an operation for ${field}` };
    const numeric = screenField(field)?.type === 'number';
    if (NULL_OPS.has(op)) filters.push([field, op, null]);
    else if (op === 'between') filters.push([field, op, value.split(',').map((x) => typed(x, numeric))]);
    else if (op === 'in')
      filters.push([
        field,
        op,
        value
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== ''),
      ]);
    else filters.push([field, op, typed(value, numeric)]);
  }
  return { ok: true, filters };
}
