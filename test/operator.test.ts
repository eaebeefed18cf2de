/**
 * Operators only where it matters: every action of the status function that writes (reset a
 * ticker, confirm or drop a quarantined bar, start a run, re-run a step) asks for an operator
 * credential, the secret screener-admin-token as a bearer token or the gateway's basic-auth
 * pair; without one it is a 401 that says how to give it and nothing is written; with none
 * configured, every write is refused with the secret to create. Against a real database.
 */

import test from 'ava';
import { statusAction } from '../shared/observe/status.js';
import { StatusAction } from '../shared/platform/input.js';
import type { FunctionName } from '../shared/platform/invoke.js';
import { ADMIN_TOKEN_SECRET, checkOperator, MIN_TOKEN_LENGTH } from '../shared/platform/operator.js';
import type { PipelineContext } from '../shared/steps/context.js';
import { createTestDb, rowCounts, type TestDb } from './helpers/db.js';

const TOKEN = 'operator-test-token-0123456789';
const USER = 'admin';
const PASSWORD = 'gateway-password-for-tests';
const SYMBOL = 'OPER.US';

const bearer = (v: string) => `Bearer ${v}`;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Sets (or, with undefined, removes) the credentials the function is given. */
function configure(c: { token?: string; user?: string; password?: string }): void {
  const set = (name: string, v: string | undefined) => {
    if (v === undefined) delete process.env[name];
    else process.env[name] = v;
  };
  set('SCREENER_ADMIN_TOKEN', c.token);
  set('BASIC_AUTH_USER', c.user);
  set('BASIC_AUTH_PASSWORD', c.password);
}

let tdb: TestDb;
let ctx: PipelineContext;
const invoked: Array<{ fn: FunctionName; body: object }> = [];

test.before(async () => {
  tdb = await createTestDb();
  ctx = {
    pool: tdb.pool,
    api: () => {
      throw new Error('the status function calls no API');
    },
    invoke: async (fn, body) => {
      invoked.push({ fn, body });
    },
    collectTimeBudgetMs: 1000,
    collectConcurrency: 1,
    workerId: 'operator-test',
  };
  // A ticker that failed three times.
  const { rows } = await tdb.pool.query(
    `INSERT INTO assets (symbol, code, exchange, venue, region) VALUES ($1, 'OPER', 'US', 'NYSE', 'us') RETURNING id`,
    [SYMBOL],
  );
  await tdb.pool.query(
    `INSERT INTO asset_processing_state (asset_id, consecutive_failures, last_error_message) VALUES ($1, 3, 'HTTP 500')`,
    [rows[0].id],
  );
});
test.after.always(async () => {
  configure({});
  await tdb?.drop();
});

const failures = async () =>
  (
    await tdb.pool.query<{ n: number }>(
      `SELECT s.consecutive_failures AS n FROM asset_processing_state s JOIN assets a ON a.id = s.asset_id WHERE a.symbol = $1`,
      [SYMBOL],
    )
  ).rows[0]!.n;

const act = (body: object, authorization?: string) => statusAction(ctx, StatusAction.parse(body), authorization);

const WRITES = [
  { action: 'reset', symbol: SYMBOL },
  { action: 'confirm', symbol: SYMBOL, date: '2026-11-20' },
  { action: 'drop', symbol: SYMBOL, date: '2026-11-20' },
  { action: 'start-run', mode: 'incremental', exchanges: ['US'], dryRun: true },
  { action: 'run-step', step: 'finalize', executionId: 1 },
  { action: 'run-step', step: 'collect-region', executionId: 1, region: 'us' },
];

test.serial('with no credential configured every write is refused (403) with the secret to create', async (t) => {
  configure({});
  const before = await rowCounts(tdb.pool);
  for (const body of WRITES) {
    const r = await act(body, bearer(TOKEN));
    t.is(r.status, 403, JSON.stringify(body));
    t.regex(String((r.body as { reason: string }).reason), new RegExp(`create the secret ${ADMIN_TOKEN_SECRET}`));
  }
  // A token too short to be safe is not used, and the refusal says so.
  configure({ token: 'short' });
  const short = checkOperator(bearer('short'));
  t.false(short.ok);
  if (!short.ok) {
    t.is(short.response.status, 403);
    t.regex(String((short.response.body as { reason: string }).reason), new RegExp(`shorter than ${MIN_TOKEN_LENGTH}`));
  }
  t.deepEqual(await rowCounts(tdb.pool), before);
  t.is(await failures(), 3);
  t.deepEqual(invoked, []);
});

test.serial(
  'without the credential, or with a wrong one: 401 with WWW-Authenticate and how to give it; nothing written or invoked',
  async (t) => {
    configure({ token: TOKEN, user: USER, password: PASSWORD });
    const before = await rowCounts(tdb.pool);
    for (const body of WRITES) {
      for (const authorization of [
        undefined,
        '',
        bearer('wrong-token-0123456789'),
        bearer(`${TOKEN}x`),
        bearer(TOKEN.slice(0, -1)),
        basic(USER, 'wrong'),
        basic('root', PASSWORD),
        basic(USER, TOKEN),
        `Basic ${Buffer.from(PASSWORD).toString('base64')}`,
        `Digest ${TOKEN}`,
        TOKEN,
        'Basic !!!',
        `Bearer ${'x'.repeat(5000)}`,
      ]) {
        const r = await act(body, authorization);
        const what = `${JSON.stringify(body)} with ${String(authorization).slice(0, 40)}`;
        t.is(r.status, 401, what);
        t.regex(r.headers?.['www-authenticate'] ?? '', /^Bearer realm=/, what);
        t.regex(String((r.body as { reason: string }).reason), /Authorization: Bearer .*basic auth/, what);
      }
    }
    t.deepEqual(await rowCounts(tdb.pool), before, 'nothing written');
    t.is(await failures(), 3, 'the ticker is still failing');
    t.deepEqual(invoked, [], 'nothing invoked');
  },
);

