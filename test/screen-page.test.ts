/**
 * The screen page's rendering (shared/screen/screen-page.ts) with a hand-made answer: every
 * value escaped, symbols linked to their ticker pages, exchanges by name, the sort links
 * (toggled, the current one marked), paging ("rows 51-100 of 1,234"), the CSV link and the
 * curl line in the screen function's query format, the form's rows, and a bad request's
 * line. And the form's filter rows as the `filters` triples they stand for (form-filters.ts).
 */

import test from 'ava';
import { EXCHANGE_NAMES, EXCHANGES } from '../shared/domain/exchanges.js';
import { SCREEN_FIELDS, SIGNALS } from '../shared/domain/screen-fields.js';
import type { Preset, ScreenAnswer, ScreenRequest } from '../shared/screen/contract.js';
import { formFilters } from '../shared/screen/form-filters.js';
import {
  renderScreenPage,
  requestQuery,
  type ScreenPageInput,
  screenPageResult,
} from '../shared/screen/screen-page.js';

const EVIL = `<script>alert("x")</script> & 'Co'`;

const request: ScreenRequest = {
  filters: [
    { field: 'market_cap', op: '>=', value: 1e9 },
    { field: 'sector', op: 'in', value: ['Technology', 'Energy'] },
    { field: 'pe_ratio', op: 'between', value: [5, 20] },
    { field: 'name', op: 'match', value: EVIL },
  ],
  signals: ['golden_cross'],
  preset: 'value',
  sort: [{ field: 'market_cap', dir: 'desc' }],
  limit: 50,
  offset: 50,
  columns: ['market_cap', 'pe_ratio', 'dividend_yield', 'change_1d_pct', 'sector'],
  exchanges: ['US', 'PA'],
  asOf: '2026-06-30',
  currency: 'EUR',
  includeStale: false,
};

const answer: ScreenAnswer = {
  asOf: '2026-06-30',
  total: 1234,
  currency: 'EUR',
  columns: ['symbol', 'exchange', 'name', 'market_cap', 'pe_ratio', 'dividend_yield', 'change_1d_pct', 'sector'],
  data: [
    {
      symbol: 'AAPL.US',
      exchange: 'US',
      name: 'Apple Inc',
      market_cap: 2.5e12,
      pe_ratio: 28.456,
      dividend_yield: 0.0051,
      change_1d_pct: -1.25,
      sector: 'Technology',
    },
    {
      symbol: 'M&G.PA',
      exchange: 'PA',
      name: EVIL,
      market_cap: 1.234e9,
      pe_ratio: null,
      dividend_yield: 0.0234,
      change_1d_pct: 3.5,
      sector: '<b>Energy</b>',
    },
  ],
  limit: 50,
  offset: 50,
};

const presets: Preset[] = [
  {
    name: 'value',
    description: 'cheap on earnings and book',
    filters: [{ field: 'pe_ratio', op: '<', value: 15 }],
    signals: [],
    sort: [{ field: 'pe_ratio', dir: 'asc' }],
    columns: ['pe_ratio'],
  },
  { name: 'momentum', description: `strong <trend>`, filters: [], signals: [], sort: [], columns: [] },
];

const input = (over: Partial<ScreenPageInput> = {}): ScreenPageInput => ({
  answer,
  request,
  presets,
  fields: SCREEN_FIELDS,
  signals: SIGNALS,
  exchanges: EXCHANGES.map((code) => ({ code, name: EXCHANGE_NAMES[code] })),
  query: {},
  error: null,
  nonce: 'bm9uY2Utb2YtdGVzdA==',
  pageUrl: 'http://gateway.example:8080/function/screen',
  ...over,
});

