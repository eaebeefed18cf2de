/**
 * Malformed and hostile requests, at least 50 per function: bodies that are not JSON or
 * not UTF-8, wrong types, missing and extra fields, huge and deeply nested bodies, unknown
 * regions and exchanges, SQL fragments, prototype keys, wrong methods. Every one must be
 * answered 4xx with a reason and change no row. None of them is a valid request (a valid
 * one would rightly open a run or do work), so each is checked against the schemas'
 * rules by hand: asOf dates that exist, exchanges lists that are valid, etc. are left out.
 */
import type { FunctionName } from '../../shared/platform/invoke.js';

export interface BadInput {
  what: string;
  body: string | Buffer;
  method?: string;
  /** Headers over the scenario's (Content-Type: application/json). */
  headers?: Record<string, string>;
  /** A query string (with its ?), for a function that reads GET requests (the screen). */
  query?: string;
}

/** A date `days` from today (UTC): the corpus's bounds move with the clock. */
const fromToday = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

const j = (v: unknown) => JSON.stringify(v);

/** Bad for every function, whatever its schema. */
function generic(): BadInput[] {
  const deepArray = '['.repeat(20_000) + ']'.repeat(20_000);
  const deepObject = '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000);
  const manyKeys = j(Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i])));
  return [
    { what: 'not JSON at all', body: 'hello' },
    { what: 'truncated JSON', body: '{"executionId": 1' },
    { what: 'a JSON array', body: '[1,2,3]' },
    { what: 'JSON null', body: 'null' },
    { what: 'a JSON string', body: '"executionId"' },
    { what: 'a JSON number', body: '42' },
    { what: 'JSON true', body: 'true' },
    { what: 'invalid UTF-8 (0xff 0xfe)', body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
    { what: 'invalid UTF-8 (overlong slash)', body: Buffer.from([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]) },
    { what: 'invalid UTF-8 (lone continuation bytes)', body: Buffer.from([0x80, 0x80, 0x80]) },
    {
      what: 'UTF-16LE with BOM',
      body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"executionId":1}', 'utf16le')]),
    },
    {
      what: 'invalid UTF-8 (surrogate encoded)',
      body: Buffer.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d]),
    },
    { what: 'NUL bytes', body: '\u0000\u0000\u0000' },
    { what: 'control characters in JSON', body: '{"executionId":\u0001 1}' },
    { what: 'two BOMs then {}', body: '\ufeff\ufeff{}' },
    { what: 'an unknown field', body: '{"executionId": 1, "dropTable": true}' },
    { what: 'SQL in a number field', body: j({ executionId: '1; DROP TABLE assets; --' }) },
    { what: 'SQL tautology in a number field', body: j({ executionId: '1 OR 1=1' }) },
    { what: 'SQL in a key', body: '{"executionId\\"; DELETE FROM stock_prices; --": 1}' },
    { what: 'a prototype key', body: '{"__proto__": {"admin": true}}' },
    { what: 'a prototype key beside a field', body: '{"executionId": 1, "__proto__": {"status": "done"}}' },
    { what: 'a constructor key', body: '{"constructor": {"prototype": {"polluted": 1}}}' },
    { what: 'a 300 KB body', body: j({ executionId: 1, pad: 'x'.repeat(300_000) }) },
    { what: 'a 5 MB body', body: j({ executionId: 1, pad: 'y'.repeat(5_000_000) }) },
    { what: 'a 200 KB string field', body: j({ executionId: 'A'.repeat(200_000) }) },
    { what: 'arrays nested 20,000 deep', body: deepArray },
    { what: 'objects nested 5,000 deep', body: deepObject },
    { what: '5,000 keys', body: manyKeys },
    { what: 'a number past float range', body: '{"executionId": 1e400}' },
    { what: 'NaN', body: '{"executionId": NaN}' },
    { what: 'a hex number', body: '{"executionId": 0x10}' },
    { what: 'single quotes', body: "{'executionId': 1}" },
    { what: 'a trailing comma', body: '{"executionId": 1,}' },
    { what: 'two documents', body: '{"executionId": 1} {"executionId": 2}' },
    { what: 'a comment', body: '/* hi */ {"executionId": 1}' },
    { what: 'XML', body: '<?xml version="1.0"?><executionId>1</executionId>' },
    { what: 'form encoding', body: 'executionId=1&region=us' },
    { what: 'a NUL in a string field', body: j({ executionId: '\u0000' }) },
    { what: 'a lone surrogate', body: '{"executionId": "\\ud800"}' },
    { what: 'past int32', body: j({ executionId: 2 ** 31 }) },
    { what: 'past 2^53', body: '{"executionId": 9007199254740993}' },
    { what: 'an array id', body: j({ executionId: [1] }) },
    { what: 'an operator object', body: j({ executionId: { $gt: 0 } }) },
    { what: 'a boolean id', body: j({ executionId: true }) },
    { what: 'a null id', body: j({ executionId: null }) },
    { what: 'a fullwidth digit', body: j({ executionId: '１' }) },
    { what: 'a duplicate key, the last one bad', body: '{"executionId": 1, "executionId": "x"}' },
    {
      what: 'every field of every function',
      body: j({ executionId: 1, region: 'us', mode: 'bulk', all: true, symbols: ['AAPL.US'] }),
    },
    { what: 'GET', body: '', method: 'GET' },
    { what: 'DELETE', body: '{}', method: 'DELETE' },
    { what: 'PATCH', body: '{}', method: 'PATCH' },
    { what: 'OPTIONS', body: '', method: 'OPTIONS' },
    {
      what: "a JSON body sent as text/plain (a web page's simple request)",
      body: j({ executionId: 1 }),
      headers: { 'content-type': 'text/plain' },
    },
    {
      what: 'a JSON body sent as a form',
      body: j({ executionId: 1 }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    },
    { what: 'a JSON body without a content type', body: j({ executionId: 1 }), headers: { 'content-type': '' } },
    { what: 'a request from a web page (foreign Origin)', body: '{}', headers: { origin: 'https://evil.example' } },
    { what: 'a cross-site fetch', body: '{}', headers: { 'sec-fetch-site': 'cross-site' } },
  ];
}

