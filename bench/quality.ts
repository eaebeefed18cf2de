/**
 * The quality checks' speed (shared/domain/quality.ts), without the database: every bar of
 * N series of 500 bars judged, as on day 1 when each new history is checked whole, and the
 * newest bar of each judged against its baseline, as on a normal day.
 * `node dist/bench/quality.js [--assets N]` (default 21,800: the universe).
 */
import { mulberry32 } from '../dev/simulator/hash.js';
import { checkSeries, type QualityBar } from '../shared/domain/quality.js';
import { thresholdsOf } from '../shared/steps/check-quality.js';
import { DEFAULT_SETTINGS } from '../shared/store/settings.js';

const args = process.argv.slice(2);
const at = args.indexOf('--assets');
const ASSETS = at >= 0 ? Number(args[at + 1]) : 21_800;
const BARS = 500;
const thresholds = thresholdsOf(DEFAULT_SETTINGS);

function series(i: number): QualityBar[] {
  const r = mulberry32(0x9a11 + i * 7919);
  let p = [0.05, 12.5, 47, 180, 3100][i % 5]! * (0.5 + r());
  const d = new Date(Date.UTC(2024, 0, 2));
  const out: QualityBar[] = [];
  while (out.length < BARS) {
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) {
      const c = p * Math.exp((r() - 0.5) * 0.05);
      const high = Math.max(p, c) * (1 + 0.01 * r());
      const low = Math.min(p, c) * (1 - 0.01 * r());
      out.push({
        date: d.toISOString().slice(0, 10),
        open: p,
        high,
        low,
        close: c,
        adjusted_close: c,
        volume: Math.round(1000 + 1e5 * r()),
      });
      p = c;
    }
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

const all = Array.from({ length: ASSETS }, (_, i) => series(i));
const ctx = {
  actionDays: new Set<string>(),
  currencySwitchDays: [],
  tradedSessions: all[0]!.map((b) => b.date),
  marketCap: null,
};
let findings = 0;
const t0 = performance.now();
for (const s of all) findings += checkSeries(s, s[0]!.date, ctx, thresholds).length;
const whole = (performance.now() - t0) / 1000;
const t1 = performance.now();
for (const s of all) findings += checkSeries(s.slice(-80), s[s.length - 1]!.date, ctx, thresholds).length;
const daily = (performance.now() - t1) / 1000;
console.log(`quality checks, ${ASSETS.toLocaleString('en-US')} series of ${BARS} bars (no database):`);
console.log(
  `  whole histories (day 1):  ${whole.toFixed(2)} s, ${Math.round((ASSETS * BARS) / whole).toLocaleString('en-US')} bars/s`,
);
console.log(
  `  the newest bar (a day):   ${daily.toFixed(2)} s, ${Math.round(ASSETS / daily).toLocaleString('en-US')} assets/s`,
);
console.log(`  findings on these clean random walks: ${findings}`);
