/**
 * The screen page: a screen's form and its answer on one server-rendered page that works
 * without JavaScript. The form is a plain GET to the page itself (action ""): a preset,
 * filter rows (f<i>_field, f<i>_op, f<i>_value: form-filters.ts turns them into `filters`),
 * signals, exchanges, an as-of day, a currency, a limit. The answer is a table whose headers
 * sort by their column, with paging, a CSV link and the request as a curl line (in the
 * screen function's own query format: `filters` as JSON), each symbol linked to its ticker
 * page.
 *
 * Served at /function/screen: a ticker page is screen/ticker/<SYMBOL>, the status page
 * status; every other link is a query on the page itself (?...). Every value is escaped; the
 * only script (with the nonce) fills in the curl line's origin and leaves empty fields out of
 * the form's query.
 */
import { exchangeLabel } from '../domain/exchanges.js';
import type { FieldGroup, ScreenField } from '../domain/screen-fields.js';
import { esc, newNonce, pageHeaders } from '../platform/page.js';
import {
  type Filter,
  NUMBER_OPS,
  type Preset,
  type ScreenAnswer,
  type ScreenRequest,
  type Sort,
  STRING_OPS,
} from './contract.js';
import { FORM_FILTER_ROWS, FORM_ROW_KEY } from './form-filters.js';
import { formatValue } from './format.js';

export interface ScreenPageInput {
  /** The answer; null when the request was bad (then `error` says why). */
  answer: ScreenAnswer | null;
  /** The request the answer answers; null when it could not be read. */
  request: ScreenRequest | null;
  presets: readonly Preset[];
  fields: readonly ScreenField[];
  signals: ReadonlyArray<{ name: string; description: string }>;
  /** EODHD codes with their names (EXCHANGE_NAMES). */
  exchanges: ReadonlyArray<{ code: string; name: string }>;
  /** The query string that produced the page (the form's values when the request was bad). */
  query: Readonly<Record<string, string>>;
  /** A bad request's reason (the 400's), shown above the form. */
  error: string | null;
  nonce: string;
  /**
   * Where the page is, as the caller reached it (`http://<Host header>/function/screen`), for
   * the curl line; without it the line starts with the page's path, and the script puts the
   * browser's origin in front.
   */
  pageUrl?: string | null;
}

/** The empty filter rows the form offers besides the request's own. */
const EMPTY_ROWS = 3;
const DEFAULT_LIMIT = 50;
const OPS: readonly string[] = [...new Set<string>([...NUMBER_OPS, ...STRING_OPS])];

const GROUP_LABEL: Record<FieldGroup, string> = {
  listing: 'Listing',
  price: 'Price and volume',
  fundamentals: 'Fundamentals',
  valuation: 'Valuation',
  growth: 'Growth',
  indicators: 'Indicators',
  figures: 'Returns and figures',
  signals: 'Signals',
};

const sortText = (s: readonly Sort[]) => s.map((x) => `${x.field}.${x.dir}`).join(',');

/** A filter as EODHD's Screener API writes it: [field, operation, value]. */
const triple = (f: Filter) => [f.field, f.op, f.value ?? null];

/**
 * The query that asks for this request again, in the screen function's own format, with
 * `change` applied (a value of null leaves the key out): what every link and the curl line use.
 */
export function requestQuery(req: ScreenRequest, change: Record<string, string | null> = {}): URLSearchParams {
  const q: Record<string, string | null> = {
    preset: req.preset,
    filters: req.filters.length > 0 ? JSON.stringify(req.filters.map(triple)) : null,
    signals: req.signals.length > 0 ? req.signals.join(',') : null,
    exchanges: req.exchanges.length > 0 ? req.exchanges.join(',') : null,
    asOf: req.asOf,
    currency: req.currency,
    includeStale: req.includeStale ? 'true' : null,
    columns: req.columns.length > 0 ? req.columns.join(',') : null,
    sort: req.sort.length > 0 ? sortText(req.sort) : null,
    limit: req.limit === DEFAULT_LIMIT ? null : String(req.limit),
    offset: req.offset > 0 ? String(req.offset) : null,
    ...change,
  };
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== null && v !== undefined && v !== '') params.set(k, v);
  return params;
}

const link = (params: URLSearchParams) => {
  const s = params.toString();
  // A query-only reference: the same page with this query (and "?" alone: the same page without one).
  return esc(s === '' ? '?' : `?${s}`);
};

/** The value of a filter as the form's text input shows it. */
function valueText(f: Filter): string {
  if (f.value === null) return '';
  if (Array.isArray(f.value)) return f.value.join(',');
  return String(f.value);
}

