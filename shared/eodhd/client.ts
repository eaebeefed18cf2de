/**
 * The EODHD client. Every request: reserve its cost (and a rate slot) and write its ledger
 * row in the database, make it, settle the row with what it cost. 429 waits
 * for Retry-After; 5xx and timeouts retry with backoff and jitter; 402 and our own budget
 * stop collection (an EodhdError of kind 'quota'); the key never leaves this module unredacted.
 *
 * What the plan allows is learnt here: a 403 is recorded as "not in the plan" for the
 * endpoint's kind (and not asked again by this process that day), a 2xx as "in the plan";
 * a 401 is a refused key. The rate-limit headers of every answer pace all replicas.
 */

import { request } from 'undici';
import { errorText, log, redact } from '../platform/log.js';
import { apiCalls, apiCallsCharged } from '../platform/metrics.js';
import { type CallBook, type CallOutcome, ENDPOINT_KIND } from './call-book.js';
import {
  BulkDividendRowSchema,
  type BulkEodRow,
  BulkEodRowSchema,
  BulkSplitRowSchema,
  CalendarDividendsSchema,
  CalendarSplitsSchema,
  type EodBar,
  EodBarSchema,
  ErrorBodySchema,
  type ExchangeDetails,
  ExchangeDetailsSchema,
  type Fundamentals,
  FundamentalsSchema,
  parseRows,
  type SymbolListItem,
  SymbolListItemSchema,
  type User,
  UserSchema,
} from './schemas.js';

/**
 * not_in_plan: 403, the plan does not include the endpoint. no_data: a 200 whose body is
 * an error ({"error": "Not found"}: EODHD has no document for the symbol).
 */
export type EodhdErrorKind =
  | 'quota'
  | 'auth'
  | 'not_in_plan'
  | 'not_found'
  | 'no_data'
  | 'rate_limited'
  | 'server'
  | 'network'
  | 'bad_response'
  | 'client';

/** One ticker's history as answered, with the warnings the API put among the bars. */
export interface EodHistory {
  bars: EodBar[];
  warnings: string[];
  dropped: number;
}

/** What to tell a person whose key EODHD refuses. */
const KEY_REFUSED =
  'EODHD refused the API key (401 Unauthenticated): put a valid key in the eodhd-api-key secret (or EODHD_API_KEY) and start a new run';

export class EodhdError extends Error {
  constructor(
    readonly kind: EodhdErrorKind,
    message: string,
    readonly status: number | null = null,
  ) {
    super(redact(message));
    this.name = 'EodhdError';
  }
}

export interface EodhdClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Where requests are reserved and settled, and what the plan and the rate said is kept. */
  book: CallBook;
  requestsPerMinute: number;
  maxAttempts?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Longest a request may take in all (default headers + body timeouts); it is aborted then. */
  requestDeadlineMs?: number;
  /** Longest a 429's Retry-After is waited for before the request gives up. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

interface CallSpec {
  endpoint: string;
  path: string;
  params?: Record<string, string>;
  cost: number;
  target: string | null;
  /** What an answer of 404 costs (an unknown symbol costs 1). */
  notFoundCost?: number;
}

/** An HTTP Date header's instant, or null when absent or unreadable. */
function httpDate(v: string | string[] | undefined): Date | null {
  const t = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isFinite(t) ? new Date(t) : null;
}

/**
 * What a request costs in API calls (EODHD's documented costs): the one place they are
 * written; the budget arithmetic and the plan's estimates read them from here.
 */
export const API_COST = {
  eod: 1,
  bulk: 100,
  fundamentals: 10,
  exchangeDetails: 5,
  symbolList: 1,
  calendar: 1,
  user: 0,
} as const;
/** What /exchange-details costs a request (EODHD: 5 API calls). */
export const EXCHANGE_DETAILS_COST = API_COST.exchangeDetails;

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * How long a request may wait for the answer's headers, then for its body (a bulk day of
 * the US is ~50k rows). EODHD_HEADERS_TIMEOUT_MS and EODHD_BODY_TIMEOUT_MS override them.
 */
export const REQUEST_TIMEOUTS_MS = { headers: 30_000, body: 120_000 } as const;

