/**
 * Each function's contract through its handler: bad input of every kind gets a 4xx with a
 * reason and changes no row (a body that is not JSON: 415); a step of a run that does not
 * exist gets 404, of a finished run 409; good input is accepted; a second trigger gets 409.
 * And the day arithmetic behind the input's date bounds cannot run away.
 */
import test from 'ava';
import { addDays, weekdaysBetween } from '../shared/domain/dates.js';
import { closeDb } from '../shared/platform/db.js';
import type { FunctionEvent, FunctionResult, Handler } from '../shared/platform/function-contract.js';
import { setInvoker } from '../shared/platform/invoke.js';
import { fitPriceUpdates } from '../shared/steps/check-quota.js';
import { createTestDb, rowCounts, type TestDb } from './helpers/db.js';

let tdb: TestDb;
const invoked: Array<{ fn: string; body: object }> = [];

const handlers: Record<string, Handler> = {};
const NAMES = ['init-execution', 'discover-delta', 'check-quota', 'collect-region', 'finalize', 'calc-indicators'];

test.before(async () => {
  tdb = await createTestDb();
  process.env.DATABASE_URL = tdb.url;
  process.env.EODHD_API_KEY = 'test-key-not-used';
  process.env.EODHD_BASE_URL = 'http://127.0.0.1:9/api';
  setInvoker(async (fn, body) => {
    invoked.push({ fn, body });
  });
  for (const n of [...NAMES, 'screen'])
    handlers[n] = ((await import(`../functions/${n}/handler.js`)) as { default: Handler }).default;
});

test.after.always(async () => {
  await closeDb();
  await tdb.drop();
});

function event(
  body: string | Buffer,
  method = 'POST',
  headers: Record<string, string> = { 'content-type': 'application/json' },
): FunctionEvent {
  return { body: Buffer.isBuffer(body) ? body : Buffer.from(body), headers, method, query: {}, path: '/' };
}

const common: Array<[string, string | Buffer, string?]> = [
  ['not JSON', 'hello'],
  ['truncated JSON', '{"executionId": 1'],
  ['a JSON array', '[1,2,3]'],
  ['JSON null', 'null'],
  ['a JSON string', '"executionId"'],
  ['a JSON number', '42'],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ['an unknown field', '{"executionId": 1, "dropTable": true}'],
  ['an SQL fragment', `{"executionId": "1; DROP TABLE assets; --"}`],
  ['a prototype-pollution key', '{"__proto__": {"admin": true}, "executionId": 1, "constructor": 1}'],
  ['a huge body', JSON.stringify({ executionId: 1, pad: 'x'.repeat(300_000) })],
  ['GET instead of POST', '{}', 'GET'],
  ['DELETE', '{}', 'DELETE'],
];

const specific: Record<string, string[]> = {
  'init-execution': [
    '{"mode": "turbo"}',
    '{"mode": 1}',
    '{"exchanges": ["NYSE"]}',
    '{"exchanges": ["us"]}',
    '{"exchanges": []}',
    '{"exchanges": "US"}',
    '{"symbols": ["AAPL"]}',
    '{"symbols": ["AAPL.XX"]}',
    '{"symbols": ["\' OR 1=1 --.US"]}',
    '{"symbols": []}',
    '{"dryRun": "yes"}',
    '{"asOf": "2026-13-01"}',
    '{"asOf": "2026-02-30"}',
    '{"asOf": "yesterday"}',
    '{"skipExisting": 1}',
    '{"staleMinutes": -1}',
    // Bounds of the trading day: no later than the API's next day, no earlier than the history start.
    '{"asOf": "9999-12-31", "dryRun": true, "exchanges": ["SW"]}',
    `{"asOf": "${new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10)}"}`,
    '{"asOf": "1969-12-31"}',
    '{"asOf": "0001-01-01"}',
    '{"asOf": "10000-01-01"}',
  ],
  'discover-delta': [
    '{}',
    '{"executionId": -1}',
    '{"executionId": 0}',
    '{"executionId": 1.5}',
    '{"executionId": "1"}',
    '{"executionId": 99999999999}',
    '{"executionId": null}',
  ],
  'check-quota': ['{}', '{"executionId": -1}', '{"executionId": "abc"}', '{"executionId": []}', '{"executionId": {}}'],
  'collect-region': [
    '{"executionId": 1}',
    '{"region": "us"}',
    '{"executionId": 1, "region": "asia"}',
    '{"executionId": 1, "region": "US"}',
    '{"executionId": 1, "region": null}',
    '{"executionId": "1", "region": "us"}',
  ],
  finalize: ['{}', '{"executionId": true}', '{"executionId": -5}'],
  'calc-indicators': [
    '{}',
    '{"all": false}',
    '{"all": "true"}',
    '{"symbols": []}',
    '{"symbols": ["AAPL"]}',
    '{"executionId": 1, "all": true}',
    '{"symbols": ["AAPL.US"], "all": true}',
  ],
};