/** The hrefs of the page, decoded back from HTML. */
const hrefs = (html: string) =>
  [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"'));
const query = (href: string) => new URLSearchParams(href.replace(/^\?/, ''));

test('every value is escaped: names, text cells, filter values, preset descriptions', (t) => {
  const html = renderScreenPage(input());
  t.false(html.includes('<script>alert'), 'no markup from the data');
  t.false(html.includes('<b>Energy</b>'));
  t.false(html.includes('<trend>'));
  t.true(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;'));
  t.true(html.includes('&lt;b&gt;Energy&lt;/b&gt;'));
  t.is([...html.matchAll(/<script/g)].length, 1, 'one script');
  t.true(html.includes('<script nonce="bm9uY2Utb2YtdGVzdA==">'));
  t.false(/ on[a-z]+=/i.test(html), 'no inline handlers');
  t.false(/(src|href)="(https?:)?\/\//.test(html), 'nothing from elsewhere');
});

test('symbols link to their ticker pages, exchanges show their names, numbers are readable', (t) => {
  const html = renderScreenPage(input());
  t.true(html.includes('<a href="screen/ticker/AAPL.US">AAPL.US</a>'));
  t.true(html.includes('<a href="screen/ticker/M%26G.PA">M&amp;G.PA</a>'), 'a symbol with & is encoded in its link');
  t.true(html.includes('<td>US (NYSE, NASDAQ, ...) (US)</td>'));
  t.true(html.includes('<td>Euronext Paris (PA)</td>'));
  t.true(html.includes('>2.50T EUR<'), 'big money compact with its currency');
  t.true(html.includes('>1.23B EUR<'));
  t.true(html.includes('>0.51%<'), 'a fraction as a percent');
  t.true(html.includes('>-1.25%<'), 'a percent');
  t.true(html.includes('>28.46<'), 'a ratio with two decimals');
  t.regex(html, /As of 2026-06-30: 1,234 listings pass/);
  t.true(hrefs(html).includes('status'), 'the status page');
});

test('sort links: the current sort marked and toggled, another column sorted its natural way, offset reset', (t) => {
  const html = renderScreenPage(input());
  const header = (c: string) => new RegExp(`<th[^>]*><a href="([^"]*)" title="[^"]*">${c}</a>([^<]*)</th>`).exec(html);
  const mc = header('market_cap');
  t.truthy(mc);
  t.is(mc![2], ' ▼', 'the current sort is marked');
  t.regex(html, /<th aria-sort="descending" class="sorted"><a [^>]*>market_cap<\/a>/);
  const decode = (h: string) => query(h.replace(/&amp;/g, '&').replace(/&quot;/g, '"'));
  t.is(decode(mc![1]!).get('sort'), 'market_cap.asc', 'clicked again: the other way');
  t.is(decode(header('pe_ratio')![1]!).get('sort'), 'pe_ratio.desc', 'a number: largest first');
  t.is(decode(header('name')![1]!).get('sort'), 'name.asc', 'text: A first');
  t.is(decode(header('pe_ratio')![1]!).get('offset'), null, 'back to the first page');
  // The rest of the request is kept by the link.
  const q = decode(header('pe_ratio')![1]!);
  t.is(q.get('preset'), 'value');
  t.is(q.get('asOf'), '2026-06-30');
  t.is(q.get('exchanges'), 'US,PA');
  t.deepEqual(JSON.parse(q.get('filters')!), [
    ['market_cap', '>=', 1e9],
    ['sector', 'in', ['Technology', 'Energy']],
    ['pe_ratio', 'between', [5, 20]],
    ['name', 'match', EVIL],
  ]);
  // Without a sort of its own, the preset's first sort is the one in effect.
  const byPreset = renderScreenPage(input({ request: { ...request, sort: [] } }));
  t.regex(byPreset, /<th aria-sort="ascending" class="sorted"><a [^>]*>pe_ratio<\/a> ▲<\/th>/);
});

test('paging: "rows 51-100 of 1,234", previous to the first page, next to the third', (t) => {
  const page2 = { ...answer, data: Array.from({ length: 50 }, (_, i) => ({ ...answer.data[0]!, symbol: `S${i}.US` })) };
  const html = renderScreenPage(input({ answer: page2 }));
  t.regex(html, /<span id="rows">rows 51-100 of 1,234<\/span>/);
  const prev = /<a rel="prev" href="([^"]*)"/.exec(html)![1]!.replace(/&amp;/g, '&');
  const next = /<a rel="next" href="([^"]*)"/.exec(html)![1]!.replace(/&amp;/g, '&');
  t.is(query(prev).get('offset'), null, 'the first page');
  t.is(query(next).get('offset'), '100');
  t.is(query(next).get('sort'), 'market_cap.desc');
  // The last page has no next; the first none before it.
  const lastPage = renderScreenPage(
    input({ answer: { ...answer, offset: 1200, total: 1202 }, request: { ...request, offset: 1200 } }),
  );
  t.regex(lastPage, /rows 1,201-1,202 of 1,202/);
  t.false(lastPage.includes('rel="next"'));
  const firstPage = renderScreenPage(input({ answer: { ...answer, offset: 0 }, request: { ...request, offset: 0 } }));
  t.false(firstPage.includes('rel="prev"'));
  const none = renderScreenPage(
    input({ answer: { ...answer, total: 0, offset: 0, data: [] }, request: { ...request, offset: 0 } }),
  );
  t.regex(none, /No listing passes this screen on that day/);
});