export class EodhdClient {
  private readonly o: Required<Omit<EodhdClientOptions, 'requestDeadlineMs'>> & { requestDeadlineMs: number };
  /** Calls this client was charged, for the caller's details rows. */
  callsCharged = 0;
  /**
   * The API's clock: the Date header of its last answer (null before one, or when it had
   * none). Runs take their day from it, so that a machine with a wrong clock, and the
   * simulator's compressed days, follow the API's clock alike.
   */
  serverTime: Date | null = null;

  constructor(opts: EodhdClientOptions) {
    const headersTimeoutMs = opts.headersTimeoutMs ?? REQUEST_TIMEOUTS_MS.headers;
    const bodyTimeoutMs = opts.bodyTimeoutMs ?? REQUEST_TIMEOUTS_MS.body;
    this.o = {
      maxAttempts: 4,
      maxRetryAfterMs: 120_000,
      sleep: defaultSleep,
      ...opts,
      headersTimeoutMs,
      bodyTimeoutMs,
      requestDeadlineMs: opts.requestDeadlineMs ?? headersTimeoutMs + bodyTimeoutMs,
    };
  }

  /** One ticker's daily bars (1 call), and any warning the API put among them. */
  async eod(symbol: string, from?: string, to?: string): Promise<EodHistory> {
    const params: Record<string, string> = { period: 'd', order: 'a' };
    if (from) params.from = from;
    if (to) params.to = to;
    const body = await this.call({
      endpoint: 'eod',
      path: `/eod/${encodeURIComponent(symbol)}`,
      params,
      cost: API_COST.eod,
      target: symbol,
      notFoundCost: 1,
    });
    const r = parseRows(EodBarSchema, body);
    return { bars: r.rows, warnings: r.warnings, dropped: r.dropped };
  }

  /** Every ticker of an exchange for its last trading day, or for `date` (100 calls). */
  async bulkEod(exchange: string, date?: string): Promise<{ rows: BulkEodRow[]; dropped: number }> {
    const params: Record<string, string> = {};
    if (date) params.date = date;
    const body = await this.call({
      endpoint: 'eod-bulk-last-day',
      path: `/eod-bulk-last-day/${encodeURIComponent(exchange)}`,
      params,
      cost: API_COST.bulk,
      target: exchange,
    });
    return parseRows(BulkEodRowSchema, body);
  }

  /** An exchange's time zone, hours, holidays and early closes in [from, to] (5 calls). */
  async exchangeDetails(exchange: string, from: string, to: string): Promise<ExchangeDetails> {
    const body = await this.call({
      endpoint: 'exchange-details',
      path: `/exchange-details/${encodeURIComponent(exchange)}`,
      params: { from, to },
      cost: EXCHANGE_DETAILS_COST,
      target: exchange,
    });
    const r = ExchangeDetailsSchema.safeParse(body);
    if (!r.success) throw new EodhdError('bad_response', `exchange-details ${exchange}: not an exchange's details`);
    return r.data;
  }

  /** The whole fundamentals document (10 calls, also when EODHD has none: {"error": "Not found"}). */
  async fundamentals(symbol: string): Promise<Fundamentals> {
    const body = await this.call({
      endpoint: 'fundamentals',
      path: `/fundamentals/${encodeURIComponent(symbol)}`,
      cost: API_COST.fundamentals,
      target: symbol,
      notFoundCost: 1,
    });
    const r = FundamentalsSchema.safeParse(body);
    if (r.success) return r.data;
    const e = ErrorBodySchema.safeParse(body);
    if (e.success)
      throw new EodhdError(
        'no_data',
        `fundamentals of ${symbol}: EODHD has no document ("${redact(e.data.error).slice(0, 80)}")`,
        200,
      );
    throw new EodhdError('bad_response', `fundamentals of ${symbol}: not a fundamentals document`);
  }

  /** An exchange's splits or dividends of one day, from the bulk endpoint (100 calls). */
  async bulkCorporateActions(
    exchange: string,
    type: 'splits' | 'dividends',
    date: string,
  ): Promise<Array<{ code: string; date: string; detail: string | null }>> {
    const body = await this.call({
      endpoint: 'bulk-corporate-actions',
      path: `/eod-bulk-last-day/${encodeURIComponent(exchange)}`,
      params: { type, date },
      cost: API_COST.bulk,
      target: `${exchange}:${type}`,
    });
    if (type === 'splits')
      return parseRows(BulkSplitRowSchema, body).rows.map((r) => ({
        code: r.code,
        date: r.date,
        detail: r.split ?? null,
      }));
    return parseRows(BulkDividendRowSchema, body).rows.map((r) => ({ code: r.code, date: r.date, detail: null }));
  }

