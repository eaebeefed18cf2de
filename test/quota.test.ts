/** The quota arithmetic and the atomic reservation against the day's budget. */
import test from 'ava';
import { fitPriceUpdates } from '../shared/budget.js';
import { quotaUsage, reconcileWithApi, refundCalls, reserveCalls } from '../shared/quota.js';
import { createTestDb, type TestDb } from './helpers/db.js';

let tdb: TestDb;
test.before(async () => { tdb = await createTestDb(); });
test.after.always(async () => { await tdb.drop(); });

test('bulk is chosen per exchange only when it is cheaper than one call per ticker', (t) => {
  const { fits, calls } = fitPriceUpdates([
    { exchange: 'US', assets: 6425, oneDayBehind: 6400 },
    { exchange: 'SW', assets: 90, oneDayBehind: 90 },
    { exchange: 'LSE', assets: 150, oneDayBehind: 101 },
  ], 90_000, 25_000);
  const us = fits.find((f) => f.exchange === 'US')!;
  t.deepEqual(us, { exchange: 'US', useBulk: true, calls: 100 + 25, taken: 6425, deferred: 0 });
  t.deepEqual(fits.find((f) => f.exchange === 'SW'), { exchange: 'SW', useBulk: false, calls: 90, taken: 90, deferred: 0 });
  t.deepEqual(fits.find((f) => f.exchange === 'LSE'), { exchange: 'LSE', useBulk: true, calls: 100 + 49, taken: 150, deferred: 0 });
  t.is(calls, 125 + 90 + 149);
});

test('a normal day of the full universe costs about 1,000 calls in bulk', (t) => {
  const sizes: Record<string, number> = { US: 6425, LSE: 3145, F: 10209, XETRA: 691, PA: 600, AS: 150, BR: 100, LS: 40, MC: 239, SW: 218 };
  const { calls } = fitPriceUpdates(Object.entries(sizes).map(([exchange, n]) => ({ exchange, assets: n, oneDayBehind: n })), 90_000, 25_000);
  // 8 exchanges above 100 tickers at 100 calls each; BR (100) and LS (40) are cheaper per ticker.
  t.is(calls, 8 * 100 + 100 + 40);
});

test('price updates stop at the budget and at the daily cap, the rest deferred', (t) => {
  const tight = fitPriceUpdates([{ exchange: 'F', assets: 500, oneDayBehind: 0 }], 120, 25_000);
  t.is(tight.calls, 120);
  t.is(tight.fits[0]!.deferred, 380);
  const capped = fitPriceUpdates([{ exchange: 'F', assets: 500, oneDayBehind: 0 }], 10_000, 200);
  t.is(capped.fits[0]!.taken, 200);
  t.is(capped.fits[0]!.deferred, 300);
  const none = fitPriceUpdates([{ exchange: 'US', assets: 6000, oneDayBehind: 6000 }], 50, 25_000);
  t.is(none.fits[0]!.useBulk, false);
  t.is(none.calls, 50);
});

test('reservations never pass the limit, even 200 at once', async (t) => {
  const day = '2030-01-02';
  const results = await Promise.all(Array.from({ length: 200 }, () => reserveCalls(tdb.pool, day, 10, 1_000, 0.0001, 100)));
  t.is(results.filter((r) => r.ok).length, 100);
  t.true(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'quota'));
  t.is((await quotaUsage(tdb.pool, day)).used, 1_000);
  await refundCalls(tdb.pool, day, 10);
  t.is((await quotaUsage(tdb.pool, day)).used, 990);
  t.true((await reserveCalls(tdb.pool, day, 10, 1_000, 0.0001, 100)).ok);
  t.false((await reserveCalls(tdb.pool, day, 1, 1_000, 0.0001, 100)).ok);
});

test('calls the API counted but we did not are charged to the budget', async (t) => {
  const day = '2030-01-03';
  t.true((await reserveCalls(tdb.pool, day, 100, 1_000, 0.0001, 100)).ok);
  const u = await reconcileWithApi(tdb.pool, day, 700);
  t.is(u.externalCalls, 600);
  t.is(u.used, 700);
  t.true((await reserveCalls(tdb.pool, day, 300, 1_000, 0.0001, 100)).ok);
  t.false((await reserveCalls(tdb.pool, day, 1, 1_000, 0.0001, 100)).ok);
});

test('the request rate is spaced across callers (GCRA on the day row)', async (t) => {
  const day = '2030-01-04';
  // 600 requests a minute = one every 0.1 s, burst of 0.2 s: about 3 pass at once, the rest are told to wait.
  const results = await Promise.all(Array.from({ length: 10 }, () => reserveCalls(tdb.pool, day, 1, 100_000, 0.1, 0.2)));
  const ok = results.filter((r) => r.ok).length;
  t.true(ok >= 2 && ok <= 4, `${ok} passed at once`);
  const waits = results.filter((r): r is { ok: false; reason: 'rate'; waitMs: number } => !r.ok && r.reason === 'rate');
  t.is(waits.length, 10 - ok);
  t.true(waits.every((w) => w.waitMs > 0 && w.waitMs <= 1000));
});