function fieldSelect(name: string, fields: readonly ScreenField[], selected: string): string {
  const groups = new Map<FieldGroup, ScreenField[]>();
  for (const f of fields) groups.set(f.group, [...(groups.get(f.group) ?? []), f]);
  const known = fields.some((f) => f.name === selected);
  const opts = [...groups]
    .map(
      ([g, fs]) =>
        `<optgroup label="${esc(GROUP_LABEL[g] ?? g)}">${fs
          .map(
            (f) =>
              `<option value="${esc(f.name)}" title="${esc(`${f.description} (${f.unit})`)}"${f.name === selected ? ' selected' : ''}>${esc(f.name)}</option>`,
          )
          .join('')}</optgroup>`,
    )
    .join('');
  // A field the request named that is not in the list (a bad request's): kept, so the form shows what was sent.
  const unknown =
    selected !== '' && !known ? `<option value="${esc(selected)}" selected>${esc(selected)} (unknown)</option>` : '';
  return `<select name="${esc(name)}"><option value="">(field)</option>${unknown}${opts}</select>`;
}

function opSelect(name: string, selected: string): string {
  const unknown = selected !== '' && !OPS.includes(selected) ? `<option selected>${esc(selected)}</option>` : '';
  return `<select name="${esc(name)}"><option value="">(operation)</option>${unknown}${OPS.map((o) => `<option${o === selected ? ' selected' : ''}>${esc(o)}</option>`).join('')}</select>`;
}

/** The form's rows: the request's filters (or, for a bad request, the rows it sent), then empty ones. */
function filterRows(input: ScreenPageInput): string {
  const rows: Array<{ field: string; op: string; value: string }> = [];
  if (input.request) {
    for (const f of input.request.filters) rows.push({ field: f.field, op: f.op, value: valueText(f) });
  } else {
    const byIndex = new Map<number, { field: string; op: string; value: string }>();
    for (const [k, v] of Object.entries(input.query)) {
      const m = FORM_ROW_KEY.exec(k);
      if (!m) continue;
      const r = byIndex.get(Number(m[1])) ?? { field: '', op: '', value: '' };
      r[m[2] as 'field' | 'op' | 'value'] = v;
      byIndex.set(Number(m[1]), r);
    }
    for (const i of [...byIndex.keys()].sort((a, b) => a - b)) rows.push(byIndex.get(i)!);
  }
  const shown = rows.slice(0, FORM_FILTER_ROWS - EMPTY_ROWS);
  for (let k = 0; k < EMPTY_ROWS; k++) shown.push({ field: '', op: '', value: '' });
  return shown
    .map(
      (r, k) =>
        `<div class="row">${fieldSelect(`f${k + 1}_field`, input.fields, r.field)} ${opSelect(`f${k + 1}_op`, r.op)} <input name="f${k + 1}_value" value="${esc(r.value)}" placeholder="value (a,b for between and in)" size="22"></div>`,
    )
    .join('\n');
}

/** The form's value of a setting: the request's, else (a bad request) what the query sent. */
function formValue(input: ScreenPageInput, key: string, fromRequest: (r: ScreenRequest) => string): string {
  return input.request ? fromRequest(input.request) : (input.query[key] ?? '');
}

