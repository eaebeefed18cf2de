/**
 * The ticker page: one listing on one server-rendered page that reads without JavaScript.
 * A chart (inline SVG) of the adjusted close with the 50/200-session averages and the
 * Bollinger bands of the same sessions, volume below, splits, dividends and data-quality
 * findings marked on their days; the latest indicators, figures and fundamentals (with the
 * day they were fetched) and their history; the audit trail; and the reset button, a small
 * fetch() to the status function with the operator credential.
 *
 * Served at /function/screen/ticker/<SYMBOL>: the status function is ../../status, the
 * screen page ../../screen. Every value is escaped; only the nonce'd script runs.
 */
import { SCREEN_FIELDS, SCREEN_ROW_COLUMNS, screenField } from '../domain/screen-fields.js';
import { esc, OPERATOR_FIELD, OPERATOR_SCRIPT } from '../platform/page.js';
import { SCREENER_COLUMNS } from '../store/fundamentals.js';
import { compact, formatValue, plain } from './format.js';
import type { Ticker, TickerBar } from './ticker.js';
import { HISTORY_COLUMNS, LATEST_COLUMNS, PRICE_SCALED, VERSION_COLUMNS } from './ticker-fields.js';

const td = (v: unknown, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${esc(v)}</td>`;
const tdn = (v: string) => `<td class="n">${esc(v)}</td>`;
function table(head: string[], rows: string[][], cls = ''): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${rows.map((r) => `<tr>${r.join('')}</tr>`).join('\n')}\n</tbody></table>`;
}
const dateOf = (v: unknown) => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v ?? ''));
const timeOf = (v: unknown) => (v instanceof Date ? v.toISOString().replace('T', ' ').slice(0, 19) : String(v ?? ''));

/**
 * A column's unit for formatting: price-scaled indicators are money; else the screen's table,
 * or (fundamentals first: their beta is EODHD's, not the indicator) the fundamentals module's.
 */
function unitOf(column: string, fundamentalsFirst = false): string {
  if (PRICE_SCALED.has(column)) return 'money';
  const fund = SCREENER_COLUMNS.find((c) => c.column === column)?.unit;
  if (fundamentalsFirst && fund) return fund;
  return screenField(column)?.unit ?? fund ?? '';
}
/** The unit as the table shows it (the indicators' reference is a document, not a unit). */
const shownUnit = (unit: string) => (unit.startsWith('see ') ? '' : unit);

// The chart's geometry (SVG user units).
const W = 960;
const LEFT = 70;
const RIGHT = 12;
const TOP = 10;
const PRICE_H = 300;
const GAP = 10;
const VOL_H = 80;
const AXIS_H = 20;
const PLOT_W = W - LEFT - RIGHT;
const VOL_TOP = TOP + PRICE_H + GAP;
const H = VOL_TOP + VOL_H + AXIS_H;

/** About `count` round steps between lo and hi (1, 2, 2.5, 5 x 10^k). */
function ticks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const f1 = (v: number) => v.toFixed(1);

