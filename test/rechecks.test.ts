/**
 * Which sessions a run reads again for late corrections (shared/steps/plan-rechecks.ts):
 * nothing before a previous run stored anything; each exchange's previous session, by
 * bulk (100 calls) or one call a ticker covering the window, whichever is cheaper; within
 * the budget; then the slower cycle, the sessions a re-read would catch most corrections of
 * first; and what is left is the run's allowance of re-asks.
 */
import test from 'ava';
import { planRechecks, type RecheckDemand } from '../shared/steps/plan-rechecks.js';

const sessions = [
  '2026-11-09',
  '2026-11-10',
  '2026-11-11',
  '2026-11-12',
  '2026-11-13',
  '2026-11-16',
  '2026-11-17',
  '2026-11-18',
  '2026-11-19',
];
const us: RecheckDemand = { exchange: 'US', assets: 12_000, sessions, previousDay: '2026-11-19' };
const sw: RecheckDemand = { exchange: 'SW', assets: 60, sessions, previousDay: '2026-11-19' };
const opts = { bulk: true, slowDaysPerDay: 0, lastChecked: new Map<string, Date>(), today: '2026-11-20' };

test('without a previous run nothing is read again: the whole budget is for re-asks', (t) => {
  const r = planRechecks([{ ...us, previousDay: null }], 1500, opts);
  t.deepEqual(r, { plans: [], calls: 0, reaskAllowed: 1500 });
});

test('a large exchange re-reads its previous session with one bulk answer; a small one with a call a ticker over the window', (t) => {
  const r = planRechecks([us, sw], 1500, opts);
  t.deepEqual(r.plans, [
    { exchange: 'US', dates: ['2026-11-19'], method: 'bulk', calls: 100 },
    { exchange: 'SW', dates: sessions, method: 'ticker', calls: 60 },
  ]);
  t.is(r.reaskAllowed, 1500 - 160);
});

test('without bulk in the plan every exchange asks a call a ticker', (t) => {
  const r = planRechecks([us], 20_000, { ...opts, bulk: false });
  t.deepEqual(r.plans, [{ exchange: 'US', dates: sessions, method: 'ticker', calls: 12_000 }]);
});

test('what does not fit the budget is not planned', (t) => {
  const r = planRechecks([us, sw], 99, opts);
  t.deepEqual(
    r.plans.map((p) => p.exchange),
    ['SW'],
  );
  t.is(r.reaskAllowed, 39);
  t.deepEqual(planRechecks([us, sw], 0, opts), { plans: [], calls: 0, reaskAllowed: 0 });
});

test('the slower cycle takes the sessions a re-read would catch most corrections of, larger exchanges first', (t) => {
  // Every session was read the day after it (the previous-session pass), 11-13 again six days after.
  const dayAfter = (d: string) => new Date(Date.parse(`${d}T21:30:00Z`) + 86_400_000);
  const lastChecked = new Map(sessions.map((d) => [`US:${d}`, dayAfter(d)] as const));
  lastChecked.set('US:2026-11-13', new Date('2026-11-19T21:30:00Z'));
  const r = planRechecks([us], 1500, { ...opts, slowDaysPerDay: 2, lastChecked });
  // A week of corrections since their read for 11-09..11-12: the newest two; 11-13 has little left.
  t.deepEqual(r.plans[0]!.dates, ['2026-11-11', '2026-11-12', '2026-11-19']);
  t.is(r.calls, 300);
});
