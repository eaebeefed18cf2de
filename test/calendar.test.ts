/**
 * Each exchange's sessions and the day a run at a given instant brings it up to: time zones
 * with daylight saving, publication after the close, holidays from /exchange-details or
 * learnt from an empty bulk day, and what the budget arithmetic makes of them.
 */
import test from 'ava';
import { defaultCalendar, ExchangeCalendar, localTime, tradingDays, zonedInstant } from '../shared/domain/calendar.js';
import { addDays } from '../shared/domain/dates.js';
import { EXCHANGES } from '../shared/domain/exchanges.js';
import { fitPriceUpdates, sessionsOf } from '../shared/steps/check-quota.js';
import {
  calendarsDue,
  forgetLearntHoliday,
  learnHoliday,
  learntHolidays,
  loadCalendars,
  storeExchangeDetails,
  workingDaysOf,
} from '../shared/store/exchange-calendars.js';
import { createTestDb, type TestDb } from './helpers/db.js';

const at = (iso: string) => new Date(iso);
const all = (days: Record<string, string>) => [...new Set(Object.values(days))];

test('local time and zoned instants follow daylight saving', (t) => {
  // New York moved to EDT on 2026-03-08, Europe to summer time on 2026-03-29.
  t.is(zonedInstant('2026-03-06', '16:00', 'America/New_York').toISOString(), '2026-03-06T21:00:00.000Z');
  t.is(zonedInstant('2026-03-09', '16:00', 'America/New_York').toISOString(), '2026-03-09T20:00:00.000Z');
  t.is(zonedInstant('2026-03-20', '16:30', 'Europe/London').toISOString(), '2026-03-20T16:30:00.000Z');
  t.is(zonedInstant('2026-07-15', '17:30', 'Europe/Berlin').toISOString(), '2026-07-15T15:30:00.000Z');
  t.deepEqual(localTime(at('2026-11-20T23:30:00Z'), 'Europe/Zurich'), { date: '2026-11-21', minutes: 30 });
});

test('the day a run covers: 21:30 UTC today everywhere, 10:00 UTC the previous session, Sunday Friday', (t) => {
  const none = new Map();
  t.deepEqual(all(tradingDays(none, at('2026-11-24T21:30:00Z'), null)), ['2026-11-24']);
  t.deepEqual(all(tradingDays(none, at('2026-11-24T10:00:00Z'), null)), ['2026-11-23']);
  t.deepEqual(all(tradingDays(none, at('2026-11-22T21:30:00Z'), null)), ['2026-11-20']);
  // Monday 10:00 UTC: Friday's session still.
  t.deepEqual(all(tradingDays(none, at('2026-11-23T10:00:00Z'), null)), ['2026-11-20']);
  // An explicit day wins, for every exchange (a Saturday means Friday).
  t.deepEqual(all(tradingDays(none, at('2026-11-24T21:30:00Z'), '2026-11-14')), ['2026-11-13']);
});

test('publication: New York at 16:15 local, Europe three hours after its close, in summer and winter', (t) => {
  const us = defaultCalendar('US');
  const lse = defaultCalendar('LSE');
  const xetra = defaultCalendar('XETRA');
  // Winter: 16:15 EST is 21:15 UTC.
  t.is(us.publishedSession(at('2026-11-24T21:10:00Z')), '2026-11-23');
  t.is(us.publishedSession(at('2026-11-24T21:15:00Z')), '2026-11-24');
  // Summer: 16:15 EDT is 20:15 UTC; London 16:30 BST + 3 h is 18:30 UTC; Xetra 17:30 CEST + 3 h is 18:30 UTC.
  t.is(us.publishedSession(at('2026-07-15T20:14:00Z')), '2026-07-14');
  t.is(us.publishedSession(at('2026-07-15T20:15:00Z')), '2026-07-15');
  t.is(lse.publishedSession(at('2026-07-15T18:29:00Z')), '2026-07-14');
  t.is(lse.publishedSession(at('2026-07-15T18:30:00Z')), '2026-07-15');
  t.is(xetra.publishedSession(at('2026-07-15T18:30:00Z')), '2026-07-15');
  // 20:00 UTC in winter: Europe has published, New York has not.
  const days = tradingDays(new Map(), at('2026-11-24T20:00:00Z'), null);
  t.is(days.US, '2026-11-23');
  t.is(days.LSE, '2026-11-24');
  t.is(days.SW, '2026-11-24');
});

test('a closed day is no session: the day before is the one covered, and gaps count sessions', (t) => {
  const us = new ExchangeCalendar('US', defaultCalendar('US').hours, new Set(['2026-11-26']));
  t.false(us.isSession('2026-11-26'));
  t.is(us.publishedSession(at('2026-11-26T21:30:00Z')), '2026-11-25');
  t.deepEqual(us.sessionsBetween('2026-11-24', '2026-11-30'), ['2026-11-25', '2026-11-27', '2026-11-30']);
  t.deepEqual(us.sessionsBetween('2026-11-24', '2026-11-30', 2), ['2026-11-25', '2026-11-27']);
  // A calendar without sessions fails in a bounded number of steps, with the reason.
  const closedAll = new Set(Array.from({ length: 500 }, (_, i) => addDays('2026-11-27', -i)));
  const never = new ExchangeCalendar('XX', us.hours, closedAll);
  t.throws(() => never.lastSessionOnOrBefore('2026-11-27'), { message: /no session in the 400 days/ });
  t.throws(() => new ExchangeCalendar('XX', { ...us.hours, workingDays: [] }, new Set()), {
    message: /no working days/,
  });
});

