/**
 * The quota arithmetic (how price updates fit the day: bulk or per ticker, the budget, the
 * daily cap) and the ledger: the atomic reservation against the day's budget, the request
 * rate spaced across callers, and the settlement against the API's count.
 */
import test from 'ava';
import type { Reservation } from '../shared/eodhd/call-book.js';
import { fitPriceUpdates } from '../shared/steps/check-quota.js';
import {
  quotaUsage,
  reconcileWithApi,
  reserveCall,
  settleCall,
  type UncertainSnapshot,
  uncertainSnapshot,
} from '../shared/store/api-ledger.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { until } from './helpers/until.js';

let tdb: TestDb;
const reserve = (
  day: string,
  cost: number,
  limit: number,
  interval: number,
  burst: number,
  deadlineSeconds = 60,
): Promise<Reservation> =>
  reserveCall(tdb.pool, {
    day,
    cost,
    limit,
    intervalSeconds: interval,
    burstSeconds: burst,
    endpoint: 'eod',
    target: 'T.US',
    executionId: null,
    deadlineSeconds,
  });
const ledgerSum = async (day: string): Promise<number> =>
  (
    await tdb.pool.query<{ n: number }>('SELECT coalesce(sum(cost), 0)::int AS n FROM api_calls WHERE quota_day = $1', [
      day,
    ])
  ).rows[0]!.n;
test.before(async () => {
  tdb = await createTestDb();
});
test.after.always(async () => {
  await tdb.drop();
});

// 2026-11-20 is a Friday: the weekdays before it are 19, 18, 17, 16, then 13.
const DAY = '2026-11-20';
const opts = { maxBulkDays: 10 };
const one = (exchange: string, n: number, through = '2026-11-19') => ({
  exchange,
  byThrough: [{ through, assets: n }],
});

test('bulk is chosen per exchange only when it is cheaper than one call per ticker', (t) => {
  const { fits, calls } = fitPriceUpdates(
    [
      {
        exchange: 'US',
        byThrough: [
          { through: '2026-11-19', assets: 6400 },
          { through: '2026-11-10', assets: 25 },
        ],
      },
      one('SW', 90),
      {
        exchange: 'LSE',
        byThrough: [
          { through: '2026-11-19', assets: 101 },
          { through: '2026-11-12', assets: 49 },
        ],
      },
    ],
    DAY,
    90_000,
    25_000,
    opts,
  );
  t.deepEqual(
    fits.find((f) => f.exchange === 'US'),
    { exchange: 'US', bulkDates: [DAY], coversFrom: '2026-11-19', calls: 100 + 25, taken: 6425, deferred: 0 },
  );
  t.deepEqual(
    fits.find((f) => f.exchange === 'SW'),
    { exchange: 'SW', bulkDates: [], coversFrom: null, calls: 90, taken: 90, deferred: 0 },
  );
  t.deepEqual(
    fits.find((f) => f.exchange === 'LSE'),
    { exchange: 'LSE', bulkDates: [DAY], coversFrom: '2026-11-19', calls: 100 + 49, taken: 150, deferred: 0 },
  );
  t.is(calls, 125 + 90 + 149);
});

test('missed days: 3,000 tickers three weekdays behind take a bulk day for each (300 calls, not 3,000)', (t) => {
  // 3,000 tickers three weekdays behind: 3 bulk days (300) beat 3,000 history calls.
  const three = fitPriceUpdates([one('F', 3000, '2026-11-17')], DAY, 90_000, 25_000, opts).fits[0]!;
  t.deepEqual(three.bulkDates, ['2026-11-18', '2026-11-19', DAY]);
  t.is(three.calls, 300);
});

test('missed days: 250 tickers three weekdays behind take one history call each (250, not 300 in bulk)', (t) => {
  // 250 tickers three days behind: 250 history calls beat 300 bulk calls.
  const small = fitPriceUpdates([one('XETRA', 250, '2026-11-17')], DAY, 90_000, 25_000, opts).fits[0]!;
  t.deepEqual(small.bulkDates, []);
  t.is(small.calls, 250);
});