test("the CSV link and the curl line ask for the same request in the function's query format", (t) => {
  const html = renderScreenPage(input());
  const csv = query(
    /<a id="csv" href="([^"]*)"/
      .exec(html)![1]!
      .replace(/&amp;/g, '&')
      .replace(/&quot;/g, '"'),
  );
  t.is(csv.get('format'), 'csv');
  t.is(csv.get('preset'), 'value');
  t.is(csv.get('sort'), 'market_cap.desc');
  t.is(csv.get('currency'), 'EUR');
  t.is(csv.get('columns'), 'market_cap,pe_ratio,dividend_yield,change_1d_pct,sector');
  const same = requestQuery(request);
  for (const k of ['filters', 'signals', 'exchanges', 'asOf']) t.is(csv.get(k), same.get(k), k);
  const curl = /<code id="curl" data-query="[^"]*">([^<]*)<\/code>/
    .exec(html)![1]!
    .replace(/&amp;/g, '&')
    .replace(/&#39;/g, "'");
  t.true(curl.startsWith("curl -s 'http://gateway.example:8080/function/screen?"), curl);
  t.true(curl.endsWith("'"));
  const q = new URLSearchParams(curl.slice(curl.indexOf('?') + 1, -1));
  t.deepEqual([...q.entries()], [...requestQuery(request).entries()]);
  t.false(
    /'[^']*'[^']*'/.test(curl.replace(/'$/, '').replace(/^curl -s '/, "'")),
    'no quote inside the URL: it is encoded',
  );
  // Without the page's URL the line starts with its path (the script puts the origin in front).
  t.regex(renderScreenPage(input({ pageUrl: null })), /curl -s '\/function\/screen\?preset=value/);
});

test("the form: a GET to the page itself with the request's preset, rows, signals, exchanges, day and sort", (t) => {
  const html = renderScreenPage(input());
  t.regex(html, /<form id="screen" method="get" action="">/);
  t.regex(html, /<option value="value" title="cheap on earnings and book" selected>/);
  // The request's four filters, then three empty rows.
  t.regex(html, /<select name="f1_field">.*<option value="market_cap" [^>]*selected>/s);
  t.regex(html, /<select name="f1_op">.*<option selected>&gt;=<\/option>/s);
  t.true(html.includes('<input name="f1_value" value="1000000000"'));
  t.true(html.includes('<input name="f2_value" value="Technology,Energy"'));
  t.true(html.includes('<input name="f3_value" value="5,20"'));
  t.true(html.includes('<input name="f7_value" value=""'));
  t.false(html.includes('name="f8_value"'));
  t.regex(html, /<optgroup label="Valuation">/);
  t.regex(html, /<input type="checkbox" name="signals" value="golden_cross" checked>/);
  t.regex(html, /<input type="checkbox" name="exchanges" value="PA" checked>Euronext Paris \(PA\)/);
  t.regex(html, /<input type="checkbox" name="exchanges" value="LSE">London Stock Exchange \(LSE\)/);
  t.regex(html, /<input type="date" name="asOf" value="2026-06-30">/);
  t.regex(html, /<input type="hidden" name="sort" value="market_cap.desc">/);
  t.regex(html, /<input name="currency" value="EUR"/);
});