test('the budget spends no bulk day on a holiday', (t) => {
  const closed = new Map([['US', new ExchangeCalendar('US', defaultCalendar('US').hours, new Set(['2026-11-26']))]]);
  const sessions = sessionsOf(closed, () => '2026-11-27');
  // US tickers complete through Wednesday: Thursday is Thanksgiving, only Friday is fetched.
  const { fits } = fitPriceUpdates(
    [{ exchange: 'US', byThrough: [{ through: '2026-11-25', assets: 5000 }] }],
    '2026-11-27',
    90_000,
    25_000,
    { maxBulkDays: 10, sessions },
  );
  t.deepEqual(fits[0]!.bulkDates, ['2026-11-27']);
  t.is(fits[0]!.calls, 100);
  // Through the holiday's eve with the holiday as the day: nothing is behind, nothing asked.
  const none = fitPriceUpdates(
    [{ exchange: 'US', byThrough: [{ through: '2026-11-25', assets: 5000 }] }],
    '2026-11-26',
    90_000,
    25_000,
    { maxBulkDays: 10, sessions: sessionsOf(closed, () => '2026-11-25') },
  );
  t.deepEqual(none.fits[0]!.bulkDates, []);
});

test('working days from EODHD wording', (t) => {
  t.deepEqual(workingDaysOf('Mon,Tue,Wed,Thu,Fri'), [1, 2, 3, 4, 5]);
  t.deepEqual(workingDaysOf('Sun, Mon,Tue,Wed,Thu'), [0, 1, 2, 3, 4]);
  t.is(workingDaysOf(''), null);
  t.is(workingDaysOf('weekdays'), null);
});

let tdb: TestDb;
test.before(async () => {
  tdb = await createTestDb();
});
test.after.always(async () => {
  await tdb?.drop();
});

test.serial(
  'stored calendars: official days close, bank and early-close days stay sessions, learnt days outside the read',
  async (t) => {
    const before = await loadCalendars(tdb.pool);
    t.deepEqual([...before.keys()].sort(), [...EXCHANGES].sort());
    t.deepEqual(await calendarsDue(tdb.pool, ['US', 'LSE'], '2026-11-20', 30), ['LSE', 'US']);
    const range = { from: '2026-01-01', to: '2026-12-31' };
    const r = await storeExchangeDetails(
      tdb.pool,
      'US',
      {
        Code: 'US',
        Timezone: 'America/New_York',
        TradingHours: { Open: '09:30:00', Close: '16:00:00', WorkingDays: 'Mon,Tue,Wed,Thu,Fri' },
        ExchangeHolidays: [
          { Holiday: 'Thanksgiving Day', Date: '2026-11-26', Type: 'official' },
          { Holiday: 'Veterans Day', Date: '2026-11-11', Type: 'bank' },
          // Outside the range asked: not stored.
          { Holiday: 'New Year', Date: '2027-01-01', Type: 'official' },
        ],
        ExchangeEarlyCloseDays: [{ Holiday: 'Day after Thanksgiving', Date: '2026-11-27', Type: 'official' }],
      },
      range,
      '2026-11-20',
    );
    t.deepEqual(r, { closed: 1, sessionsNoted: 2 });
    t.deepEqual(await calendarsDue(tdb.pool, ['US', 'LSE'], '2026-11-20', 30), ['LSE']);
    // Its range ends within a month: due again.
    t.deepEqual(await calendarsDue(tdb.pool, ['US'], '2026-12-10', 30), ['US']);
    const us = (await loadCalendars(tdb.pool)).get('US')!;
    t.false(us.isSession('2026-11-26'));
    t.true(us.isSession('2026-11-11'));
    t.true(us.isSession('2026-11-27'));
    // Inside the range the API described, an empty bulk day is not a holiday; outside it, it is.
    t.false(await learnHoliday(tdb.pool, 'US', '2026-11-24'));
    t.true(await learnHoliday(tdb.pool, 'US', '2025-12-24'));
    t.true(await learnHoliday(tdb.pool, 'LSE', '2026-11-24'));
    t.false(await learnHoliday(tdb.pool, 'LSE', '2026-11-24'), 'learnt once');
    t.false((await loadCalendars(tdb.pool)).get('LSE')!.isSession('2026-11-24'));
    t.deepEqual([...((await learntHolidays(tdb.pool, ['LSE'])).get('LSE') ?? [])], ['2026-11-24']);
    // A bar on it proves it wrong.
    t.true(await forgetLearntHoliday(tdb.pool, 'LSE', '2026-11-24'));
    t.true((await loadCalendars(tdb.pool)).get('LSE')!.isSession('2026-11-24'));
    // A read replaces what was known in its range, learnt days included.
    await storeExchangeDetails(
      tdb.pool,
      'US',
      {
        Code: 'US',
        Timezone: 'America/New_York',
        TradingHours: { Close: '16:00', WorkingDays: null },
        ExchangeHolidays: [],
        ExchangeEarlyCloseDays: [],
      },
      { from: '2025-12-01', to: '2026-12-31' },
      '2026-11-21',
    );
    const again = (await loadCalendars(tdb.pool)).get('US')!;
    t.true(again.isSession('2025-12-24'));
    t.true(again.isSession('2026-11-26'));
    await t.throwsAsync(
      storeExchangeDetails(
        tdb.pool,
        'US',
        {
          Code: 'US',
          Timezone: 'Mars/Olympus',
          TradingHours: { Close: '16:00' },
          ExchangeHolidays: [],
          ExchangeEarlyCloseDays: [],
        },
        range,
        '2026-11-22',
      ),
      { message: /unknown time zone Mars\/Olympus/ },
    );
  },
);
