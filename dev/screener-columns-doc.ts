/**
 * `npm run docs:columns`: writes docs/screener-columns.md from SCREENER_COLUMNS (the one
 * description of each fundamentals column: unit, EODHD source fields, what 0 means) and
 * FIGURES (each derived figure's formula and unit), so that the document cannot drift from
 * the code (test/screener.test.ts and test/indicator-history.test.ts check it too).
 */
import fs from 'node:fs';
import { AVERAGE_SESSIONS, CHANGE_SESSIONS, FIGURES } from '../shared/domain/figures.js';
import { SCREENER_COLUMNS } from '../shared/store/fundamentals.js';

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
  '## Derived figures',
  '',
  'The columns of `financial_screener.indicator_history` (view `v_indicator_history`) besides the 31',
  'indicators, one row per asset and session, computed by calc-indicators from the bars up to that',
  'session (`shared/domain/figures.ts`; quarantined bars left out, as for the indicators):',
  '',
  "- `adj` is the adjusted close (EODHD's `adjusted_close`: splits and dividends); an open is adjusted by",
  '  the same factor (`adjusted_close / close`) so that a split is no gap. `close` is the raw close.',
  `- Months are sessions, not calendar months: ${Object.entries(CHANGE_SESSIONS)
    .map(([c, n]) => `\`${c}\` ${n}`)
    .join(', ')}`,
  '  sessions back, the same on every exchange. The year to date is calendar: from the last session of',
  "  the previous year. Percent like EODHD's `refund_1d_p`: 2.5 is +2.5%.",
  `- Averages are over ${AVERAGE_SESSIONS} sessions. NULL: not enough sessions before the day, or a zero to divide by.`,
  '',
  '| column | unit | formula |',
  '| --- | --- | --- |',
  ...FIGURES.map((f) => `| \`${f.column}\` | ${f.unit} | ${f.formula} |`),
  '',
  'Regenerate with `npm run docs:columns` after changing the mapping or a figure.',
  '',
];
fs.writeFileSync('docs/screener-columns.md', lines.join('\n'));
console.log(`docs/screener-columns.md: ${SCREENER_COLUMNS.length + 1} columns, ${FIGURES.length} derived figures`);
