/** The quota arithmetic and the atomic reservation against the day's budget. */
import test from 'ava';
import { fitPriceUpdates } from '../shared/budget.js';
import { quotaUsage, reconcileWithApi, refundCalls, reserveCalls } from '../shared/quota.js';
import { createTestDb, type TestDb } from './helpers/db.js';

let tdb: TestDb;
test.before(async () => { tdb = await createTestDb(); });
test.after.always(async () => { await tdb.drop(); });

// 2026-11-20 is a Friday: the weekdays before it are 19, 18, 17, 16, then 13.
const DAY = '2026-11-20';
const opts = { maxBulkDays: 10 };
const one = (exchange: string, n: number, through = '2026-11-19') => ({ exchange, byThrough: [{ through, assets: n }] });

test('bulk is chosen per exchange only when it is cheaper than one call per ticker', (t) => {
  const { fits, calls } = fitPriceUpdates([
    { exchange: 'US', byThrough: [{ through: '2026-11-19', assets: 6400 }, { through: '2026-11-10', assets: 25 }] },
    one('SW', 90),
    { exchange: 'LSE', byThrough: [{ through: '2026-11-19', assets: 101 }, { through: '2026-11-12', assets: 49 }] },
  ], DAY, 90_000, 25_000, opts);
  t.deepEqual(fits.find((f) => f.exchange === 'US'), { exchange: 'US', bulkDates: [DAY], coversFrom: '2026-11-19', calls: 100 + 25, taken: 6425, deferred: 0 });
  t.deepEqual(fits.find((f) => f.exchange === 'SW'), { exchange: 'SW', bulkDates: [], coversFrom: null, calls: 90, taken: 90, deferred: 0 });
  t.deepEqual(fits.find((f) => f.exchange === 'LSE'), { exchange: 'LSE', bulkDates: [DAY], coversFrom: '2026-11-19', calls: 100 + 49, taken: 150, deferred: 0 });
  t.is(calls, 125 + 90 + 149);
});

test('missed days: bulk by date for each day when that is cheaper, per ticker when not', (t) => {
  // 3,000 tickers three weekdays behind: 3 bulk days (300) beat 3,000 history calls.
  const three = fitPriceUpdates([one('F', 3000, '2026-11-17')], DAY, 90_000, 25_000, opts).fits[0]!;
  t.deepEqual(three.bulkDates, ['2026-11-18', '2026-11-19', DAY]);
  t.is(three.calls, 300);
  // 250 tickers three days behind: 250 history calls beat 300 bulk calls.
  const small = fitPriceUpdates([one('XETRA', 250, '2026-11-17')], DAY, 90_000, 25_000, opts).fits[0]!;
  t.deepEqual(small.bulkDates, []);
  t.is(small.calls, 250);
  // Mixed: 5,000 one day behind, 40 a week behind: one bulk day and 40 history calls.
  const mixed = fitPriceUpdates([{ exchange: 'US', byThrough: [{ through: '2026-11-19', assets: 5000 }, { through: '2026-11-12', assets: 40 }] }], DAY, 90_000, 25_000, opts).fits[0]!;
  t.deepEqual(mixed.bulkDates, [DAY]);
  t.is(mixed.calls, 140);
  // Over the bulk-day limit: history calls.
  const far = fitPriceUpdates([one('F', 3000, '2026-10-01')], DAY, 90_000, 25_000, opts).fits[0]!;
  t.deepEqual(far.bulkDates, []);
  t.is(far.calls, 3000);
  // The seed's method, for comparison.
  const seed = fitPriceUpdates([one('US', 6425)], DAY, 90_000, 25_000, { ...opts, perTickerOnly: true }).fits[0]!;
  t.is(seed.calls, 6425);
});

test('a normal day of the full universe costs about 1,000 calls in bulk', (t) => {
  const sizes: Record<string, number> = { US: 6425, LSE: 3145, F: 10209, XETRA: 691, PA: 600, AS: 150, BR: 100, LS: 40, MC: 239, SW: 218 };
  const { calls } = fitPriceUpdates(Object.entries(sizes).map(([exchange, n]) => one(exchange, n)), DAY, 90_000, 25_000, opts);
  // 8 exchanges above 100 tickers at 100 calls each; BR (100) and LS (40) are as cheap or cheaper per ticker.
  t.is(calls, 8 * 100 + 100 + 40);
});

test('price updates stop at the budget and at the daily cap, the rest deferred', (t) => {
  const tight = fitPriceUpdates([one('F', 500, '2026-10-01')], DAY, 120, 25_000, opts);
  t.is(tight.calls, 120);
  t.is(tight.fits[0]!.deferred, 380);
  const capped = fitPriceUpdates([one('F', 500, '2026-10-01')], DAY, 10_000, 200, opts);
  t.is(capped.fits[0]!.taken, 200);
  t.is(capped.fits[0]!.deferred, 300);
  const none = fitPriceUpdates([one('US', 6000)], DAY, 50, 25_000, opts);
  t.deepEqual(none.fits[0]!.bulkDates, []);
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
