/**
 * The pipeline's call book: the EODHD client's requests reserved, settled and paced in the
 * ledger (api-ledger.ts: api_calls, api_quota_days, one atomic statement each), and what the
 * answers say of the plan recorded (api-plan.ts: api_entitlements). metered() builds a client
 * that books its requests here, on a quota day and for a run.
 */
import type { CallBook } from '../eodhd/call-book.js';
import { EodhdClient, type EodhdClientOptions } from '../eodhd/client.js';
import type { Queryable } from '../platform/db.js';
import { holdRate, reserveCall, settleCall } from './api-ledger.js';
import { recordAnswer, refusedToday } from './api-plan.js';

export interface LedgerScope {
  db: Queryable;
  /** The API's base URL: what a process learnt of one API's plan is not another's. */
  baseUrl: string;
  quotaDay: string;
  /** quota - buffer: what reservations may reach that day. */
  callLimit: number;
  executionId: number | null;
}

function ledgerBook(s: LedgerScope): CallBook {
  return {
    refused: (kind) => refusedToday(s.baseUrl, kind, s.quotaDay),
    reserve: (r) => reserveCall(s.db, { ...r, day: s.quotaDay, limit: s.callLimit, executionId: s.executionId }),
    settle: (callId, outcome, durationMs, error) => settleCall(s.db, callId, outcome, durationMs, error),
    holdRate: (seconds) => holdRate(s.db, s.quotaDay, seconds),
    answered: (kind, status, detail) => recordAnswer(s.db, s.baseUrl, kind, s.quotaDay, status, detail),
  };
}

/** A client whose every request is booked in the ledger of a quota day (and a run). */
export function meteredClient(o: Omit<EodhdClientOptions, 'book'> & Omit<LedgerScope, 'baseUrl'>): EodhdClient {
  const { db, quotaDay, callLimit, executionId, ...client } = o;
  return new EodhdClient({
    ...client,
    book: ledgerBook({ db, baseUrl: client.baseUrl, quotaDay, callLimit, executionId }),
  });
}
