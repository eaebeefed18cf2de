/**
 * What collect-region's parts share: the collection day every item of an invocation charges
 * and checks against, the region's tallies, and what stops collection (the API's daily limit,
 * our budget, a refused key) as against what only fails one ticker.
 */

import { EodhdError, type EodhdErrorKind } from '../eodhd/client.js';

export interface RegionStats {
  processed: number;
  failed: number;
  skipped: number;
  warnings: number;
  retried: number;
  calls: number;
  records: number;
  bulkCalls: number;
}

/** What every item of an invocation shares: the quota day it charges, the region's learnt holidays. */
export interface CollectDay {
  quotaDay: string;
  /** Holidays learnt from empty bulk days, by exchange: a bar on one proves it wrong. */
  learnt: Map<string, Set<string>>;
}

export class StopCollection extends Error {
  constructor(
    readonly reason: 'quota' | 'auth',
    message: string,
  ) {
    super(message);
  }
}

export function asStop(err: unknown): StopCollection | null {
  if (err instanceof StopCollection) return err;
  if (err instanceof EodhdError && (err.kind === 'quota' || err.kind === 'auth'))
    return new StopCollection(err.kind, err.message);
  return null;
}

/** A failure that may pass: a server error or no answer (after the client's own retries). */
export function isTransient(err: unknown): boolean {
  return err instanceof EodhdError && (err.kind === 'server' || err.kind === 'network');
}

export function isKind(err: unknown, kind: EodhdErrorKind): boolean {
  return err instanceof EodhdError && err.kind === kind;
}