function form(input: ScreenPageInput): string {
  const req = input.request;
  const preset = formValue(input, 'preset', (r) => r.preset ?? '');
  const signals = new Set(
    formValue(input, 'signals', (r) => r.signals.join(','))
      .split(',')
      .filter(Boolean),
  );
  const exchanges = new Set(
    formValue(input, 'exchanges', (r) => r.exchanges.join(','))
      .split(',')
      .filter(Boolean),
  );
  const presetOptions = input.presets
    .map(
      (p) =>
        `<option value="${esc(p.name)}" title="${esc(p.description)}"${p.name === preset ? ' selected' : ''}>${esc(p.name)}: ${esc(p.description)}</option>`,
    )
    .join('');
  const signalBoxes = input.signals
    .map(
      (s) =>
        `<label title="${esc(s.description)}"><input type="checkbox" name="signals" value="${esc(s.name)}"${signals.has(s.name) ? ' checked' : ''}>${esc(s.name)}</label>`,
    )
    .join(' ');
  const exchangeBoxes = input.exchanges
    .map(
      (x) =>
        `<label><input type="checkbox" name="exchanges" value="${esc(x.code)}"${exchanges.has(x.code) ? ' checked' : ''}>${esc(x.name)} (${esc(x.code)})</label>`,
    )
    .join(' ');
  const sort = formValue(input, 'sort', (r) => sortText(r.sort));
  const limit = formValue(input, 'limit', (r) => String(r.limit));
  const stale = req ? req.includeStale : input.query.includeStale === 'true';
  return `<form id="screen" method="get" action="">
<fieldset><legend>Preset</legend><select name="preset"><option value="">(none: only the filters below)</option>${presetOptions}</select> <span class="muted">A preset's filters come first; the rows below narrow it. <a href="?presets">The presets as JSON</a>.</span></fieldset>
<fieldset><legend>Filters</legend>
${filterRows(input)}
<p class="muted">Numbers: = != &gt; &gt;= &lt; &lt;=, between (low,high); text: = != in (a,b,c), match (a part of it); is null, not null. EODHD's Screener field names are accepted as well.</p>
</fieldset>
<fieldset><legend>Signals on the day (each must have fired)</legend>${signalBoxes}</fieldset>
<fieldset><legend>Exchanges (none: all)</legend>${exchangeBoxes}</fieldset>
<fieldset><legend>Day and display</legend>
<label>as of <input type="date" name="asOf" value="${esc(formValue(input, 'asOf', (r) => r.asOf ?? ''))}"></label>
<label>currency <input name="currency" value="${esc(formValue(input, 'currency', (r) => r.currency ?? ''))}" size="4" maxlength="3" placeholder="USD"></label>
<label>rows a page <input type="number" name="limit" min="1" max="1000" value="${esc(limit)}"></label>
<label>columns <input name="columns" value="${esc(formValue(input, 'columns', (r) => r.columns.join(',')))}" size="40" placeholder="market_cap,pe_ratio,rsi_14 (empty: the default set)"></label>
<label><input type="checkbox" name="includeStale" value="true"${stale ? ' checked' : ''}> include assets whose prices are stale</label>
<input type="hidden" name="sort" value="${esc(sort)}">
</fieldset>
<button>Screen</button> <a href="?">clear</a>
</form>`;
}

/** The sort a column header asks for: the other way round when it is the current first sort, else the natural way (numbers down, text up). */
function sortLink(
  req: ScreenRequest,
  field: ScreenField | undefined,
  column: string,
  current: Sort | undefined,
): string {
  const dir: 'asc' | 'desc' =
    current?.field === column ? (current.dir === 'desc' ? 'asc' : 'desc') : field?.type === 'number' ? 'desc' : 'asc';
  return link(requestQuery(req, { sort: `${column}.${dir}`, offset: null }));
}