const specific: Record<FunctionName, BadInput[]> = {
  'init-execution': [
    { what: 'unknown mode', body: j({ mode: 'turbo' }) },
    { what: 'mode as number', body: j({ mode: 1 }) },
    { what: 'mode with SQL', body: j({ mode: "auto'; DROP TABLE process_executions; --" }) },
    { what: 'venue instead of exchange', body: j({ exchanges: ['NYSE'] }) },
    { what: 'MIC instead of exchange', body: j({ exchanges: ['XNYS'] }) },
    { what: 'lower-case exchange', body: j({ exchanges: ['us'] }) },
    { what: 'exchange with SQL', body: j({ exchanges: ["US'--"] }) },
    { what: 'empty exchanges', body: j({ exchanges: [] }) },
    { what: 'exchanges as a string', body: j({ exchanges: 'US' }) },
    { what: 'too many exchanges', body: j({ exchanges: Array.from({ length: 11 }, () => 'US') }) },
    { what: 'symbol without exchange', body: j({ symbols: ['AAPL'] }) },
    { what: 'symbol on an unknown exchange', body: j({ symbols: ['AAPL.XX'] }) },
    { what: 'lower-case exchange suffix', body: j({ symbols: ['aapl.us'] }) },
    { what: 'symbol with SQL', body: j({ symbols: ["' OR 1=1 --.US"] }) },
    { what: 'symbol path traversal', body: j({ symbols: ['../../etc/passwd.US'] }) },
    { what: 'symbol with NUL', body: j({ symbols: ['AAPL\u0000.US'] }) },
    { what: 'empty symbols', body: j({ symbols: [] }) },
    { what: '1,001 symbols', body: j({ symbols: Array.from({ length: 1001 }, (_, i) => `T${i}.US`) }) },
    { what: 'dryRun as string', body: j({ dryRun: 'yes' }) },
    { what: 'skipExisting as number', body: j({ skipExisting: 1 }) },
    { what: 'month 13', body: j({ asOf: '2026-13-01' }) },
    { what: '29 February 2026', body: j({ asOf: '2026-02-29' }) },
    { what: 'a date-time', body: j({ asOf: '2026-11-20T00:00:00Z' }) },
    { what: 'asOf with SQL', body: j({ asOf: "2026-11-20'; --" }) },
    { what: 'staleMinutes negative', body: j({ mode: 'resume', staleMinutes: -1 }) },
    { what: 'staleMinutes as string', body: j({ mode: 'resume', staleMinutes: '15' }) },
    { what: 'staleMinutes past a day', body: j({ mode: 'resume', staleMinutes: 100_000 }) },
    { what: 'staleSeconds fractional', body: j({ mode: 'resume', staleSeconds: 1.5 }) },
    { what: 'staleMinutes and staleSeconds', body: j({ mode: 'resume', staleMinutes: 1, staleSeconds: 60 }) },
    // Every bound of the trading day: past them a loop over the days could run away.
    {
      what: "asOf 9999-12-31 (past the API's next day; a dry run that once looped for good)",
      body: j({ asOf: '9999-12-31', dryRun: true, exchanges: ['SW'] }),
    },
    { what: 'asOf three days ahead', body: j({ asOf: fromToday(3) }) },
    { what: 'asOf next year', body: j({ asOf: fromToday(366), mode: 'incremental' }) },
    { what: 'asOf before the history start', body: j({ asOf: '1969-12-31' }) },
    { what: 'asOf in year 1', body: j({ asOf: '0001-01-01', dryRun: true }) },
    { what: 'asOf year 0', body: j({ asOf: '0000-06-15' }) },
    { what: 'asOf with a five-digit year', body: j({ asOf: '10000-01-01' }) },
    { what: 'asOf and symbols, asOf far ahead', body: j({ asOf: '2999-01-01', symbols: ['AAPL.US'] }) },
  ],
  'discover-delta': [
    { what: 'empty object', body: '{}' },
    { what: 'empty body', body: '' },
    { what: 'negative id', body: j({ executionId: -1 }) },
    { what: 'zero id', body: j({ executionId: 0 }) },
    { what: 'fractional id', body: j({ executionId: 1.5 }) },
    { what: 'id as string', body: j({ executionId: '1' }) },
    { what: 'a region too', body: j({ executionId: 1, region: 'us' }) },
    { what: 'a run that does not exist', body: j({ executionId: 999_999 }) },
  ],
  'check-quota': [
    { what: 'empty object', body: '{}' },
    { what: 'empty body', body: '' },
    { what: 'negative id', body: j({ executionId: -5 }) },
    { what: 'id as word', body: j({ executionId: 'abc' }) },
    { what: 'id as object', body: j({ executionId: {} }) },
    { what: 'a budget too', body: j({ executionId: 1, budget: 1_000_000 }) },
    { what: 'a run that does not exist', body: j({ executionId: 999_999 }) },
  ],
  'collect-region': [
    { what: 'no region', body: j({ executionId: 1 }) },
    { what: 'no id', body: j({ region: 'us' }) },
    { what: 'unknown region', body: j({ executionId: 1, region: 'asia' }) },
    { what: 'upper-case region', body: j({ executionId: 1, region: 'US' }) },
    { what: 'empty region', body: j({ executionId: 1, region: '' }) },
    { what: 'region with spaces', body: j({ executionId: 1, region: ' us ' }) },
    { what: 'region with NUL', body: j({ executionId: 1, region: 'us\u0000' }) },
    { what: 'fullwidth region', body: j({ executionId: 1, region: 'ｕｓ' }) },
    { what: 'region with SQL', body: j({ executionId: 1, region: "us'; DROP TABLE work_items; --" }) },
    { what: 'region as list', body: j({ executionId: 1, region: ['us'] }) },
    { what: 'region null', body: j({ executionId: 1, region: null }) },
    { what: 'an exchange as region', body: j({ executionId: 1, region: 'LSE' }) },
    { what: 'id as string', body: j({ executionId: '1', region: 'us' }) },
    { what: 'a run that does not exist', body: j({ executionId: 999_999, region: 'us' }) },
  ],
  finalize: [
    { what: 'empty object', body: '{}' },
    { what: 'boolean id', body: j({ executionId: false }) },
    { what: 'negative id', body: j({ executionId: -5 }) },
    { what: 'a status too', body: j({ executionId: 1, status: 'success' }) },
    { what: 'a run that does not exist', body: j({ executionId: 999_999 }) },
  ],
  'calc-indicators': [
    { what: 'empty object', body: '{}' },
    { what: 'all false', body: j({ all: false }) },
    { what: 'all as string', body: j({ all: 'true' }) },
    { what: 'empty symbols', body: j({ symbols: [] }) },
    { what: 'symbol without exchange', body: j({ symbols: ['AAPL'] }) },
    { what: 'symbol with SQL', body: j({ symbols: ["X.US'); DELETE FROM technical_indicators; --"] }) },
    { what: 'id and all', body: j({ executionId: 1, all: true }) },
    { what: 'symbols and all', body: j({ symbols: ['AAPL.US'], all: true }) },
    { what: 'unknown symbols', body: j({ symbols: ['NOPE.US', 'NADA.LSE'] }) },
    { what: 'a run that does not exist', body: j({ executionId: 999_999 }) },
    { what: '25,001 symbols', body: j({ symbols: Array.from({ length: 25_001 }, (_, i) => `Z${i}.US`) }) },
  ],
};