  /** The exchange's listed symbols of one type (1 call). */
  async exchangeSymbols(exchange: string, type = 'common_stock'): Promise<{ rows: SymbolListItem[]; dropped: number }> {
    const body = await this.call({
      endpoint: 'exchange-symbol-list',
      path: `/exchange-symbol-list/${encodeURIComponent(exchange)}`,
      params: { type },
      cost: API_COST.symbolList,
      target: exchange,
    });
    return parseRows(SymbolListItemSchema, body);
  }

  /**
   * The exchange's delisted symbols of one type (1 call): EODHD keeps a delisted ticker,
   * marked IsDelisted, and lists it only with delisted=1. Booked apart from the daily list.
   */
  async delistedSymbols(exchange: string, type = 'common_stock'): Promise<{ rows: SymbolListItem[]; dropped: number }> {
    const body = await this.call({
      endpoint: 'exchange-symbol-list-delisted',
      path: `/exchange-symbol-list/${encodeURIComponent(exchange)}`,
      params: { type, delisted: '1' },
      cost: API_COST.symbolList,
      target: exchange,
    });
    return parseRows(SymbolListItemSchema, body);
  }

  /** Splits of all exchanges with an ex-date in [from, to] (1 call). */
  async calendarSplits(
    from: string,
    to: string,
  ): Promise<Array<{ symbol: string; date: string; detail: string | null }>> {
    const body = await this.call({
      endpoint: 'calendar-splits',
      path: '/calendar/splits',
      params: { from, to },
      cost: API_COST.calendar,
      target: null,
    });
    const r = CalendarSplitsSchema.safeParse(body);
    if (!r.success) throw new EodhdError('bad_response', 'calendar/splits: unexpected answer');
    return r.data.splits.map((x) => ({
      symbol: x.code,
      date: x.split_date,
      detail: x.new_shares && x.old_shares ? `${x.new_shares}/${x.old_shares}` : null,
    }));
  }

  /** Dividends of all exchanges with this ex-date (1 call a page of 10,000). */
  async calendarDividends(date: string): Promise<Array<{ symbol: string; date: string }>> {
    const out: Array<{ symbol: string; date: string }> = [];
    for (let offset = 0; offset <= 1_000_000; offset += 10_000) {
      const body = await this.call({
        endpoint: 'calendar-dividends',
        path: '/calendar/dividends',
        params: { 'filter[date_eq]': date, 'page[limit]': '10000', 'page[offset]': String(offset) },
        cost: API_COST.calendar,
        target: null,
      });
      const r = CalendarDividendsSchema.safeParse(body);
      if (!r.success) throw new EodhdError('bad_response', 'calendar/dividends: unexpected answer');
      out.push(...r.data.data.map((d) => ({ symbol: d.symbol, date: d.date })));
      if (r.data.data.length < 10_000 || !r.data.links?.next) break;
    }
    return out;
  }

  /** The account's usage (free). */
  async user(): Promise<User> {
    const body = await this.call({ endpoint: 'user', path: '/user', cost: API_COST.user, target: null });
    const r = UserSchema.safeParse(body);
    if (!r.success) throw new EodhdError('bad_response', '/user: unexpected answer');
    return r.data;
  }

