/**
 * The status page: what the Airflow UI gave its operators, on one server-rendered page with
 * no build step. Runs by steps as a grid, the quota over 30 days as a chart, coverage and
 * freshness per exchange, what the plan leaves out, the failing tickers; it reads without
 * JavaScript. The actions (reset a ticker, confirm or drop a quarantined bar, start a run,
 * re-run a step) are small fetch() calls to the status function's own POST, with the
 * operator field's credential: it checks it, then validates as any other caller's input is.
 *
 * Served at the gateway's /function/status: the screen function is its sibling (screen,
 * screen/ticker/<SYMBOL>). Every value is escaped; scripts run only with the nonce.
 */
import { EXCHANGES, exchangeLabel, REGIONS } from '../domain/exchanges.js';
import { CHAINED_STEPS } from '../platform/invoke.js';
import { esc, OPERATOR_FIELD, OPERATOR_SCRIPT } from '../platform/page.js';
import type { QuotaDay, RunState, Status } from './status.js';

/** A symbol, linked to its ticker page (the screen function's, a sibling of this one). */
const symbolLink = (symbol: string) => `<a href="screen/ticker/${esc(encodeURIComponent(symbol))}">${esc(symbol)}</a>`;
const tdSymbol = (symbol: string) => `<td>${symbolLink(symbol)}</td>`;
const tdExchange = (code: string) => td(exchangeLabel(code));

/** The grid's columns: the chain's steps, collect-region once per region. */
const COLUMNS: Array<{ step: string; shard: string; label: string }> = [
  { step: 'init-execution', shard: '', label: 'init' },
  { step: 'discover-delta', shard: '', label: 'discover' },
  { step: 'check-quota', shard: '', label: 'quota' },
  ...REGIONS.map((r) => ({ step: 'collect-region', shard: r, label: r })),
  { step: 'finalize', shard: '', label: 'finalize' },
  { step: 'calc-indicators', shard: '', label: 'indicators' },
];