test.serial('with the token (Bearer) or the basic-auth pair: the reset is done (200)', async (t) => {
  configure({ token: TOKEN, user: USER, password: PASSWORD });
  t.like(checkOperator(bearer(TOKEN)), { ok: true, by: 'token' });
  t.like(checkOperator(`bearer   ${TOKEN}  `), { ok: true, by: 'token' }, 'the scheme in any case');
  t.like(checkOperator(basic(USER, PASSWORD)), { ok: true, by: 'basic' });
  t.like(checkOperator(bearer(PASSWORD)), { ok: true, by: 'basic' }, "the gateway's password alone: the pages' field");
  const byToken = await act({ action: 'reset', symbol: SYMBOL }, bearer(TOKEN));
  t.is(byToken.status, 200);
  t.is(await failures(), 0);
  await tdb.pool.query(
    `UPDATE asset_processing_state s SET consecutive_failures = 2 FROM assets a WHERE a.id = s.asset_id AND a.symbol = $1`,
    [SYMBOL],
  );
  const byBasic = await act({ action: 'reset', symbol: SYMBOL }, basic(USER, PASSWORD));
  t.is(byBasic.status, 200);
  t.is(await failures(), 0);
  // Only the basic pair configured (no token): basic auth works, a bearer token does not.
  configure({ user: USER, password: PASSWORD });
  t.like(checkOperator(basic(USER, PASSWORD)), { ok: true, by: 'basic' });
  t.like(checkOperator(bearer(TOKEN)), { ok: false });
  // Only the token: basic auth does not.
  configure({ token: TOKEN });
  t.like(checkOperator(basic(USER, PASSWORD)), { ok: false });
  t.is((await act({ action: 'reset', symbol: 'NOPE.US' }, bearer(TOKEN))).status, 404, 'an unknown symbol');
});

test.serial(
  'start-run through the status function opens the run and hands it to discover-delta; run-step invokes the step as the chain does',
  async (t) => {
    configure({ token: TOKEN });
    invoked.length = 0;
    const started = await act(
      { action: 'start-run', mode: 'incremental', exchanges: ['US'], dryRun: true },
      bearer(TOKEN),
    );
    t.is(started.status, 202, JSON.stringify(started.body));
    const { executionId } = started.body as { executionId: number };
    const run = await tdb.pool.query(
      'SELECT process_name, trigger_kind, parameters FROM process_executions WHERE execution_id = $1',
      [executionId],
    );
    t.like(run.rows[0], { process_name: 'daily_pipeline', trigger_kind: 'manual' });
    t.like(run.rows[0].parameters, { mode: 'incremental', exchanges: ['US'], dryRun: true });
    t.deepEqual(invoked, [{ fn: 'discover-delta', body: { executionId } }]);
    // One run at a time: the database decides, as for init-execution.
    const second = await act({ action: 'start-run' }, bearer(TOKEN));
    t.is(second.status, 409);
    invoked.length = 0;
    const step = await act({ action: 'run-step', step: 'check-quota', executionId }, bearer(TOKEN));
    t.is(step.status, 202);
    t.like(step.body, { invoked: 'check-quota', executionId });
    const region = await act({ action: 'run-step', step: 'collect-region', executionId, region: 'lse' }, bearer(TOKEN));
    t.is(region.status, 202);
    const indicators = await act({ action: 'run-step', step: 'calc-indicators', executionId }, bearer(TOKEN));
    t.is(indicators.status, 202);
    t.deepEqual(invoked, [
      { fn: 'check-quota', body: { executionId } },
      { fn: 'collect-region', body: { executionId, region: 'lse' } },
      { fn: 'calc-indicators', body: { executionId } },
    ]);
    invoked.length = 0;
    const missing = await act({ action: 'run-step', step: 'finalize', executionId: executionId + 100 }, bearer(TOKEN));
    t.is(missing.status, 404);
    t.regex(String((missing.body as { reason: string }).reason), /no daily run/);
    t.deepEqual(invoked, []);
  },
);

test('bad actions are refused by their schema before anything else (a 400 the handler answers)', (t) => {
  for (const body of [
    { action: 'start-run', mode: 'resume' },
    { action: 'start-run', staleMinutes: 5 },
    { action: 'start-run', exchanges: ['NOPE'] },
    { action: 'run-step', step: 'collect-region', executionId: 1 },
    { action: 'run-step', step: 'finalize', executionId: 1, region: 'us' },
    { action: 'run-step', step: 'init-execution', executionId: 1 },
    { action: 'run-step', step: 'finalize', executionId: 0 },
    { action: 'run-step', step: 'finalize', executionId: '1' },
    { action: 'run-step', step: 'finalize', executionId: 1, extra: true },
    { action: 'delete-everything' },
  ])
    t.false(StatusAction.safeParse(body).success, JSON.stringify(body));
});