function assertRejected(t: import('ava').ExecutionContext, r: FunctionResult, what: string): void {
  t.true(r.status >= 400 && r.status < 500, `${what}: status ${r.status}`);
  const body = r.body as { reason?: unknown };
  t.is(typeof body.reason, 'string', `${what}: a reason`);
  t.true(String(body.reason).length > 5, `${what}: reason "${String(body.reason)}"`);
}

for (const name of NAMES) {
  test.serial(`${name}: every kind of bad input is a 4xx with a reason and writes nothing`, async (t) => {
    const before = await rowCounts(tdb.pool);
    const inputs = [...common, ...(specific[name] ?? []).map((b) => [b, b] as [string, string])];
    for (const [what, body, method] of inputs) {
      const r = await handlers[name]!(event(body, method ?? 'POST'));
      assertRejected(t, r, `${name} / ${what}`);
    }
    t.deepEqual(await rowCounts(tdb.pool), before);
    t.deepEqual(invoked, []);
  });
}

test.serial('steps of a run that does not exist answer 404 and write nothing', async (t) => {
  const before = await rowCounts(tdb.pool);
  for (const [name, body] of [
    ['discover-delta', { executionId: 4242 }],
    ['check-quota', { executionId: 4242 }],
    ['collect-region', { executionId: 4242, region: 'us' }],
    ['finalize', { executionId: 4242 }],
    ['calc-indicators', { executionId: 4242 }],
  ] as const) {
    const r = await handlers[name]!(event(JSON.stringify(body)));
    t.is(r.status, 404, name);
  }
  t.deepEqual(await rowCounts(tdb.pool), before);
});

test.serial(
  'calc-indicators for a symbol that is not an asset answers 404 naming it, and writes nothing',
  async (t) => {
    const before = await rowCounts(tdb.pool);
    const unknown = await handlers['calc-indicators']!(event('{"symbols": ["NOPE.US"]}'));
    t.is(unknown.status, 404);
    t.deepEqual((unknown.body as { symbols: string[] }).symbols, ['NOPE.US']);
    t.deepEqual(await rowCounts(tdb.pool), before);
  },
);

// The trigger and the run slot, serial in this order: each test starts from the run (and
// the invocations) the one before left; 'a finished run refuses its steps' then takes the
// last run opened here.
let firstRunId: number;

test.serial(
  'init-execution from the cron connector answers 202 with the new run and starts discover-delta',
  async (t) => {
    const cron = await handlers['init-execution']!(
      event('', 'POST', { 'x-connector': 'cron-connector', 'x-topic': 'cron-function', 'x-call-id': 'call-1' }),
    );
    t.is(cron.status, 202);
    const id = (cron.body as { executionId: number }).executionId;
    firstRunId = id;
    t.true(id > 0);
    t.deepEqual(invoked, [{ fn: 'discover-delta', body: { executionId: id } }]);
  },
);