test('missed days: 5,000 tickers a day behind and 40 a week behind take one bulk day and 40 history calls', (t) => {
  // Mixed: 5,000 one day behind, 40 a week behind: one bulk day and 40 history calls.
  const mixed = fitPriceUpdates(
    [
      {
        exchange: 'US',
        byThrough: [
          { through: '2026-11-19', assets: 5000 },
          { through: '2026-11-12', assets: 40 },
        ],
      },
    ],
    DAY,
    90_000,
    25_000,
    opts,
  ).fits[0]!;
  t.deepEqual(mixed.bulkDates, [DAY]);
  t.is(mixed.calls, 140);
});

test('missed days: tickers behind by more days than the bulk-day limit take history calls', (t) => {
  // Over the bulk-day limit: history calls.
  const far = fitPriceUpdates([one('F', 3000, '2026-10-01')], DAY, 90_000, 25_000, opts).fits[0]!;
  t.deepEqual(far.bulkDates, []);
  t.is(far.calls, 3000);
});

test("the seed's method (per ticker only) costs a call per ticker", (t) => {
  // The seed's method, for comparison.
  const seed = fitPriceUpdates([one('US', 6425)], DAY, 90_000, 25_000, { ...opts, perTickerOnly: true }).fits[0]!;
  t.is(seed.calls, 6425);
});

test('a normal day of the full universe costs about 1,000 calls in bulk', (t) => {
  const sizes: Record<string, number> = {
    US: 6425,
    LSE: 3145,
    F: 10209,
    XETRA: 691,
    PA: 600,
    AS: 150,
    BR: 100,
    LS: 40,
    MC: 239,
    SW: 218,
  };
  const { calls } = fitPriceUpdates(
    Object.entries(sizes).map(([exchange, n]) => one(exchange, n)),
    DAY,
    90_000,
    25_000,
    opts,
  );
  // 8 exchanges above 100 tickers at 100 calls each; BR (100) and LS (40) are as cheap or cheaper per ticker.
  t.is(calls, 8 * 100 + 100 + 40);
});

test('price updates stop at the budget, the rest deferred', (t) => {
  const tight = fitPriceUpdates([one('F', 500, '2026-10-01')], DAY, 120, 25_000, opts);
  t.is(tight.calls, 120);
  t.is(tight.fits[0]!.deferred, 380);
});

test('price updates stop at the daily cap, the rest deferred', (t) => {
  const capped = fitPriceUpdates([one('F', 500, '2026-10-01')], DAY, 10_000, 200, opts);
  t.is(capped.fits[0]!.taken, 200);
  t.is(capped.fits[0]!.deferred, 300);
});

test('a budget smaller than a bulk day (50 calls) is spent per ticker', (t) => {
  const none = fitPriceUpdates([one('US', 6000)], DAY, 50, 25_000, opts);
  t.deepEqual(none.fits[0]!.bulkDates, []);
  t.is(none.calls, 50);
});

// Serial, in this order, on the day 2030-01-02: 200 reservations fill the day; one of them
// is answered with an error and gives its cost back; that cost can be reserved again.
const FULL_DAY = '2030-01-02';
let firstReserved: number;

test.serial('reservations never pass the limit, even 200 at once', async (t) => {
  const day = FULL_DAY;
  const results = await Promise.all(Array.from({ length: 200 }, () => reserve(day, 10, 1_000, 0.0001, 100)));
  t.is(results.filter((r) => r.ok).length, 100);
  t.true(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'quota'));
  t.is((await quotaUsage(tdb.pool, day)).used, 1_000);
  t.is(await ledgerSum(day), 1_000, 'every reservation wrote its ledger row');
  firstReserved = results.find((r): r is { ok: true; callId: number } => r.ok)!.callId;
});

test.serial('an answer with an error gives its reservation back, in the counter and the ledger', async (t) => {
  const day = FULL_DAY;
  t.true(
    await settleCall(
      tdb.pool,
      firstReserved,
      { outcome: 'answered', charged: 0, httpStatus: 500 },
      12,
      'eod T.US: server error 500',
    ),
  );
  t.is((await quotaUsage(tdb.pool, day)).used, 990, 'an error gives its reservation back');
  t.is(await ledgerSum(day), 990);
});

test.serial('a reservation given back can be taken again, and no more than it', async (t) => {
  const day = FULL_DAY;
  t.true((await reserve(day, 10, 1_000, 0.0001, 100)).ok);
  t.false((await reserve(day, 1, 1_000, 0.0001, 100)).ok);
});