export function badInputsFor(fn: FunctionName): BadInput[] {
  return [...generic(), ...specific[fn]];
}

/**
 * The screen's bad requests (a read-only function: a GET or an empty POST is a valid screen,
 * so the generic corpus's GET and {} are left out). SQL in every place a name goes, counts
 * and nesting past the grammar, values out of range: each a 4xx with a reason, nothing written.
 */
export function screenBadInputs(): BadInput[] {
  const q = (params: Record<string, string>) => `?${new URLSearchParams(params).toString()}`;
  const deep = `{"filters": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
  return [
    ...generic().filter((b) => b.method !== 'GET'),
    { what: 'SQL in a field name', body: j({ filters: [['market_cap; DROP TABLE assets', '>', 1]] }) },
    { what: 'SQL in a field name (quoted)', body: j({ filters: [['"market_cap"; DELETE FROM assets; --', '=', 1]] }) },
    { what: 'SQL in an operation', body: j({ filters: [['market_cap', '> 0; DROP TABLE assets; --', 1]] }) },
    { what: 'SQL tautology as an operation', body: j({ filters: [['pe_ratio', 'OR 1=1 --', 1]] }) },
    { what: 'SQL in a value', body: j({ filters: [['pe_ratio', '<', '1; DROP TABLE assets; --']] }) },
    { what: 'SQL in a sort', body: j({ sort: 'market_cap; DROP TABLE assets.desc' }) },
    { what: 'SQL in a sort direction', body: j({ sort: 'market_cap.desc; DROP TABLE assets' }) },
    { what: 'SQL in a column', body: j({ columns: ['pe_ratio', '1); DELETE FROM assets; --'] }) },
    { what: 'SQL in a currency', body: j({ currency: "USD'; DROP TABLE fx_rates; --" }) },
    { what: 'SQL in an exchange', body: j({ exchanges: ["US'--"] }) },
    { what: 'SQL in a signal', body: j({ signals: ["golden_cross'); DELETE FROM assets; --"] }) },
    { what: 'SQL in a preset', body: j({ preset: "value' OR '1'='1" }) },
    { what: '10,000 filters', body: j({ filters: Array.from({ length: 10_000 }, () => ['pe_ratio', '>', 1]) }) },
    { what: '51 filters', body: j({ filters: Array.from({ length: 51 }, () => ['pe_ratio', '>', 1]) }) },
    { what: 'filters nested 10,000 deep', body: deep },
    { what: 'a value nested in a list', body: j({ filters: [['sector', 'in', [[['Technology']]]]] }) },
    {
      what: 'an in of 1,001 values',
      body: j({ filters: [['sector', 'in', Array.from({ length: 1001 }, (_, i) => `s${i}`)]] }),
    },
    { what: 'a 201-character string', body: j({ filters: [['name', 'match', 'x'.repeat(201)]] }) },
    { what: 'a huge limit', body: j({ limit: 1_000_000_000 }) },
    { what: 'limit 0', body: j({ limit: 0 }) },
    { what: 'a fractional limit', body: j({ limit: 1.5 }) },
    { what: 'a negative offset', body: j({ offset: -1 }) },
    { what: 'an offset past the bound', body: j({ offset: 100_001 }) },
    { what: 'asOf 2024-13-45', body: j({ asOf: '2024-13-45' }) },
    { what: 'asOf 1900-01-01 (before the history)', body: j({ asOf: '1900-01-01' }) },
    { what: 'asOf far ahead', body: j({ asOf: '2999-01-01' }) },
    { what: 'a number for a string field', body: j({ filters: [['sector', '=', 5]] }) },
    { what: 'a string for a number field', body: j({ filters: [['pe_ratio', '<', '15']] }) },
    { what: 'a string operation on a number', body: j({ filters: [['pe_ratio', 'match', '1']] }) },
    { what: 'between the wrong way round', body: j({ filters: [['pe_ratio', 'between', [20, 5]]] }) },
    { what: 'an unknown field', body: j({ filters: [['market_capp', '>', 1]] }) },
    { what: 'an unknown signal', body: j({ signals: ['golden_cros'] }) },
    { what: 'an unknown preset', body: j({ preset: 'cheap' }) },
    { what: 'an unknown currency', body: j({ currency: 'XYZ' }) },
    { what: 'includeStale as a word', body: j({ includeStale: 'yes' }) },
    {
      what: 'GET: SQL in the filters',
      body: '',
      method: 'GET',
      query: q({ filters: '[["x;DROP TABLE assets","=",1]]' }),
    },
    { what: 'GET: filters not JSON', body: '', method: 'GET', query: q({ filters: '[["pe_ratio"' }) },
    { what: 'GET: SQL in a sort', body: '', method: 'GET', query: q({ sort: 'pe_ratio;DELETE FROM assets' }) },
    { what: 'GET: a huge limit', body: '', method: 'GET', query: q({ limit: '99999999999' }) },
    { what: 'GET: a negative offset', body: '', method: 'GET', query: q({ offset: '-5' }) },
    { what: 'GET: asOf 2024-13-45', body: '', method: 'GET', query: q({ asOf: '2024-13-45' }) },
    { what: 'GET: an unknown parameter', body: '', method: 'GET', query: q({ api_token: 'x', drop: 'table' }) },
    { what: 'GET: a bad format', body: '', method: 'GET', query: q({ format: 'xml' }) },
  ];
}