test.serial('init-execution records the trigger (cron, its call id) and an open run in the default mode', async (t) => {
  const id = firstRunId;
  const row = (
    await tdb.pool.query(
      'SELECT trigger_kind, call_id, status, parameters FROM process_executions WHERE execution_id = $1',
      [id],
    )
  ).rows[0];
  t.is(row.trigger_kind, 'cron');
  t.is(row.call_id, 'call-1');
  t.is(row.status, 'running');
  t.is(row.parameters.mode, 'auto');
});

test.serial(
  "a second trigger while a run is open gets 409 with that run's id, and writes and starts nothing",
  async (t) => {
    const id = firstRunId;
    const before = await rowCounts(tdb.pool);
    const again = await handlers['init-execution']!(event('{"mode": "incremental", "exchanges": ["US", "LSE"]}'));
    t.is(again.status, 409);
    t.is((again.body as { executionId: number }).executionId, id);
    t.deepEqual(await rowCounts(tdb.pool), before);
    t.is(invoked.length, 1);
  },
);

test.serial('a finished run frees the slot: the next trigger gets 202, its symbols upper-cased', async (t) => {
  // A finished run frees the slot.
  await tdb.pool.query(
    `UPDATE process_executions SET status = 'success', finished_at = now() WHERE execution_id = $1`,
    [firstRunId],
  );
  const third = await handlers['init-execution']!(event('{"mode": "bulk", "symbols": ["aapl.US"], "dryRun": true}'));
  t.is(third.status, 202);
  t.deepEqual((third.body as { parameters: { symbols: string[] } }).parameters.symbols, ['AAPL.US']);
});

test.serial('a finished run refuses its steps with 409', async (t) => {
  const id = (await tdb.pool.query(`SELECT max(execution_id) AS id FROM process_executions`)).rows[0].id;
  await tdb.pool.query(`UPDATE process_executions SET status = 'failed', finished_at = now() WHERE execution_id = $1`, [
    id,
  ]);
  const r = await handlers['discover-delta']!(event(JSON.stringify({ executionId: id })));
  t.is(r.status, 409);
  t.regex(String((r.body as { reason: string }).reason), /failed/);
});

test('a non-empty body that is not JSON is 415 for every function, and writes nothing', async (t) => {
  const before = await rowCounts(tdb.pool);
  // The screen too (its screens are read in test/screen.test.ts).
  for (const name of [...NAMES, 'screen']) {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const r = await handlers[name]!(event('{"executionId": 1}', 'POST', { 'content-type': type }));
      t.is(r.status, 415, `${name} ${type}`);
      t.regex(String((r.body as { reason: string }).reason), /application\/json/);
    }
  }
  t.deepEqual(await rowCounts(tdb.pool), before);
});

test('addDays crosses a year end, and throws a RangeError beyond years 1-9999 or on a non-date', (t) => {
  t.is(addDays('2026-12-31', 1), '2027-01-01');
  t.throws(() => addDays('9999-12-31', 1), { instanceOf: RangeError });
  t.throws(() => addDays('0001-01-01', -1), { instanceOf: RangeError });
  t.throws(() => addDays('not-a-date', 1), { instanceOf: RangeError });
});

test('weekdaysBetween lists the weekdays after the first day, through the last', (t) => {
  t.deepEqual(weekdaysBetween('2026-11-20', '2026-11-25'), ['2026-11-23', '2026-11-24', '2026-11-25']);
});

test('weekdaysBetween stops at its cap: 1900 to 9999 gives eleven dates, not three million', (t) => {
  // 1900 to 9999: eleven dates, not three million.
  t.is(weekdaysBetween('1900-01-01', '9999-12-30', 11).length, 11);
});

test('fitPriceUpdates on 9999-12-30 with assets behind since 1900: one bulk day for the current ones, a history each for the others', (t) => {
  const fit = fitPriceUpdates(
    [
      {
        exchange: 'SW',
        byThrough: [
          { through: '1900-01-01', assets: 500 },
          { through: '9999-12-29', assets: 500 },
        ],
      },
    ],
    '9999-12-30',
    10_000,
    5_000,
    { maxBulkDays: 10 },
  );
  t.is(fit.calls, 100 + 500, 'one bulk day for the current ones, a history each for the others');
});