test('calls the API counted but we did not are charged to the budget', async (t) => {
  const day = '2030-01-03';
  t.true((await reserve(day, 100, 1_000, 0.0001, 100)).ok);
  const u = await reconcileWithApi(tdb.pool, day, 700);
  t.is(u.externalCalls, 600);
  t.is(u.used, 700);
  t.true((await reserve(day, 300, 1_000, 0.0001, 100)).ok);
  t.false((await reserve(day, 1, 1_000, 0.0001, 100)).ok);
});

test('the request rate is spaced across callers (GCRA on the day row)', async (t) => {
  const day = '2030-01-04';
  // One request a minute with a two-minute burst: three pass at once, the others are told
  // to wait (and for how long). The scale is minutes so that a busy machine, however slow
  // it makes the ten reservations, cannot let a fourth through.
  const started = Date.now();
  const results = await Promise.all(Array.from({ length: 10 }, () => reserve(day, 1, 100_000, 60, 120)));
  t.true(Date.now() - started < 60_000, 'the ten reservations took under a minute');
  t.is(results.filter((r) => r.ok).length, 3);
  const waits = results.filter((r): r is { ok: false; reason: 'rate'; waitMs: number } => !r.ok && r.reason === 'rate');
  t.is(waits.length, 7);
  t.true(
    waits.every((w) => w.waitMs > 0 && w.waitMs <= 60_000),
    JSON.stringify(waits.map((w) => w.waitMs)),
  );
});

// A request whose answer was never written is settled against the API's count at a quiet
// moment, never below it. Serial, in this order, on the day 2030-01-05: each test goes on
// from the ledger the one before left (and from the requests it reserved).
const SETTLE_DAY = '2030-01-05';
const reserved = async (cost: number, deadline: number) => {
  const r = await reserve(SETTLE_DAY, cost, 10_000, 0.0001, 100, deadline);
  if (!r.ok) throw new Error('not reserved');
  return r.callId;
};
/** Until the requests are past their deadline by the database's clock (what the snapshot reads). */
const pastDeadline = (ids: number[]) =>
  until(
    async () =>
      (
        await tdb.pool.query<{ past: boolean }>(
          'SELECT bool_and(deadline_at < clock_timestamp()) AS past FROM api_calls WHERE id = ANY($1::bigint[])',
          [ids],
        )
      ).rows[0]!.past,
    `requests ${ids.join(', ')} past their deadline`,
  );
const settling: { died: number; timedOut: number; inFlight: number; snap: UncertainSnapshot; died2: number } = {
  died: 0,
  timedOut: 0,
  inFlight: 0,
  snap: new Map(),
  died2: 0,
};

test.serial('until settled, requests of unknown outcome count at their reserved cost', async (t) => {
  const day = SETTLE_DAY;
  const answered = await reserved(10, 60);
  t.true(await settleCall(tdb.pool, answered, { outcome: 'answered', charged: 10, httpStatus: 200 }, 5, null));
  settling.died = await reserved(100, 0); // its process died: the row stays 'sent'
  settling.timedOut = await reserved(10, 0);
  t.true(await settleCall(tdb.pool, settling.timedOut, { outcome: 'no_answer' }, 5, 'timeout'));
  settling.inFlight = await reserved(1, 600); // still within its deadline
  t.is((await quotaUsage(tdb.pool, day)).used, 121);
  t.is(await ledgerSum(day), 121, 'until settled, unknown outcomes count at their reserved cost');
});

test.serial(
  'the snapshot holds the known calls, the requests of unknown outcome past their deadline, those in flight',
  async (t) => {
    const { died, timedOut } = settling;
    await pastDeadline([died, timedOut]);
    const snap = await uncertainSnapshot(tdb.pool);
    settling.snap = snap;
    t.like(snap.get(SETTLE_DAY), { known: 10, callIds: [died, timedOut], inFlight: 1 });
  },
);

test.serial('with a request in flight, nothing is settled against the API count', async (t) => {
  const day = SETTLE_DAY;
  // A request in flight: the API's count may or may not hold it yet, so nothing is settled.
  const busy = await reconcileWithApi(tdb.pool, day, 110, settling.snap);
  t.deepEqual([busy.settledCalls, busy.unsettledBusy], [0, 2]);
  t.is(await ledgerSum(day), 121);
});

