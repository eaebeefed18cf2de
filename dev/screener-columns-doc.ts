/**
 * `npm run docs:columns`: writes docs/screener-columns.md from SCREENER_COLUMNS (the one
 * description of each fundamentals column: unit, EODHD source fields, what 0 means), so
 * that the document cannot drift from the mapping (test/screener.test.ts checks it too).
 */
import fs from 'node:fs';
import { GROWTH_COLUMNS, MAX_PERIODS, REPORT_COLUMNS, SCREENER_COLUMNS } from '../shared/store/fundamentals.js';

const zero = (c: (typeof SCREENER_COLUMNS)[number]) => ('zero' in c ? (c.zero === 'value' ? '0' : 'NULL') : '');
const lines = [
  '# Screener columns',
  '',
  "The columns of `financial_screener.fundamentals` filled from EODHD's fundamentals document (kept",
  'whole in `fundamentals.data`), as `shared/store/fundamentals.ts` maps them. Sources are tried in order:',
  "a stock's field first, then an ETF's (`ETF_Data`), then a mutual fund's (`MutualFund_Data`).",
  '',
  '- NULL means unknown: EODHD wrote `null`, `""`, `"NA"`, `"No Data"`, `"0000-00-00"`, or the section',
  '  as the string `"NA"`. Numbers given as strings (`"0"`, `"1.2900"`) are numbers.',
  '- "EODHD\'s 0 is" says what a 0 from EODHD becomes: `0` where nothing is a real value (a company',
  '  that pays no dividend has a yield of 0), `NULL` where EODHD writes 0 for "no data" (a market cap,',
  '  the P/E of a loss-maker).',
  "- Money is in the major unit of `currency` (EODHD gives London stocks' fundamentals in pounds",
  '  while their prices are in pence: `v_screener` shows both in pounds). Fractions: 0.0043 is 0.43%.',
  "- `sector` and `industry` are EODHD's own classification, the `gic_*` columns GICS's; one is never",
  '  filled from the other.',
  '',
  "| column | unit | EODHD source fields | EODHD's 0 is | note |",
  '| --- | --- | --- | --- | --- |',
  ...SCREENER_COLUMNS.map(
    (c) =>
      `| \`${c.column}\` | ${c.unit} | ${c.from.map((s) => `\`${s.path}\`${s.scale === 0.01 ? ' (percent, / 100)' : ''}`).join(', ')} | ${zero(c)} | ${c.note ?? ''} |`,
  ),
  '| `next_earnings_date` | date | `Earnings.History[].reportDate` (the first on or after the fetch) | | |',
  '',
  '## As they were known',
  '',
  'Every fetch keeps these columns (all but `source_updated_at`) as a version in `fundamentals_versions`,',
  "known from the fetch day (the API's clock), when they differ from the asset's latest version; a refetch",
  'with equal columns makes the latest version last longer. `v_fundamentals_as_known` gives each version',
  'with `known_from` and `known_until` (the day before the next version; NULL for the current one);',
  '`fundamentals_as_of(d)` gives, per asset, the version known on day d.',
  '',
  '### Financial statements: `financial_reports`',
  '',
  'One row per asset, statement (`income_statement`, `balance_sheet`, `cash_flow`), frequency (`quarterly`,',
  "`yearly`), period (`period_end`: the statement's `date`) and version of its figures (`first_seen`: the fetch",
  'day it was first seen), from `Financials.Income_Statement`, `Balance_Sheet` and `Cash_Flow`',
  "(`quarterly` and `yearly`; `annual` and the bulk endpoint's `quarterly_last_N` / `yearly_last_N` alike).",
  `At most the ${MAX_PERIODS} most recent periods of each statement and frequency are read from a document.`,
  "`filing_date` is EODHD's (NULL when it gives none or one before the period's end): a row is public from",
  'its `filing_date`, else from `first_seen`. A period whose figures, currency or filing date differ from its',
  'latest row (a restatement) adds a row; the earlier row stays. Money is in `currency`',
  "(the statement's `currency_symbol`), as EODHD gives it: not scaled.",
  '',
  '| column | statement | EODHD source fields | unit |',
  '| --- | --- | --- | --- |',
  ...REPORT_COLUMNS.map((c) => `| \`${c.column}\` | ${c.statement} | ${c.from} | ${c.unit} |`),
  '',
  '### Earnings reports: `earnings_reports`',
  '',
  "`Earnings.History` (array, object keyed by date, or the bulk endpoint's `Last_N`): one row per asset,",
  'quarter (`period_end`: `date`) and version, by the same rule, for reports with an `epsActual` whose',
  "`reportDate` is not after the fetch day (an upcoming report's estimate moves with every fetch): `report_date`,",
  '`before_after_market`, `currency`, `actual` (`epsActual`), `estimate` (`epsEstimate`), `difference`',
  '(`epsDifference`), all money per share, and `surprise_pct` (`surprisePercent`, percent: 6.4 is 6.4%).',
  '',
  '### Growth as known on day d: `fundamental_growth_as_of(d)`',
  '',
  'Per asset, from the yearly income statements public on or before d (of several versions of a year, the',
  'latest public by d); t is the latest such fiscal year (`fiscal_year_end`), t-k the yearly period ending',
  'within 45 days of k years before t. Fractions a year (0.12 is 12% a year). NULL when a year is missing or',
  'its value is not positive (no growth rate from a loss) and, over 3 and 5 years, when the latest is negative.',
  '',
  '| column | formula |',
  '| --- | --- |',
  ...GROWTH_COLUMNS.map((c) => `| \`${c.column}\` | ${c.formula} |`),
  '',
  'Regenerate with `npm run docs:columns` after changing the mapping.',
  '',
];
fs.writeFileSync('docs/screener-columns.md', lines.join('\n'));
console.log(
  `docs/screener-columns.md: ${SCREENER_COLUMNS.length + 1} columns, ${REPORT_COLUMNS.length} statement columns, ${GROWTH_COLUMNS.length} growth columns`,
);
