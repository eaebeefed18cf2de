/**
 * `npm run docs:columns`: writes docs/screener-columns.md from SCREENER_COLUMNS (the one
 * description of each fundamentals column: unit, EODHD source fields, what 0 means), so
 * that the document cannot drift from the mapping (test/screener.test.ts checks it too).
 */
import fs from 'node:fs';
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
  'Regenerate with `npm run docs:columns` after changing the mapping.',
  '',
];
fs.writeFileSync('docs/screener-columns.md', lines.join('\n'));
console.log(`docs/screener-columns.md: ${SCREENER_COLUMNS.length + 1} columns`);
