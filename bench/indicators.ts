/**
 * Benchmark of computeIndicators over a day's worth of assets (21,817 series of 500 bars).
 * Not a test. Run after building: `node dist/bench/indicators.js [--arrays] [--assets N]`.
 *
 * The series are deterministic (seeded) geometric random walks. They are generated in
 * chunks so the whole universe (~440 MB as Float64Array) is never resident at once; only
 * the computeIndicators calls are timed. `--arrays` feeds plain number[] instead of
 * Float64Array, the shape rows decoded from PostgreSQL usually arrive in.
 */

import { mulberry32 } from '../dev/simulator/hash.js';
import { type Bars, computeIndicators, MAX_BARS } from '../shared/domain/indicators.js';

const args = process.argv.slice(2);
const useArrays = args.includes('--arrays');
const assetsArg = args.indexOf('--assets');
const ASSETS = assetsArg >= 0 ? Number(args[assetsArg + 1]) : 21_817;
const BARS = MAX_BARS;
const CHUNK = 1_000;

function gaussian(rand: () => number): number {
  // Box-Muller; 1 - rand() keeps the log argument in (0, 1].
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function makeSeries(index: number): Bars {
  const rand = mulberry32(0x5eed + index * 7919);
  const open = new Float64Array(BARS);
  const high = new Float64Array(BARS);
  const low = new Float64Array(BARS);
  const close = new Float64Array(BARS);
  const volume = new Float64Array(BARS);
  let price = [0.05, 12.5, 47, 180, 3100][index % 5] * (0.5 + rand());
  const vol = 0.01 + 0.03 * rand();
  const drift = (rand() - 0.5) * 0.002;
  const logVol = 8 + 6 * rand();
  for (let i = 0; i < BARS; i++) {
    const o = price;
    const c = o * Math.exp(drift + vol * gaussian(rand));
    open[i] = o;
    close[i] = c;
    high[i] = Math.max(o, c) * (1 + vol * 0.5 * rand());
    low[i] = Math.min(o, c) * (1 - vol * 0.5 * rand());
    volume[i] = Math.round(Math.exp(logVol + 0.5 * gaussian(rand)));
    price = c;
  }
  if (useArrays) {
    return {
      open: Array.from(open),
      high: Array.from(high),
      low: Array.from(low),
      close: Array.from(close),
      volume: Array.from(volume),
    };
  }
  return { open, high, low, close, volume };
}

const MB = 1024 * 1024;
let computeNs = 0n;
let rows = 0;
let checksum = 0;
let peakHeap = 0;
const wallStart = process.hrtime.bigint();

for (let start = 0; start < ASSETS; start += CHUNK) {
  const end = Math.min(ASSETS, start + CHUNK);
  const chunk: Bars[] = [];
  for (let i = start; i < end; i++) chunk.push(makeSeries(i));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < chunk.length; i++) {
    const row = computeIndicators(chunk[i]);
    if (row !== null) {
      rows++;
      checksum += (row.rsi_14 ?? 0) + (row.adx ?? 0);
    }
  }
  computeNs += process.hrtime.bigint() - t0;
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}

const wallSeconds = Number(process.hrtime.bigint() - wallStart) / 1e9;
const seconds = Number(computeNs) / 1e9;
const assetsPerSecond = ASSETS / seconds;
const heapUsedMb = process.memoryUsage().heapUsed / MB;
const peakHeapMb = peakHeap / MB;

console.log(`assets: ${ASSETS} x ${BARS} bars (${useArrays ? 'number[]' : 'Float64Array'} input), rows: ${rows}`);
console.log(`assets/s: ${assetsPerSecond.toFixed(0)}`);
console.log(`total seconds (computeIndicators only): ${seconds.toFixed(3)}`);
console.log(`wall seconds (incl. generating the series): ${wallSeconds.toFixed(3)}`);
console.log(`heap used MB: ${heapUsedMb.toFixed(1)} (peak sampled per chunk: ${peakHeapMb.toFixed(1)})`);
console.log(
  JSON.stringify({
    bench: 'indicators',
    assets: ASSETS,
    bars: BARS,
    input: useArrays ? 'number[]' : 'Float64Array',
    rows,
    assetsPerSecond: Math.round(assetsPerSecond),
    seconds: Number(seconds.toFixed(3)),
    wallSeconds: Number(wallSeconds.toFixed(3)),
    heapUsedMb: Number(heapUsedMb.toFixed(1)),
    peakHeapMb: Number(peakHeapMb.toFixed(1)),
    checksum: Number(checksum.toFixed(6)),
    node: process.version,
  }),
);