  private async call(spec: CallSpec): Promise<unknown> {
    const kind = ENDPOINT_KIND[spec.endpoint] ?? null;
    // Refused by the plan earlier today: the answer would be the same.
    if (kind && this.o.book.refused(kind)) {
      throw new EodhdError(
        'not_in_plan',
        `${spec.endpoint} ${spec.target ?? ''}: not in the plan (403 earlier today)`.replace(/\s+:/, ':'),
        403,
      );
    }
    let attempt = 0;
    let waitedForRate = 0;
    for (;;) {
      attempt++;
      const callId = await this.reserve(spec);
      const started = performance.now();
      let status: number | null = null;
      let charged = 0;
      try {
        const url = this.url(spec);
        const res = await request(url, {
          method: 'GET',
          headersTimeout: this.o.headersTimeoutMs,
          bodyTimeout: this.o.bodyTimeoutMs,
          signal: AbortSignal.timeout(this.o.requestDeadlineMs),
          headers: { accept: 'application/json' },
        });
        status = res.statusCode;
        // A 200 is charged once its headers arrive, even if the body then breaks off.
        if (status === 200) charged = spec.cost;
        else if (status === 404) charged = spec.notFoundCost ?? 0;
        this.serverTime = httpDate(res.headers.date) ?? this.serverTime;
        await this.observeRate(res.headers);
        const text = await res.body.text();
        if (status === 200) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Charged, but unreadable: worth another try.
            throw new EodhdError(
              'bad_response',
              `${spec.endpoint} ${spec.target ?? ''}: answer is not JSON (${text.length} bytes)`,
              status,
            );
          }
          await this.settle(callId, spec.endpoint, { outcome: 'answered', charged, httpStatus: status }, started, null);
          if (kind) await this.o.book.answered(kind, 'available', null);
          return parsed;
        }
        if (status === 403 && kind)
          await this.o.book.answered(kind, 'not_in_plan', `403 on ${spec.endpoint}: ${errorMessage(text)}`);
        const retryAfter = Number(res.headers['retry-after']);
        throw this.errorFor(spec, status, text, Number.isFinite(retryAfter) ? retryAfter : null);
      } catch (err) {
        const e =
          err instanceof EodhdError
            ? err
            : new EodhdError('network', `${spec.endpoint} ${spec.target ?? ''}: ${errorText(err)}`);
        // No answer to a request that went out (a timeout, a dropped socket): the API may
        // have answered and charged it after we stopped waiting, so it stays counted at its
        // reserved cost until the API's own count settles it. Only a request that never
        // left (no connection) is known to have cost nothing.
        const outcome: CallOutcome =
          status !== null
            ? { outcome: 'answered', charged, httpStatus: status }
            : isConnectFailure(err)
              ? { outcome: 'not_sent' }
              : { outcome: 'no_answer' };
        await this.settle(callId, spec.endpoint, outcome, started, e.message);
        const retryable = e.kind === 'server' || e.kind === 'network' || e.kind === 'bad_response';
        if (e.kind === 'rate_limited') {
          const waitMs = Math.min(
            this.o.maxRetryAfterMs,
            Math.max(1000, ((e as RateLimited).retryAfterSeconds ?? 5) * 1000),
          );
          waitedForRate += waitMs;
          if (waitedForRate > this.o.maxRetryAfterMs * 3) throw e;
          await this.o.sleep(waitMs + Math.random() * 250);
          attempt--; // waiting for the rate limit is not a failed attempt
          continue;
        }
        if (!retryable || attempt >= this.o.maxAttempts) throw e;
        await this.o.sleep(Math.min(30_000, 500 * 2 ** (attempt - 1)) * (0.5 + Math.random()));
      }
    }
  }

  private url(spec: CallSpec): string {
    const qs = new URLSearchParams({ ...(spec.params ?? {}), api_token: this.o.apiKey, fmt: 'json' });
    return `${this.o.baseUrl}${spec.path}?${qs.toString()}`;
  }

  private errorFor(spec: CallSpec, status: number, text: string, retryAfter: number | null): EodhdError {
    const what = `${spec.endpoint} ${spec.target ?? ''}`.trim();
    const snippet = redact(text.slice(0, 120).replace(/\s+/g, ' '));
    if (status === 402) return new EodhdError('quota', `${what}: the API's daily limit is used up (402)`, status);
    if (status === 401) return new EodhdError('auth', KEY_REFUSED, status);
    if (status === 403) return new EodhdError('not_in_plan', `${what}: not in the plan (403 ${snippet})`, status);
    if (status === 404) return new EodhdError('not_found', `${what}: not found (404 ${snippet})`, status);
    if (status === 429) return new RateLimited(`${what}: per-minute limit (429)`, retryAfter);
    if (status >= 500) return new EodhdError('server', `${what}: server error ${status}`, status);
    return new EodhdError('client', `${what}: HTTP ${status} ${snippet}`, status);
  }

  /**
   * Paces every replica by what the API says of its per-minute window: the rate never goes
   * above RATE_SHARE of X-RateLimit-Limit (whatever the setting says), and when
   * X-RateLimit-Remaining runs low (1% of the limit: another user of the key) the next
   * requests of all replicas wait for the window.
   */
  private async observeRate(headers: Record<string, string | string[] | undefined>): Promise<void> {
    const limit = Number(headers['x-ratelimit-limit']);
    const remaining = Number(headers['x-ratelimit-remaining']);
    if (!Number.isFinite(limit) || limit <= 0) return;
    apiRateLimits.set(this.o.baseUrl, limit);
    const low = Math.max(2, Math.floor(limit * 0.01));
    if (Number.isFinite(remaining) && remaining <= low) {
      await this.o.book.holdRate(((low + 1 - remaining) * 60) / limit).catch(() => {});
    }
  }

  /** Requests per minute: the setting, or RATE_SHARE of the API's own limit when that is lower. */
  private requestsPerMinute(): number {
    const api = apiRateLimits.get(this.o.baseUrl);
    return api === undefined
      ? this.o.requestsPerMinute
      : Math.max(1, Math.min(this.o.requestsPerMinute, Math.floor(api * RATE_SHARE)));
  }

  /** Reserves the request's cost and a rate slot, and writes its ledger row; its id. */
  private async reserve(spec: CallSpec): Promise<number> {
    const interval = 60 / this.requestsPerMinute();
    for (;;) {
      const r = await this.o.book.reserve({
        cost: spec.cost,
        intervalSeconds: interval,
        burstSeconds: Math.min(2, interval * 20),
        endpoint: spec.endpoint,
        target: spec.target,
        // The row's deadline leaves the answer time to be written after the request's own.
        deadlineSeconds: this.o.requestDeadlineMs / 1000 + SETTLE_MARGIN_SECONDS,
      });
      if (r.ok) return r.callId;
      if (r.reason === 'quota')
        throw new EodhdError(
          'quota',
          `the day's budget of ${r.callLimit} calls (${r.used} used) would be passed by a call costing ${spec.cost}`,
        );
      await this.o.sleep(r.waitMs);
    }
  }

  private async settle(
    callId: number,
    endpoint: string,
    outcome: CallOutcome,
    started: number,
    error: string | null,
  ): Promise<void> {
    if (outcome.outcome === 'answered') {
      this.callsCharged += outcome.charged;
      apiCallsCharged.inc({ endpoint }, outcome.charged);
    }
    apiCalls.inc({ endpoint, status: outcome.outcome === 'answered' ? String(outcome.httpStatus) : outcome.outcome });
    const settled = await this.o.book.settle(callId, outcome, performance.now() - started, error);
    // Settled already by the API's count: the answer came after the row's deadline.
    if (!settled) log('warn', 'api_call_settled_late', { call_id: callId, outcome: outcome.outcome });
  }
}