function results(input: ScreenPageInput, answer: ScreenAnswer, req: ScreenRequest): string {
  const byName = new Map(input.fields.map((f) => [f.name, f]));
  const names = new Map(input.exchanges.map((x) => [x.code, `${x.name} (${x.code})`]));
  // The first sort in effect: the request's, else its preset's.
  const current = req.sort[0] ?? input.presets.find((p) => p.name === req.preset)?.sort[0];
  const head = answer.columns
    .map((c) => {
      const f = byName.get(c);
      const mark = current?.field === c ? (current.dir === 'desc' ? ' ▼' : ' ▲') : '';
      const aria = current?.field === c ? ` aria-sort="${current.dir === 'desc' ? 'descending' : 'ascending'}"` : '';
      const title = f ? `${f.description} (${f.unit})` : c;
      return `<th${aria}${current?.field === c ? ' class="sorted"' : ''}><a href="${sortLink(req, f, c, current)}" title="${esc(title)}">${esc(c)}</a>${esc(mark)}</th>`;
    })
    .join('');
  const body = answer.data
    .map((row) => {
      const cells = answer.columns.map((c) => {
        const v = row[c];
        if (c === 'symbol' && typeof v === 'string')
          return `<td><a href="screen/ticker/${esc(encodeURIComponent(v))}">${esc(v)}</a></td>`;
        if (c === 'exchange' && typeof v === 'string') return `<td>${esc(names.get(v) ?? exchangeLabel(v))}</td>`;
        const f = byName.get(c);
        const text = formatValue(v, f?.unit ?? '', f?.money ? answer.currency : null);
        return `<td${typeof v === 'number' ? ' class="n"' : ''}>${esc(text)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const first = answer.data.length === 0 ? 0 : answer.offset + 1;
  const last = answer.offset + answer.data.length;
  const paging = `<p class="paging">${
    answer.offset > 0
      ? `<a rel="prev" href="${link(requestQuery(req, { offset: answer.offset - answer.limit > 0 ? String(answer.offset - answer.limit) : null }))}">previous</a>`
      : '<span class="muted">previous</span>'
  } · <span id="rows">${
    answer.data.length === 0
      ? `no rows here of ${answer.total.toLocaleString('en-US')}`
      : `rows ${first.toLocaleString('en-US')}-${last.toLocaleString('en-US')} of ${answer.total.toLocaleString('en-US')}`
  }</span> · ${
    last < answer.total
      ? `<a rel="next" href="${link(requestQuery(req, { offset: String(answer.offset + answer.limit) }))}">next</a>`
      : '<span class="muted">next</span>'
  }</p>`;
  const csv = requestQuery(req, {
    format: 'csv',
    offset: null,
    limit: String(Math.min(1000, Math.max(answer.limit, 1))),
  });
  const table =
    answer.data.length === 0
      ? '<p>No listing passes this screen on that day.</p>'
      : `<table id="results"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
  return `<h2>As of ${esc(answer.asOf)}: ${answer.total.toLocaleString('en-US')} ${answer.total === 1 ? 'listing passes' : 'listings pass'}</h2>
<p class="muted">Money in ${esc(answer.currency)} at that day's rates; every figure as it was known on ${esc(answer.asOf)}. Click a column's name to sort by it.</p>
${paging}
${table}
${paging}
<p><a id="csv" href="${link(csv)}">CSV of these rows</a> (the same query with <code>format=csv</code>)</p>`;
}

/** The curl line: the page's own URL with the request's query (the script puts the browser's origin in when the server could not). */
function curlLine(input: ScreenPageInput, req: ScreenRequest): string {
  const q = requestQuery(req).toString();
  const base = input.pageUrl ?? '/function/screen';
  return `<h2>The same request with curl</h2>
<pre><code id="curl" data-query="${esc(q)}">curl -s '${esc(base)}${q === '' ? '' : `?${esc(q)}`}'</code></pre>
<p class="muted">JSON by default; <code>-H 'Accept: text/csv'</code> or <code>format=csv</code> for CSV. POST the same fields as JSON to the same URL works too.</p>`;
}

const STYLE = `
body{font:14px system-ui,sans-serif;margin:1rem 2rem;color:#222}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:1.4rem}
fieldset{margin:.4rem 0;border:1px solid #ddd}legend{font-weight:600}
.row{margin:.15rem 0}label{margin-right:.6rem;white-space:nowrap;display:inline-block}
table{border-collapse:collapse;margin:.4rem 0}th,td{border:1px solid #ddd;padding:.2rem .45rem;text-align:left}
th{background:#f4f4f4;white-space:nowrap}th.sorted{background:#e3edf9}td.n{text-align:right;font-variant-numeric:tabular-nums}
th a{color:inherit}.muted{color:#666}.error{background:#fdecea;border:1px solid #f5c2c0;padding:.4rem .6rem}
pre{background:#f6f6f6;padding:.5rem;white-space:pre-wrap;word-break:break-all}
`;

/** Fills the curl line's origin from the browser, and leaves the form's empty fields out of its query. */
const SCRIPT = `
const curl = document.getElementById('curl');
if (curl) {
  const q = curl.dataset.query;
  curl.textContent = "curl -s '" + location.origin + location.pathname + (q ? '?' + q : '') + "'";
}
const form = document.getElementById('screen');
form.addEventListener('submit', () => {
  for (const el of form.elements) if (el.name && el.value === '' && el.type !== 'checkbox') el.disabled = true;
  setTimeout(() => { for (const el of form.elements) el.disabled = false; }, 0);
});`;

export function renderScreenPage(input: ScreenPageInput): string {
  const req = input.request;
  const answer = input.answer;
  const error = input.error ? `<p class="error" role="alert" id="error">${esc(input.error)}</p>` : '';
  const out = answer && req ? `${results(input, answer, req)}\n${curlLine(input, req)}` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Screen${answer ? ` as of ${esc(answer.asOf)}` : ''}: Financial Screener</title><style>${STYLE}</style></head>
<body>
<nav><a href="status">Pipeline status</a></nav>
<h1>Screen the collected data, as of any day</h1>
${error}
${form(input)}
${out}
<script nonce="${esc(input.nonce)}">${SCRIPT}</script>
</body></html>`;
}

/** The page as a function's answer: its headers (the form submits to the page itself: form-action 'self'). */
export function screenPageResult(input: Omit<ScreenPageInput, 'nonce'>, status = 200) {
  const nonce = newNonce();
  return {
    status,
    body: renderScreenPage({ ...input, nonce }),
    headers: pageHeaders(nonce, { formAction: 'self' }),
  };
}