test.serial(
  'at a quiet moment, requests of unknown outcome are settled to the API count, the counter equal to the ledger',
  async (t) => {
    const day = SETTLE_DAY;
    t.true(
      await settleCall(tdb.pool, settling.inFlight, { outcome: 'answered', charged: 1, httpStatus: 200 }, 5, null),
    );
    // Quiet now. The API counted 111: the answered 11 and the 100 of the request whose process died.
    const quiet = await uncertainSnapshot(tdb.pool);
    const r = await reconcileWithApi(tdb.pool, day, 111, quiet);
    t.deepEqual([r.settledCalls, r.settledReserved, r.settledAttributed], [2, 110, 100]);
    t.is(r.used, 111, 'the API count');
    t.is(await ledgerSum(day), 111, 'the counter still equals the ledger');
  },
);

test.serial(
  'the settled rows: the request whose process died takes what the API counted, the timed-out one nothing',
  async (t) => {
    const rows = (
      await tdb.pool.query<{ id: number; cost: number; outcome: string }>(
        'SELECT id, cost, outcome FROM api_calls WHERE quota_day = $1 ORDER BY id',
        [SETTLE_DAY],
      )
    ).rows;
    t.deepEqual(
      rows.map((x) => [x.cost, x.outcome]),
      [
        [10, 'answered'],
        [100, 'reconciled'],
        [0, 'reconciled'],
        [1, 'answered'],
      ],
    );
  },
);

test.serial('a late answer cannot change a settled row', async (t) => {
  // A late answer cannot change a settled row.
  t.false(await settleCall(tdb.pool, settling.died, { outcome: 'answered', charged: 100, httpStatus: 200 }, 5, null));
});

test.serial("a request of ours reserved between the snapshot and the API's answer: nothing is settled", async (t) => {
  const day = SETTLE_DAY;
  // Something of ours happening between the snapshot and the API's answer: not settled.
  settling.died2 = await reserved(10, 0);
  await pastDeadline([settling.died2]);
  const before = await uncertainSnapshot(tdb.pool);
  await reserved(1, 600); // reserved while the API was being asked
  const moved = await reconcileWithApi(tdb.pool, day, 111 + 10 + 1, before);
  t.deepEqual([moved.settledCalls, moved.unsettledBusy], [0, 1]);
});

test.serial(
  "calls the API counted beyond all of ours are another user's; nothing of ours goes below the API count",
  async (t) => {
    const day = SETTLE_DAY;
    const { died2 } = settling;
    // Another user of the key: what the API counted beyond every request of ours is theirs,
    // and nothing of ours is lowered below the API's count.
    await tdb.pool.query(
      `UPDATE api_calls SET outcome = 'answered', settled_at = now() WHERE quota_day = $1 AND outcome = 'sent' AND id <> $2`,
      [day, died2],
    );
    const r2 = await reconcileWithApi(tdb.pool, day, 111 + 10 + 1 + 50, await uncertainSnapshot(tdb.pool));
    t.deepEqual([r2.settledCalls, r2.settledAttributed], [1, 10]);
    t.is(r2.externalCalls, 50);
    t.is(r2.used, 172);
    t.is((await tdb.pool.query('SELECT outcome FROM api_calls WHERE id = $1', [died2])).rows[0].outcome, 'reconciled');
  },
);

test('the daily cap on price updates does not bound what a bulk day covers: 70,000 tickers for 100 calls, 600 per ticker beside them', (t) => {
  // 70,000 Frankfurt tickers one day behind, 600 Swiss ones a month behind, a cap of 25,000.
  const { fits } = fitPriceUpdates([one('F', 70_000), one('SW', 600, '2026-10-20')], DAY, 90_000, 25_000, {
    maxBulkDays: 10,
  });
  const f = fits.find((x) => x.exchange === 'F')!;
  t.deepEqual(f.bulkDates, [DAY]);
  t.is(f.taken, 70_000);
  t.is(f.calls, 100);
  const sw = fits.find((x) => x.exchange === 'SW')!;
  t.is(sw.taken, 600, 'per-ticker updates still fit under the cap');
});

test('the daily cap on price updates bounds per-ticker calls: 600 over a cap of 250, 350 deferred', (t) => {
  const capped = fitPriceUpdates([one('SW', 600, '2026-10-20')], DAY, 90_000, 250, { maxBulkDays: 10 }).fits[0]!;
  t.is(capped.taken, 250);
  t.is(capped.deferred, 350);
});