test('a bad request: its line above the form, the form as it was sent, no results', (t) => {
  const html = renderScreenPage(
    input({
      answer: null,
      request: null,
      error: 'filters.0: unknown field "pe_ratoi": did you mean pe_ratio, peg_ratio? <sic>',
      query: { f1_field: 'pe_ratoi', f1_op: '<', f1_value: '15', preset: 'value', asOf: '2026-01-02' },
    }),
  );
  t.regex(
    html,
    /<p class="error" role="alert" id="error">filters\.0: unknown field &quot;pe_ratoi&quot;.* &lt;sic&gt;<\/p>/,
  );
  t.regex(html, /<option value="pe_ratoi" selected>pe_ratoi \(unknown\)<\/option>/);
  t.true(html.includes('<input name="f1_value" value="15"'));
  t.regex(html, /<input type="date" name="asOf" value="2026-01-02">/);
  t.false(html.includes('id="results"'));
  t.false(html.includes('id="curl"'));
});

test("the answer's headers: HTML, its nonce in the policy, the form may submit only to the page", (t) => {
  const { nonce: _, ...rest } = input();
  const r = screenPageResult(rest, 400);
  t.is(r.status, 400);
  const csp = r.headers['content-security-policy'];
  const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
  t.true(String(r.body).includes(`<script nonce="${nonce}">`));
  t.regex(csp, /form-action 'self'/);
  t.regex(csp, /default-src 'none'/);
  t.regex(r.headers['content-type'], /text\/html/);
});

test('form rows become filters triples typed by their field; empty rows are left out; a half row is refused', (t) => {
  t.deepEqual(
    formFilters({
      f2_field: 'sector',
      f2_op: 'in',
      f2_value: 'Technology, Energy ,',
      f1_field: 'market_cap',
      f1_op: '>=',
      f1_value: '1e9',
      f3_field: 'pe_ratio',
      f3_op: 'between',
      f3_value: '5,20',
      f4_field: '',
      f4_op: '',
      f4_value: '',
      f5_field: 'name',
      f5_op: 'match',
      f5_value: 'bank',
      f6_field: 'dividend_yield',
      f6_op: 'not null',
      f6_value: 'ignored',
      f7_field: 'rsi_14',
      f7_op: '<',
      f7_value: 'thirty',
      preset: 'value',
    }),
    {
      ok: true,
      filters: [
        ['market_cap', '>=', 1e9],
        ['sector', 'in', ['Technology', 'Energy']],
        ['pe_ratio', 'between', [5, 20]],
        ['name', 'match', 'bank'],
        ['dividend_yield', 'not null', null],
        // Not a number: left as text for the validation to refuse with its reason.
        ['rsi_14', '<', 'thirty'],
      ],
    },
  );
  t.deepEqual(formFilters({ preset: 'value' }), { ok: true, filters: [] });
  t.like(formFilters({ f51_field: 'pe_ratio', f51_op: '<', f51_value: '1' }), { ok: false });
  t.like(formFilters({ f1_op: '<', f1_value: '15' }), { ok: false });
  t.like(formFilters({ f1_field: 'pe_ratio', f1_value: '15' }), { ok: false });
});