function table(head: string[], rows: string[][], cls = ''): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.join('')}</tr>`).join('\n');
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
const td = (v: unknown, cls = '') => `<td class="${cls}">${esc(v)}</td>`;
const num = (v: unknown) => td(v === null || v === undefined ? '' : Number(v).toLocaleString('en-US'), 'n');

function runRow(r: RunState): string[] {
  const cells = COLUMNS.map((c) => {
    const s = r.steps.find((x) => x.step === c.step && x.shard === c.shard);
    if (!s) return td('', 'cell none');
    const title = [
      `${c.step}${c.shard ? `/${c.shard}` : ''}: ${s.status}`,
      `attempts ${s.attempts}`,
      s.seconds === null ? '' : `${s.seconds} s`,
      s.error_message ?? '',
    ]
      .filter(Boolean)
      .join(' · ');
    const text = s.status === 'done' ? `${s.seconds ?? ''}s` : s.status;
    return `<td class="cell ${esc(s.status)}" title="${esc(title)}">${esc(text)}</td>`;
  });
  return [
    td(r.execution_id, 'n'),
    td(r.as_of),
    td(r.trigger_kind),
    `<td class="run ${esc(r.status)}" title="${esc(r.error_message ?? '')}">${esc(r.status)}</td>`,
    num(r.duration_seconds),
    num(r.api_calls_used),
    num(r.assets_processed),
    num(r.assets_failed),
    ...cells,
  ];
}

/** Calls used per quota day as bars (30 slots, the latest on the right), each day's limit as a red tick. */
function quotaChart(days: QuotaDay[]): string {
  if (days.length === 0) return '<p>No API calls recorded yet.</p>';
  const w = 720;
  const h = 160;
  const left = 56;
  const slots = 30;
  const top = Math.max(1, ...days.map((d) => Math.max(d.used, d.call_limit ?? 0)));
  const bw = (w - left) / slots;
  const y = (v: number) => h - (v / top) * (h - 10);
  const shown = days.slice(-slots);
  const bars = shown
    .map((d, i) => {
      const x = left + (slots - shown.length + i) * bw;
      const limit =
        d.call_limit === null
          ? ''
          : `<line x1="${x + 1}" x2="${x + bw - 1}" y1="${y(d.call_limit)}" y2="${y(d.call_limit)}" class="limit"/>`;
      return `<g><title>${esc(d.quota_day)}: ${d.used.toLocaleString('en-US')} calls of ${d.call_limit?.toLocaleString('en-US') ?? '?'}</title><rect x="${x + 1}" y="${y(d.used)}" width="${Math.max(1, bw - 2)}" height="${Math.max(1, h - y(d.used))}" class="used"/>${limit}</g>`;
    })
    .join('');
  const axis = `<line x1="${left}" x2="${left}" y1="0" y2="${h}" class="axis"/><text x="${left - 4}" y="14" text-anchor="end">${top.toLocaleString('en-US')}</text><text x="${left - 4}" y="${h}" text-anchor="end">0</text>`;
  const first = `<text x="${left + (slots - shown.length) * bw}" y="${h + 14}">${esc(shown[0]!.quota_day)}</text>`;
  const last = `<text x="${w}" y="${h + 14}" text-anchor="end">${esc(shown.at(-1)!.quota_day)}</text>`;
  const dates = shown.length > 3 ? first + last : last;
  return `<svg role="img" aria-label="API calls per day" viewBox="0 0 ${w} ${h + 18}" width="${w}" height="${h + 18}">${axis}${bars}${dates}</svg>`;
}

const STYLE = `
body{font:14px system-ui,sans-serif;margin:1rem 2rem;color:#222}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;margin:.4rem 0}th,td{border:1px solid #ddd;padding:.2rem .45rem;text-align:left}
th{background:#f4f4f4}td.n{text-align:right}
.cell,.run{text-align:center;font-size:12px}
.done,.success{background:#cdeccd}.running{background:#cfe3fb}.pending{background:#eee}
.failed{background:#f6c6c6}.partial{background:#fbe7b5}.none{background:#fafafa}
svg .used{fill:#4a86c5}svg .limit{stroke:#c0392b;stroke-width:2}svg .axis{stroke:#999}svg text{font-size:11px}
form{display:inline}fieldset{margin:.5rem 0;border:1px solid #ddd}output{display:block;white-space:pre-wrap;font-family:monospace}
`;

/**
 * Posts the form's fields as JSON to its data-endpoint (the status function: every action is
 * one of its own, each checked for the operator credential) with the operator field's value
 * as the Authorization header, and shows the answer.
 */
const SCRIPT = `${OPERATOR_SCRIPT}
for (const f of document.querySelectorAll('form[data-endpoint]')) {
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const el of f.elements) {
      if (!el.name || el.value === '' || (el.type === 'checkbox' && !el.checked && !el.dataset.list)) continue;
      if (el.dataset.list) { if (el.checked) (body[el.name] ??= []).push(el.value); continue; }
      if (el.dataset.split) body[el.name] = el.value.split(/[\\s,]+/).filter(Boolean);
      else if (el.type === 'checkbox') body[el.name] = true;
      else if (el.dataset.number) body[el.name] = Number(el.value);
      else body[el.name] = el.value;
    }
    if (body.action === 'run-step' && body.step !== 'collect-region') delete body.region;
    if (body.region === '-') delete body.region;
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

export function renderStatusPage(s: Status, nonce: string): string {
  const q = s.quota;
  const today = q.today;
  const plan = q.plan
    ? `EODHD plan ${esc(q.plan.subscription_type ?? 'unknown')}: ${q.plan.daily_rate_limit.toLocaleString('en-US')} calls a day${q.plan.extra_limit ? ` + ${q.plan.extra_limit} extra` : ''} (read ${esc(q.plan.read_on)})`
    : 'EODHD plan not read yet (the first run reads it)';
  const quotaLine = today
    ? `${esc(today.quota_day)}: ${today.used.toLocaleString('en-US')} calls used of ${today.call_limit?.toLocaleString('en-US') ?? '?'} (${today.calls_left.toLocaleString('en-US')} left${today.api_reported === null ? '' : `; the API counts ${today.api_reported.toLocaleString('en-US')}`})`
    : 'no calls yet';
  const runs = table(
    ['run', 'as of', 'trigger', 'status', 's', 'calls', 'done', 'failed', ...COLUMNS.map((c) => c.label)],
    s.runs.map(runRow),
    'grid',
  );
  const progress = table(
    ['region', 'active', 'prices', 'full history', 'fundamentals', 'indicators', 'failing', 'excluded', 'not found'],
    s.progress.map((p) => [
      td(p.region),
      ...[
        p.active_assets,
        p.with_prices,
        p.with_full_history,
        p.with_fundamentals,
        p.with_indicators,
        p.failing,
        p.excluded,
        p.not_found,
      ].map(num),
    ]),
  );
  const freshness = table(
    [
      'exchange',
      'region',
      'active',
      'with prices',
      'prices through',
      'last session',
      'sessions behind',
      'assets behind',
      'without prices',
    ],
    s.freshness.map((f) => [
      tdExchange(f.exchange),
      td(f.region),
      num(f.active_assets),
      num(f.with_prices),
      td(f.prices_through ?? '-'),
      td(f.last_session),
      f.sessions_behind === null ? td('-') : num(f.sessions_behind),
      num(f.behind),
      num(f.without_prices),
    ]),
  );
  const notInPlan =
    s.not_in_plan.length === 0
      ? '<p>Everything the pipeline uses is in the plan.</p>'
      : `<ul>${s.not_in_plan.map((x) => `<li><b>${esc(x.kind)}</b> since ${esc(x.since)}: ${esc(x.what)}${x.detail ? ` (${esc(x.detail)})` : ''}</li>`).join('')}</ul>`;
  const failing =
    s.failing.length === 0
      ? '<p>No failing tickers.</p>'
      : table(
          ['symbol', 'failures', 'excluded', 'last error', 'when', ''],
          s.failing.map((f) => [
            tdSymbol(f.symbol),
            num(f.consecutive_failures),
            td(f.excluded ? 'yes' : ''),
            td(f.last_error_message ?? ''),
            td(f.last_error_at ?? ''),
            `<td><form method="dialog" data-endpoint="status" data-output="reset-out"><input type="hidden" name="action" value="reset"><input type="hidden" name="symbol" value="${esc(f.symbol)}"><button>reset</button></form></td>`,
          ]),
        );
  const dq = s.data_quality;
  const quarantine = table(
    ['exchange', 'priced assets', 'quarantined', '%'],
    dq.quarantined.map((x) => [tdExchange(x.exchange), num(x.priced), num(x.quarantined), td(x.pct.toFixed(2))]),
  );
  const byCheck =
    dq.by_check.length === 0
      ? '<p>No open findings.</p>'
      : table(
          ['check', 'severity', 'exchange', 'open', 'confirmed'],
          dq.by_check.map((x) => [td(x.check), td(x.severity), tdExchange(x.exchange), num(x.open), num(x.confirmed)]),
        );
  const worst =
    dq.worst.length === 0
      ? ''
      : table(
          ['asset', 'exchange', 'open errors', 'open warnings'],
          dq.worst.map((x) => [tdSymbol(x.symbol), tdExchange(x.exchange), num(x.errors), num(x.warnings)]),
        );
  const decide = (b: Status['data_quality']['bars'][number], action: 'confirm' | 'drop') =>
    `<form method="dialog" data-endpoint="status" data-output="quality-out"><input type="hidden" name="action" value="${action}"><input type="hidden" name="symbol" value="${esc(b.symbol)}"><input type="hidden" name="date" value="${esc(b.date)}"><input type="hidden" name="check" value="${esc(b.check)}"><button>${action}</button></form>`;
  const bars =
    dq.bars.length === 0
      ? '<p>No quarantined bars.</p>'
      : table(
          ['asset', 'date', 'check', 'detail', 'asked again', ''],
          dq.bars.map((b) => [
            tdSymbol(b.symbol),
            td(b.date),
            td(b.check),
            td(b.detail),
            td(b.reasked ? 'yes, same answer' : 'not yet'),
            `<td>${decide(b, 'confirm')} ${decide(b, 'drop')}</td>`,
          ]),
        );
  const runOptions = s.runs
    .map((r) => `<option value="${r.execution_id}">${r.execution_id} (${esc(r.as_of)}, ${esc(r.status)})</option>`)
    .join('');
  const steps = CHAINED_STEPS;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Financial Screener pipeline: status</title><style>${STYLE}</style></head>
<body>
<h1>Financial Screener pipeline</h1>
<nav><a href="screen">Screen the data</a> (filters, presets, any day of the history; each ticker's page with its chart and audit trail)</nav>
<p id="summary">${plan}. Today ${quotaLine}. Page of ${esc(s.generated_at)}; the same as JSON: <code>curl -H 'Accept: application/json' …/function/status</code>.</p>
${OPERATOR_FIELD}
<h2>Runs</h2>
${s.runs.length === 0 ? '<p>No runs yet.</p>' : runs}
<h2>API calls per day (last 30 quota days; red: the day's limit)</h2>
${quotaChart(q.days)}
<h2>Coverage</h2>
${progress}
<h2>Freshness per exchange</h2>
${freshness}
<h2>Not in the plan</h2>
${notInPlan}
<h2>Failing tickers</h2>
${failing}
<output id="reset-out"></output>
<h2>Data quality</h2>
<p>${dq.corrections_7d.toLocaleString('en-US')} bars corrected by the API in the last 7 days (<code>v_price_corrections</code>). Open findings by check (<code>v_data_quality</code>); a bar with an open error is quarantined: indicators and screens leave it out until the API answers otherwise or an operator confirms it (a genuine move) or drops it.</p>
${quarantine}
${byCheck}
${worst}
<h3>Quarantined bars</h3>
${bars}
<output id="quality-out"></output>
<h2>Actions</h2>
<p>Reading is open; every action that writes asks for an operator credential (401 without it).</p>
<form method="dialog" data-endpoint="status" data-output="run-out"><fieldset><legend>Start a run</legend>
<input type="hidden" name="action" value="start-run">
<label>mode <select name="mode"><option>auto</option><option>bulk</option><option>incremental</option></select></label>
<label>as of <input type="date" name="asOf"></label>
<label>symbols <input name="symbols" data-split="1" placeholder="AAPL.US, BP.LSE"></label>
<label><input type="checkbox" name="dryRun"> dry run</label><br>
${EXCHANGES.map((x) => `<label><input type="checkbox" name="exchanges" value="${x}" data-list="1">${esc(exchangeLabel(x))}</label>`).join(' ')}
<br><button>start run</button></fieldset></form>
<output id="run-out"></output>
<form method="dialog" data-endpoint="status" data-output="step-out"><fieldset><legend>Re-run a step of a run</legend>
<input type="hidden" name="action" value="run-step">
<label>run <select name="executionId" data-number="1">${runOptions}</select></label>
<label>step <select name="step">${steps.map((x) => `<option>${x}</option>`).join('')}</select></label>
<label>region (collect-region) <select name="region"><option>-</option>${REGIONS.map((r) => `<option>${r}</option>`).join('')}</select></label>
<button>re-run</button></fieldset></form>
<output id="step-out"></output>
<script nonce="${esc(nonce)}">${SCRIPT}</script>
</body></html>`;
}
