// Deterministic pseudo-randomness for the simulator.
//
// Why hashing instead of a seeded generator: every value the simulator serves (a bar, a
// dividend, a listing date) must be computable on its own, in O(1), in any order, by any
// process, and come out the same every time. A stateful PRNG would force replaying a
// sequence from its start; a hash of (symbol seed, stream, index) does not.
//
// The only stateful generator here (mulberry32) is used by fault injection, where "the
// n-th request after setFaults" is exactly the sequence semantics we want.

/** murmur3 finaliser: spreads every input bit over the whole 32-bit word. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function round(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** 32-bit hash of a string (FNV-1a, then finalised). Used once per symbol for its seed. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix(h);
}

/** Hash of (seed, a): one word per call keeps the hot paths (prices) cheap. */
export function h2(seed: number, a: number): number {
  return fmix(round(seed, a) ^ 4);
}

/** Hash of (seed, a, b). */
export function h3(seed: number, a: number, b: number): number {
  return fmix(round(round(seed, a), b) ^ 8);
}

const INV32 = 1 / 4294967296;

/** Uniform in [0, 1) from (seed, a). */
export function u2(seed: number, a: number): number {
  return h2(seed, a) * INV32;
}

/** Uniform in [0, 1) from (seed, a, b). */
export function u3(seed: number, a: number, b: number): number {
  return h3(seed, a, b) * INV32;
}

/** Uniform in [-sqrt(3), sqrt(3)): zero mean, unit variance, one hash. */
export function sym3(seed: number, a: number, b: number): number {
  return (h3(seed, a, b) * INV32 - 0.5) * 3.4641016151377544;
}

/** Approximately standard normal from (seed, a, b): Irwin-Hall sum of four 16-bit uniforms taken from two hashes (no log/cos: this sits on the price hot path). */
export function gauss3(seed: number, a: number, b: number): number {
  const x = h3(seed, a, b);
  const y = h3(seed ^ 0x5bd1e995, a, b);
  // four 16-bit uniforms, Irwin-Hall(4) centred and scaled to unit variance
  const s = (x & 0xffff) + (x >>> 16) + (y & 0xffff) + (y >>> 16);
  return (s / 65536 - 2) * 1.7320508075688772;
}

/** Pick an element deterministically. */
export function pick<T>(arr: readonly T[], u: number): T {
  return arr[Math.min(arr.length - 1, Math.floor(u * arr.length))];
}

/** Log-uniform value in [lo, hi). */
export function logUniform(u: number, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo)));
}

/** Stream ids: distinct constants so that the same (seed, index) never feeds two purposes. */
export const S = {
  listing: hashString('listing'),
  delist: hashString('delist'),
  price: hashString('price'),
  oct: hashString('octave'),
  big: hashString('bigday'),
  gap: hashString('open-gap'),
  hi: hashString('high'),
  lo: hashString('low'),
  vol: hashString('volume'),
  noBar: hashString('no-bar'),
  flat: hashString('flat'),
  corr: hashString('correction'),
  split: hashString('split'),
  splitDay: hashString('split-day'),
  splitRatio: hashString('split-ratio'),
  div: hashString('dividend'),
  divDay: hashString('dividend-day'),
  divMeta: hashString('dividend-meta'),
  name: hashString('name'),
  isin: hashString('isin'),
  fund: hashString('fundamentals'),
  quirk: hashString('quirk'),
  newListing: hashString('new-listing'),
  oldListing: hashString('old-listing'),
  venue: hashString('venue'),
  sample: hashString('sample'),
  currency: hashString('currency'),
  publish: hashString('publication'),
  badPhase: hashString('bad-tick-phase'),
  badTick: hashString('bad-tick'),
  badPos: hashString('bad-tick-position'),
  badMeta: hashString('bad-tick-meta'),
  lateFix: hashString('late-correction'),
  lateFixMeta: hashString('late-correction-meta'),
} as const;

/** mulberry32: small, fast, seeded sequence generator (fault injection only). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