/** A polyline through the bars' values with a gap wherever a value is missing. */
function linePath(
  bars: TickerBar[],
  value: (b: TickerBar) => number | null,
  x: (i: number) => number,
  y: (v: number) => number,
): string {
  let d = '';
  let pen = false;
  bars.forEach((b, i) => {
    const v = value(b);
    if (v === null || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${f1(x(i))},${f1(y(v))}`;
    pen = true;
  });
  return d;
}

/** The area between the bands, one polygon per stretch of sessions that has both. */
function bandArea(bars: TickerBar[], x: (i: number) => number, y: (v: number) => number): string {
  const parts: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length > 1) {
      const up = run.map((i) => `${f1(x(i))},${f1(y(bars[i]!.bb_upper!))}`);
      const down = [...run].reverse().map((i) => `${f1(x(i))},${f1(y(bars[i]!.bb_lower!))}`);
      parts.push(`M${up.join('L')}L${down.join('L')}Z`);
    }
    run = [];
  };
  bars.forEach((b, i) => {
    if (b.bb_upper !== null && b.bb_lower !== null) run.push(i);
    else flush();
  });
  flush();
  return parts.join('');
}

/** The index of the first session on or after a day (a marker on a closed day goes to the next session); -1 past the end. */
function sessionIndex(bars: TickerBar[], day: string): number {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bars[mid]!.date < day) lo = mid + 1;
    else hi = mid;
  }
  return lo < bars.length ? lo : -1;
}

/** The chart: server-rendered SVG, readable without JavaScript; each mark has a <title> for its tooltip. */
export function tickerChart(t: Ticker): string {
  const bars = t.bars;
  const cur = t.asset.currency ?? '';
  if (bars.length === 0) return '<p>No prices stored for this listing yet.</p>';
  const n = bars.length;
  const step = PLOT_W / n;
  const x = (i: number) => LEFT + (i + 0.5) * step;
  const values: number[] = [];
  for (const b of bars) {
    if (!b.quarantined) values.push(b.adjusted_close);
    for (const v of [b.sma_50, b.sma_200, b.bb_upper, b.bb_lower]) if (v !== null && Number.isFinite(v)) values.push(v);
  }
  if (values.length === 0) values.push(...bars.map((b) => b.adjusted_close));
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi === lo) {
    hi += Math.abs(hi) * 0.05 || 1;
    lo -= Math.abs(lo) * 0.05 || 1;
  }
  const pad = (hi - lo) * 0.04;
  lo -= pad;
  hi += pad;
  const y = (v: number) => TOP + PRICE_H - ((v - lo) / (hi - lo)) * PRICE_H;
  const maxVol = Math.max(1, ...bars.map((b) => b.volume));
  const vy = (v: number) => VOL_TOP + VOL_H - (v / maxVol) * VOL_H;

  const grid = ticks(lo, hi, 6)
    .map(
      (v) =>
        `<line class="grid" x1="${LEFT}" x2="${W - RIGHT}" y1="${f1(y(v))}" y2="${f1(y(v))}"/><text class="ylabel" x="${LEFT - 6}" y="${f1(y(v) + 4)}" text-anchor="end">${esc(plain(v))}</text>`,
    )
    .join('');
  // A label at the first session of a month; every k-th month when there are many.
  const monthStarts = bars
    .map((b, i) => ({ i, month: b.date.slice(0, 7) }))
    .filter((m, k, all) => k === 0 || m.month !== bars[m.i - 1]!.date.slice(0, 7) || all.length === 1);
  const every = Math.max(1, Math.ceil(monthStarts.length / 12));
  const xlabels = monthStarts
    .filter((_, k) => k % every === 0)
    .map(
      (m) =>
        `<line class="grid" x1="${f1(x(m.i))}" x2="${f1(x(m.i))}" y1="${TOP}" y2="${VOL_TOP + VOL_H}"/><text class="xlabel" x="${f1(x(m.i))}" y="${H - 6}" text-anchor="middle">${esc(m.month)}</text>`,
    )
    .join('');
  const close = linePath(bars, (b) => (b.quarantined ? null : b.adjusted_close), x, y);
  const sma50 = linePath(bars, (b) => b.sma_50, x, y);
  const sma200 = linePath(bars, (b) => b.sma_200, x, y);
  const upper = linePath(bars, (b) => b.bb_upper, x, y);
  const lower = linePath(bars, (b) => b.bb_lower, x, y);
  const area = bandArea(bars, x, y);
  const bw = Math.max(0.6, step * 0.7);
  const volume = bars
    .map(
      (b, i) =>
        `<rect class="vol${b.quarantined ? ' quarantined' : ''}" x="${f1(x(i) - bw / 2)}" y="${f1(vy(b.volume))}" width="${f1(bw)}" height="${f1(Math.max(0.5, VOL_TOP + VOL_H - vy(b.volume)))}"><title>${esc(b.date)}: volume ${esc(b.volume.toLocaleString('en-US'))}</title></rect>`,
    )
    .join('');
  const markers = t.actions
    .map((a) => {
      const i = sessionIndex(bars, a.date);
      if (i < 0) return '';
      const cx = x(i);
      const by = TOP + PRICE_H;
      const letter = a.kind === 'split' ? 'S' : 'D';
      return `<g class="marker ${esc(a.kind)}"><title>${esc(a.kind)} ${esc(a.date)}${a.detail ? `: ${esc(a.detail)}` : ''}</title><line x1="${f1(cx)}" x2="${f1(cx)}" y1="${TOP}" y2="${by}"/><path d="M${f1(cx)},${by - 16}l-7,14h14z"/><text x="${f1(cx)}" y="${by - 4}" text-anchor="middle">${letter}</text></g>`;
    })
    .join('');
  const findings = t.findings
    .map((f) => {
      const i = sessionIndex(bars, f.date);
      if (i < 0 || bars[i]!.date !== f.date) return '';
      return `<circle class="finding ${esc(f.severity)} ${esc(f.status)}" cx="${f1(x(i))}" cy="${f1(y(bars[i]!.adjusted_close))}" r="5"><title>${esc(f.date)}: ${esc(f.check)} (${esc(f.severity)}, ${esc(f.status)}) ${esc(f.detail)}</title></circle>`;
    })
    .join('');
  const frame = `<rect class="frame" x="${LEFT}" y="${TOP}" width="${PLOT_W}" height="${PRICE_H}"/><rect class="frame" x="${LEFT}" y="${VOL_TOP}" width="${PLOT_W}" height="${VOL_H}"/>`;
  const volLabel = `<text class="ylabel" x="${LEFT - 6}" y="${VOL_TOP + 10}" text-anchor="end">${esc(compact(maxVol))}</text><text class="ylabel" x="${LEFT - 6}" y="${VOL_TOP + VOL_H}" text-anchor="end">0</text>`;
  const unit = `<text class="ylabel" x="4" y="${TOP + 10}">${esc(cur)}</text><text class="ylabel" x="4" y="${VOL_TOP + VOL_H / 2}">volume</text>`;
  const label = `${t.asset.symbol}: adjusted close in ${cur} over ${n} sessions from ${bars[0]!.date} to ${bars.at(-1)!.date}, with the 50- and 200-session averages, the Bollinger bands and volume`;
  return `<svg class="chart" role="img" aria-label="${esc(label)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">
${frame}${grid}${xlabels}
<path class="band-fill" d="${area}"/>
<path class="bb-upper" d="${upper}"/><path class="bb-lower" d="${lower}"/>
<path class="sma200" d="${sma200}"/><path class="sma50" d="${sma50}"/>
<path class="close" d="${close}"/>
${volume}${volLabel}${unit}
${markers}
${findings}
</svg>`;
}

const LEGEND = `<p class="legend"><span class="sw close"></span>adjusted close <span class="sw sma50"></span>50-session average <span class="sw sma200"></span>200-session average <span class="sw band"></span>Bollinger bands (20, 2) <span class="sw vol"></span>volume <b>S</b> split <b>D</b> dividend <span class="dot error"></span>error finding (open: quarantined) <span class="dot warning"></span>warning <span class="dot settled"></span>confirmed or settled</p>`;

const STYLE = `
body{font:14px system-ui,sans-serif;margin:1rem 2rem;color:#222}
h1{font-size:1.3rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;margin:.4rem 0}th,td{border:1px solid #ddd;padding:.2rem .45rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.cols{display:flex;flex-wrap:wrap;gap:1.5rem}.muted{color:#666}
svg.chart{max-width:100%;height:auto}
svg .frame{fill:none;stroke:#bbb}svg .grid{stroke:#eee}svg text{font-size:11px;fill:#444}
svg .close{fill:none;stroke:#1f4e8c;stroke-width:1.6}
svg .sma50{fill:none;stroke:#e08a00;stroke-width:1.2}svg .sma200{fill:none;stroke:#8e44ad;stroke-width:1.2}
svg .bb-upper,svg .bb-lower{fill:none;stroke:#7fb3d5;stroke-width:.8;stroke-dasharray:3 2}svg .band-fill{fill:#d6eaf8;opacity:.45}
svg .vol{fill:#95a5a6}svg .vol.quarantined{fill:#c0392b}
svg .marker line{stroke:#27ae60;stroke-dasharray:2 3}svg .marker path{fill:#27ae60}svg .marker text{fill:#fff;font-size:9px;font-weight:bold}
svg .marker.split line{stroke:#d35400}svg .marker.split path{fill:#d35400}
svg .finding{stroke:#fff;stroke-width:1.5}svg .finding.error{fill:#c0392b}svg .finding.warning{fill:#f39c12}
svg .finding.confirmed,svg .finding.cleared,svg .finding.resolved{fill:#95a5a6}
.legend .sw{display:inline-block;width:18px;height:3px;vertical-align:middle;margin:0 3px 0 10px}
.legend .sw.close{background:#1f4e8c}.legend .sw.sma50{background:#e08a00}.legend .sw.sma200{background:#8e44ad}
.legend .sw.band{background:#d6eaf8;height:8px;border:1px dashed #7fb3d5}.legend .sw.vol{background:#95a5a6;height:8px}
.legend .dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin:0 3px 0 10px}
.legend .dot.error{background:#c0392b}.legend .dot.warning{background:#f39c12}.legend .dot.settled{background:#95a5a6}
.operator{display:block;margin:.4rem 0}form{display:inline}output{display:block;white-space:pre-wrap;font-family:monospace}
code{background:#f6f6f6;padding:0 .2rem}
`;

/** Posts the reset form's fields as JSON to the status function, with the operator credential. */
const SCRIPT = `${OPERATOR_SCRIPT}
for (const f of document.querySelectorAll('form[data-endpoint]')) {
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const el of f.elements) if (el.name && el.value !== '') body[el.name] = el.value;
    const out = document.getElementById(f.dataset.output);
    out.textContent = 'sending...';
    try {
      const r = await fetch(f.dataset.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...operatorHeaders() },
        body: JSON.stringify(body),
      });
      out.textContent = await answerText(r);
    } catch (err) { out.textContent = String(err); }
  });
}`;

/** field, value (formatted), unit: a table of a row's fields; money in the currency `currencyOf` gives for its column. */
function fieldTable(
  row: Record<string, unknown>,
  columns: readonly string[],
  currencyOf: (column: string) => string | null,
  fundamentalsFirst = false,
): string {
  const rows = columns
    .filter((c) => c in row)
    .map((c) => {
      const f = screenField(c);
      const unit = unitOf(c, fundamentalsFirst);
      return [
        `<td title="${esc(f?.description ?? '')}">${esc(c)}</td>`,
        tdn(formatValue(row[c], unit, currencyOf(c))),
        td(shownUnit(unit), 'muted'),
      ];
    });
  return rows.length === 0 ? '<p class="muted">None.</p>' : table(['field', 'value', 'unit'], rows);
}

export function renderTickerPage(t: Ticker, nonce: string): string {
  const a = t.asset;
  const cur = a.currency;
  const enc = encodeURIComponent(a.symbol);
  const quoted =
    a.quote_currency && a.quote_currency !== a.currency
      ? ` (quoted in ${esc(a.quote_currency)}, shown in ${esc(cur)})`
      : '';
  const facts = [
    esc(a.exchange_name),
    a.type ? esc(a.type) : '',
    a.country ? esc(a.country) : '',
    a.isin ? `ISIN ${esc(a.isin)}` : '',
    cur ? `prices in ${esc(cur)}${quoted}` : '',
    a.listed_from ? `listed from ${esc(a.listed_from)}` : '',
    a.delisted_on ? `<b>delisted ${esc(a.delisted_on)}</b>` : a.is_active ? '' : '<b>not listed</b>',
    a.prices_first_date ? `prices ${esc(a.prices_first_date)} to ${esc(a.prices_last_date ?? '')}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const spans = [
    [252, '1 year'],
    [504, '2 years'],
    [1260, '5 years'],
  ] as const;
  const sessionLinks = spans.map(([s, label]) => `<a href="${esc(enc)}?sessions=${s}">${label}</a>`).join(' · ');
  const actions =
    t.actions.length === 0
      ? '<p class="muted">No splits or dividends recorded in these sessions (<code>corporate_actions</code>).</p>'
      : table(
          ['day', 'kind', 'detail'],
          t.actions.map((x) => [td(x.date), td(x.kind), td(x.detail ?? '')]),
        );
  const findings =
    t.findings.length === 0
      ? '<p class="muted">No data-quality findings in these sessions.</p>'
      : table(
          ['day', 'check', 'severity', 'status', 'detail'],
          t.findings.map((f) => [td(f.date), td(f.check), td(f.severity), td(f.status), td(f.detail)]),
        );
  const latest = t.latest;
  const latestHead = latest
    ? `<p>Session ${esc(dateOf(latest.price_date))}, computed ${esc(timeOf(latest.calculated_at))} on ${esc(latest.bars_used)} bars.${Array.isArray(latest.signals) && latest.signals.length > 0 ? ` Signals: <b>${esc((latest.signals as string[]).join(', '))}</b>.` : ''}</p>`
    : '<p class="muted">No indicators computed yet (calc-indicators computes them after the first prices).</p>';
  const rowColumns = SCREEN_ROW_COLUMNS.map((c) => c.column).filter((c) => c !== 'signals' && c !== 'currency');
  const fund = t.fundamentals;
  const fundCurrency = (fund?.money_currency as string | null | undefined) ?? null;
  // Money of the bar and the indicators is in the quote currency's major unit; the fundamentals' in theirs.
  const currencyOf = (c: string) => (screenField(c)?.money === 'fundamentals' ? fundCurrency : cur);
  const latestTables = latest
    ? `<div class="cols"><div><h3>Indicators</h3>${fieldTable(
        latest,
        LATEST_COLUMNS.filter((c) => screenField(c)?.group === 'indicators'),
        currencyOf,
      )}</div><div><h3>Figures</h3>${fieldTable(
        latest,
        LATEST_COLUMNS.filter((c) => screenField(c)?.group === 'figures'),
        currencyOf,
      )}</div><div><h3>Screener row</h3>${fieldTable(
        Object.fromEntries(Object.entries(latest).filter(([, v]) => v !== null)),
        rowColumns,
        currencyOf,
      )}</div></div>`
    : '';
  const fundamentals = fund
    ? `<p>Fetched ${esc(timeOf(fund.fetched_at))}${fund.source_updated_at ? ` (EODHD updated it ${esc(dateOf(fund.source_updated_at))})` : ''}; money in ${esc(fundCurrency ?? '')}.</p>${fieldTable(
        fund,
        [...SCREENER_COLUMNS.map((c) => c.column).filter((c) => c !== 'source_updated_at'), 'next_earnings_date'],
        () => fundCurrency,
        true,
      )}`
    : '<p class="muted">No fundamentals fetched yet.</p>';
  const history =
    t.history.length === 0
      ? '<p class="muted">No indicator history yet.</p>'
      : table(
          ['session', ...HISTORY_COLUMNS, 'signals'],
          t.history.map((r) => [
            td(dateOf(r.date)),
            ...HISTORY_COLUMNS.map((c) => tdn(formatValue(r[c], unitOf(c), null))),
            td(Array.isArray(r.signals) ? (r.signals as string[]).join(', ') : ''),
          ]),
          'history',
        );
  const versions =
    t.versions.length === 0
      ? '<p class="muted">No fundamentals versions yet.</p>'
      : table(
          ['known from', 'known until', 'fetched', ...VERSION_COLUMNS],
          t.versions.map((v) => [
            td(dateOf(v.known_from)),
            td(v.known_until === null ? 'now' : dateOf(v.known_until)),
            td(timeOf(v.fetched_at)),
            ...VERSION_COLUMNS.map((c) =>
              c === 'sector'
                ? td(v[c] ?? '')
                : tdn(formatValue(v[c], unitOf(c), (v.currency as string | null) ?? null)),
            ),
          ]),
        );
  const audit =
    t.audit.length === 0
      ? '<p class="muted">Nothing recorded for this listing in the kept runs.</p>'
      : table(
          ['when', 'run', 'process', 'operation', 'status', 'rows', 'API calls', 'ms', 'error'],
          t.audit.map((r) => [
            td(timeOf(r.created_at)),
            tdn(String(r.execution_id ?? '')),
            td(r.process_name),
            td(r.operation),
            td(r.status, `st-${String(r.status)}`),
            tdn(Number(r.records_inserted ?? 0).toLocaleString('en-US')),
            tdn(String(r.api_calls_used ?? '')),
            tdn(Number(r.duration_ms ?? 0).toLocaleString('en-US')),
            td(r.error_message ?? ''),
          ]),
          'audit',
        );
  const failing =
    a.consecutive_failures && a.consecutive_failures > 0
      ? `<p><b>${esc(a.consecutive_failures)} failures in a row</b>${a.last_error_message ? `: ${esc(a.last_error_message)}` : ''}${a.last_error_at ? ` (${esc(timeOf(a.last_error_at))})` : ''}.</p>`
      : '';
  const fieldCount = SCREEN_FIELDS.length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${esc(a.symbol)}${a.name ? `: ${esc(a.name)}` : ''}</title><style>${STYLE}</style></head>
<body>
<nav><a href="../../screen">Screen</a> · <a href="../../status">Pipeline status</a></nav>
<h1>${esc(a.name ?? a.symbol)} <span class="muted">${esc(a.symbol)}</span></h1>
<p id="facts">${facts}</p>
<h2>Adjusted close, last ${t.bars.length.toLocaleString('en-US')} sessions</h2>
<p>Show ${sessionLinks}. The same as JSON: <code>curl -H 'Accept: application/json' …/function/screen/ticker/${esc(enc)}</code>.</p>
${tickerChart(t)}
${LEGEND}
<div class="cols"><div><h3>Splits and dividends</h3>${actions}</div><div><h3>Data-quality findings</h3>${findings}</div></div>
<h2>Latest indicators and figures</h2>
${latestHead}
${latestTables}
<h2>Fundamentals</h2>
${fundamentals}
<h2>Indicator history (last ${t.history.length} sessions)</h2>
<p class="muted">Every session's ${fieldCount} screen fields are in <code>indicator_history</code>; a screen as of any day reads them.</p>
${history}
<h2>Fundamentals as known (<code>v_fundamentals_as_known</code>)</h2>
${versions}
<h2>Audit trail (<code>v_ticker_processing_history</code>, newest first)</h2>
${failing}
${audit}
<h2>Reset</h2>
<p>Brings the ticker back: its failures forgotten and what the scope names loaded again by the next run. An operator's action (the status function checks the credential).</p>
${OPERATOR_FIELD}
<form method="dialog" data-endpoint="../../status" data-output="reset-out"><input type="hidden" name="action" value="reset"><input type="hidden" name="symbol" value="${esc(a.symbol)}"><label>scope <select name="scope"><option>all</option><option>prices</option><option>fundamentals</option><option>indicators</option></select></label> <button>reset</button></form>
<output id="reset-out"></output>
<script nonce="${esc(nonce)}">${SCRIPT}</script>
</body></html>`;
}
