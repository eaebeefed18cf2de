// Fault injection.
//
// Why: the pipeline's promises (429 honours Retry-After, 5xx and timeouts retry with
// backoff, a failed ticker never stops its batch, bad bodies are rejected by zod, quota is
// never overrun) can only be tested if the API misbehaves on demand. Two ways to ask:
// - `rate` + `kinds`: each API request is hit with probability `rate`, the kind drawn
//   uniformly from `kinds` among those that make sense for the endpoint. The draws come
//   from a generator seeded with `seed`, so a given request sequence always gets the same
//   faults.
// - `once`: the next request whose path (from /api on, query included, api_token removed)
//   contains `path` gets that fault, once; an entry without `path` matches any request.
//
// What each kind does (server.ts carries it out) and what it costs, as the real API would
// charge (errors nothing, an unknown ticker 1, answers that were produced their normal cost):
//   429                 429 + Retry-After (a limit hit below the documented rate), free
//   402                 402 daily limit, free
//   500 / 502 / 503     error status (502/503 with an HTML body, as a proxy sends), free
//   timeout             no answer; the connection is dropped after `timeoutMs`, free
//   slow                the normal answer after `slowMs`, normal cost
//   slow-body           headers and a tenth of the body at once, the rest in ten pieces
//                       spread over `slowMs` (a body that trickles), normal cost
//   truncated           headers announce the full length, half the body, then the socket
//                       is destroyed, normal cost
//   malformed           200 with a body that does not parse (complete per Content-Length), normal cost
//   na-fundamentals     fundamentals only: General kept, every other section "NA", cost 10
//   unknown-ticker      per-ticker endpoints only: 404 "Ticker Not Found.", cost 1
//                       (fundamentals: 200 {"error":"Not found"}, cost 10, as EODHD answers)
//   empty               200 with [] / {} / a CSV header only, normal cost

import { mulberry32 } from './hash.js';
import type { EndpointName } from './limits.js';

export const FAULT_KINDS = [
  '429',
  '402',
  '500',
  '502',
  '503',
  'timeout',
  'slow',
  'slow-body',
  'truncated',
  'malformed',
  'na-fundamentals',
  'unknown-ticker',
  'empty',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultConfig {
  rate?: number;
  kinds?: FaultKind[];
  once?: Array<{ kind: FaultKind; path?: string }>;
  seed?: number;
  /** delay of the `slow` fault, and how long a `slow-body` body trickles (default 1500 ms) */
  slowMs?: number;
  /** how long a `timeout` fault holds the connection before dropping it (default 30000 ms) */
  timeoutMs?: number;
}

const PER_TICKER: EndpointName[] = ['eod', 'fundamentals', 'splits', 'div'];

export function faultApplies(kind: FaultKind, endpoint: EndpointName): boolean {
  switch (kind) {
    case 'na-fundamentals':
      return endpoint === 'fundamentals';
    case 'unknown-ticker':
      return PER_TICKER.includes(endpoint);
    case 'empty':
      return endpoint !== 'user';
    default:
      return true;
  }
}

/** Throws on a config that is not one (the admin route answers 400 with the message). */
export function checkFaultConfig(c: unknown): FaultConfig {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new Error('fault config must be an object');
  const f = c as Record<string, unknown>;
  const isKind = (k: unknown): k is FaultKind =>
    typeof k === 'string' && (FAULT_KINDS as readonly string[]).includes(k);
  if (f.rate !== undefined && (typeof f.rate !== 'number' || !(f.rate >= 0 && f.rate <= 1)))
    throw new Error('rate must be a number in 0..1');
  if (f.kinds !== undefined && (!Array.isArray(f.kinds) || !f.kinds.every(isKind)))
    throw new Error(`kinds must be a list of ${FAULT_KINDS.join(', ')}`);
  if (f.once !== undefined) {
    if (!Array.isArray(f.once)) throw new Error('once must be a list');
    for (const o of f.once) {
      if (!o || typeof o !== 'object' || !isKind((o as { kind?: unknown }).kind))
        throw new Error('once entries need a valid kind');
      const p = (o as { path?: unknown }).path;
      if (p !== undefined && typeof p !== 'string') throw new Error('once[].path must be a string');
    }
  }
  for (const k of ['seed', 'slowMs', 'timeoutMs']) {
    if (f[k] !== undefined && (typeof f[k] !== 'number' || !Number.isFinite(f[k]) || (f[k] as number) < 0))
      throw new Error(`${k} must be a non-negative number`);
  }
  return f as FaultConfig;
}

export class FaultInjector {
  private config: FaultConfig = {};
  private rng = mulberry32(1);
  private pendingOnce: Array<{ kind: FaultKind; path?: string }> = [];
  private readonly counts: Record<string, number> = {};

  set(config: FaultConfig): void {
    this.config = structuredClone(config);
    this.rng = mulberry32(config.seed ?? 1);
    this.pendingOnce = [...(config.once ?? [])];
  }

  get slowMs(): number {
    return this.config.slowMs ?? 1500;
  }
  get timeoutMs(): number {
    return this.config.timeoutMs ?? 30_000;
  }

  /** The fault for this request, if any (and count it). `target` must not contain the api_token. */
  pick(endpoint: EndpointName, target: string): FaultKind | null {
    const i = this.pendingOnce.findIndex((o) => (!o.path || target.includes(o.path)) && faultApplies(o.kind, endpoint));
    if (i >= 0) {
      const [o] = this.pendingOnce.splice(i, 1);
      return this.hit(o.kind);
    }
    const rate = this.config.rate ?? 0;
    if (rate <= 0) return null;
    if (this.rng() >= rate) return null;
    const kinds = (this.config.kinds?.length ? this.config.kinds : [...FAULT_KINDS]).filter((k) =>
      faultApplies(k, endpoint),
    );
    const r = this.rng();
    if (!kinds.length) return null;
    return this.hit(kinds[Math.floor(r * kinds.length)]);
  }

  private hit(kind: FaultKind): FaultKind {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    return kind;
  }

  injected(): Record<string, number> {
    return { ...this.counts };
  }

  state(): {
    config: FaultConfig;
    pendingOnce: Array<{ kind: FaultKind; path?: string }>;
    injected: Record<string, number>;
  } {
    return { config: structuredClone(this.config), pendingOnce: [...this.pendingOnce], injected: this.injected() };
  }
}