/**
 * The share of the API's per-minute limit the replicas use together. The reservations' burst
 * tolerance is 20 requests at most, so a rolling minute holds at most 97% of the limit plus 20:
 * under a 1,000/min limit that is 990, and a 429 of ours cannot happen.
 */
export const RATE_SHARE = 0.97;

/** Per API (base URL), its per-minute limit as its last answer to this process said (X-RateLimit-Limit). */
const apiRateLimits = new Map<string, number>();

/** Time after a request's deadline for its answer to be written before others may settle it. */
const SETTLE_MARGIN_SECONDS = 5;

/** The message of an error body: its JSON `error` or `message`, else its first words. */
function errorMessage(text: string): string {
  try {
    const v = JSON.parse(text) as { error?: unknown; message?: unknown };
    const m = typeof v.error === 'string' ? v.error : typeof v.message === 'string' ? v.message : null;
    if (m) return redact(m).slice(0, 160);
  } catch {
    /* not JSON */
  }
  return redact(text.slice(0, 160).replace(/\s+/g, ' '));
}

/** A connection that was never made: the request did not reach the API. */
function isConnectFailure(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? '';
  return ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'].includes(
    code,
  );
}

class RateLimited extends EodhdError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number | null,
  ) {
    super('rate_limited', message, 429);
  }
}
