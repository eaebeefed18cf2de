/**
 * Beta (shared/domain/beta.ts) against a hand computation, and its 200-return threshold.
 */
import test from 'ava';
import { BETA_MIN_RETURNS, BETA_RETURNS, beta, betaFrom, lastIndexOnOrBefore } from '../shared/domain/beta.js';

test('beta is cov / var of the returns between the dates both series have', (t) => {
  // The benchmark lacks 01-06, the asset lacks 01-05: both are skipped, so the returns run
  // 01-01 -> 01-02 -> 01-03 -> 01-07, and 01-08 is after the session.
  const asset = {
    dates: ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-06', '2026-01-07', '2026-01-08'],
    closes: [10, 12, 9, 50, 9.9, 30],
  };
  const bench = {
    dates: ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-05', '2026-01-07', '2026-01-08'],
    closes: [100, 110, 99, 500, 108.9, 1],
  };
  // By hand: asset returns 12/10-1 = 0.2, 9/12-1 = -0.25, 9.9/9-1 = 0.1;
  // benchmark returns 110/100-1 = 0.1, 99/110-1 = -0.1, 108.9/99-1 = 0.1.
  const ra = [0.2, -0.25, 0.1];
  const rb = [0.1, -0.1, 0.1];
  const ma = (0.2 - 0.25 + 0.1) / 3;
  const mb = (0.1 - 0.1 + 0.1) / 3;
  const cov = (ra[0]! - ma) * (rb[0]! - mb) + (ra[1]! - ma) * (rb[1]! - mb) + (ra[2]! - ma) * (rb[2]! - mb);
  const varB = (rb[0]! - mb) ** 2 + (rb[1]! - mb) ** 2 + (rb[2]! - mb) ** 2;
  // = (0.18333 x 0.06667 + -0.26667 x -0.13333 + 0.08333 x 0.06667) / (0.00444 + 0.01778 + 0.00444)
  //   = 0.053333 / 0.026667 = 2
  const got = beta(asset, bench, '2026-01-07', { minReturns: 3 });
  t.truthy(got);
  t.true(Math.abs(got! - cov / varB) < 1e-12);
  t.true(Math.abs(got! - 2) < 1e-9);
  // One return fewer than asked for: null.
  t.is(beta(asset, bench, '2026-01-07', { minReturns: 4 }), null);
  // At the session of 01-03 only two returns exist.
  t.is(beta(asset, bench, '2026-01-03', { minReturns: 3 }), null);
});

test('beta takes the last 252 returns, and is null with fewer than 200', (t) => {
  const day = (i: number) => new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
  // The benchmark moves +1%, -1% in turn; the asset twice as much, so beta is exactly 2;
  // before the window the asset moves against it (beta -1), which the window must leave out.
  const n = 400;
  const dates = Array.from({ length: n }, (_, i) => day(i));
  const b: number[] = [100];
  const a: number[] = [50];
  for (let i = 1; i < n; i++) {
    const rb = i % 2 === 1 ? 0.01 : -0.01;
    const inWindow = i > n - 1 - BETA_RETURNS;
    b.push(b[i - 1]! * (1 + rb));
    a.push(a[i - 1]! * (1 + (inWindow ? 2 : -1) * rb));
  }
  const full = beta({ dates, closes: a }, { dates, closes: b }, day(n - 1));
  t.true(Math.abs(full! - 2) < 1e-9, `beta ${full}`);
  // Exactly 200 returns (201 common dates): a value; 199: null.
  const cut = (k: number) => ({ dates: dates.slice(n - k), closes: a.slice(n - k) });
  t.not(beta(cut(BETA_MIN_RETURNS + 1), { dates, closes: b }, day(n - 1)), null);
  t.is(beta(cut(BETA_MIN_RETURNS), { dates, closes: b }, day(n - 1)), null);
  // A flat benchmark: nothing to measure against.
  t.is(beta({ dates, closes: a }, { dates, closes: dates.map(() => 5) }, day(n - 1)), null);
});

test('beta of a series against itself is 1, against twice its moves 0.5; betaFrom walks from the given bars', (t) => {
  const day = (i: number) => new Date(Date.UTC(2021, 0, 4) + i * 86_400_000).toISOString().slice(0, 10);
  const n = 300;
  const dates = Array.from({ length: n }, (_, i) => day(i));
  const c: number[] = [40];
  for (let i = 1; i < n; i++) c.push(c[i - 1]! * (1 + Math.sin(i * 1.7) * 0.02 + (i % 7 === 0 ? 0.015 : -0.002)));
  const self = beta({ dates, closes: c }, { dates, closes: c }, day(n - 1));
  t.true(self !== null && Math.abs(self - 1) <= 1e-9, `beta vs itself ${self}`);
  const double: number[] = [100];
  for (let i = 1; i < n; i++) double.push(double[i - 1]! * (1 + 2 * (c[i]! / c[i - 1]! - 1)));
  const half = beta({ dates, closes: c }, { dates, closes: double }, day(n - 1));
  t.true(half !== null && Math.abs(half - 0.5) <= 1e-9, `beta vs 2x ${half}`);
  // The session picks the bars: betaFrom from the found indices equals beta at that session.
  const at = day(250);
  const i = lastIndexOnOrBefore(dates, at);
  t.is(i, 250);
  t.is(lastIndexOnOrBefore(dates, '2020-01-01'), -1);
  t.is(lastIndexOnOrBefore(dates, '2099-01-01'), n - 1);
  t.is(
    betaFrom({ dates, closes: c }, i, { dates, closes: double }, i),
    beta({ dates, closes: c }, { dates, closes: double }, at),
  );
});
