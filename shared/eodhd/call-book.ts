/**
 * What the EODHD client asks of whoever keeps its accounts, and nothing else of them: the
 * client knows the API (paths, costs, errors, retries, pacing), a call book knows where
 * requests are recorded and budgeted. The pipeline's book is the database's ledger
 * (store/call-book.ts); a test or a tool may keep one in memory.
 */

/** The kinds of endpoint a plan may include or refuse (a 403 says which). */
const ENTITLEMENT_KINDS = ['eod', 'bulk', 'fundamentals', 'calendar', 'symbol_list', 'exchange_details'] as const;
export type EntitlementKind = (typeof ENTITLEMENT_KINDS)[number];

/** The kind of each endpoint the client calls (/user is always allowed). */
export const ENDPOINT_KIND: Record<string, EntitlementKind | null> = {
  eod: 'eod',
  'eod-bulk-last-day': 'bulk',
  'bulk-corporate-actions': 'bulk',
  fundamentals: 'fundamentals',
  'calendar-splits': 'calendar',
  'calendar-dividends': 'calendar',
  'exchange-symbol-list': 'symbol_list',
  'exchange-symbol-list-delisted': 'symbol_list',
  'exchange-details': 'exchange_details',
  user: null,
};

/** A request about to be made, as the book reserves it. */
export interface CallReservation {
  endpoint: string;
  target: string | null;
  cost: number;
  /** 60 / the requests a minute the client may make. */
  intervalSeconds: number;
  /** The pacing's tolerance. */
  burstSeconds: number;
  /** When the request is certainly over (the client aborts it before), in seconds from now. */
  deadlineSeconds: number;
}

export type Reservation =
  | { ok: true; callId: number }
  | { ok: false; reason: 'quota'; callLimit: number; used: number }
  | { ok: false; reason: 'rate'; waitMs: number };

export type CallOutcome =
  /** The API answered: cost = what it charged (errors nothing, an unknown ticker 1). */
  | { outcome: 'answered'; charged: number; httpStatus: number }
  /** No connection was made: the API never saw it, it cost nothing. */
  | { outcome: 'not_sent' }
  /** Sent, and nothing came back in time: it may have been charged; it stays counted at
   * its reserved cost until the API's own count settles it. */
  | { outcome: 'no_answer' };

export interface CallBook {
  /** Whether the plan refused this kind earlier on the book's day (asking again would get the same 403). */
  refused(kind: EntitlementKind): boolean;
  /** Reserves the request's cost and a rate slot before it is made (its row written). */
  reserve(r: CallReservation): Promise<Reservation>;
  /** Records what the request came to; false when the API's own count settled it already. */
  settle(callId: number, outcome: CallOutcome, durationMs: number, error: string | null): Promise<boolean>;
  /** The API says its per-minute window runs low: every request waits this long. */
  holdRate(seconds: number): Promise<void>;
  /** An answer (2xx) or a refusal (403) of a kind of endpoint: what the plan includes. */
  answered(kind: EntitlementKind, status: 'available' | 'not_in_plan', detail: string | null): Promise<void>;
}
