// Quota accounting: the daily call budget and the per-minute request rate.
//
// Why two separate mechanisms, as EODHD has them:
// - the daily limit counts *calls*, cost-weighted (a bulk request is 100 calls, fundamentals
//   10, /user 0), per simulated day (the real counter resets at midnight GMT; here when the
//   simulated clock moves to another day). A request whose cost would take the counter past
//   the limit gets 402 and costs nothing.
// - the per-minute limit counts *requests*, whatever their cost, over a sliding window of
//   real time (the pipeline's throttling is real-time behaviour, so the simulator's must be
//   too). Past it: 429 with Retry-After, not counted, no cost.
// `requests` in the usage report counts every request that carried a valid key, whatever
// its outcome (including 402, 404, 429 and injected faults); `calls` is what was charged.
//
// What /user shows is not always the current day's count. EODHD: "Resets at midnight GMT,
// but shows the previous day's count until a new request is made after reset". So after
// the day changes, /user keeps showing the last day on which anything was charged (its
// date and final count) until the first charged request of the new day; days without any
// charge keep showing that older day. The limit is always enforced on the current day's
// own count (a stale display never blocks). `staleCounter: false` moves /user to the new
// day at once.

export type EndpointName =
  | 'eod'
  | 'eod-bulk-last-day'
  | 'fundamentals'
  | 'exchange-symbol-list'
  | 'exchanges-list'
  | 'splits'
  | 'div'
  | 'calendar-splits'
  | 'calendar-dividends'
  | 'exchange-details'
  | 'user';

export interface EndpointUsage {
  requests: number;
  calls: number;
}

export interface Usage {
  date: string;
  calls: number;
  requests: number;
  byEndpoint: Record<string, EndpointUsage>;
}

/** A day's charged calls, as /user shows them (apiRequestsDate, apiRequests). */
export interface DayCount {
  date: string;
  calls: number;
}

/** What /user shows besides the current day: the last active day, and whether it is still shown. */
export interface UserDisplay {
  lastActive: DayCount | null;
  stale: boolean;
}

export function emptyUsage(date: string): Usage {
  return { date, calls: 0, requests: 0, byEndpoint: {} };
}

export class DailyCounter {
  private u: Usage;
  private lastActive: DayCount | null;
  private stale: boolean;

  constructor(
    readonly limit: number,
    initial: Usage,
    /** whether /user lags behind a day change (EODHD's behaviour) */
    readonly staleCounter = false,
    display: UserDisplay = { lastActive: null, stale: false },
  ) {
    this.u = structuredClone(initial);
    this.lastActive = display.lastActive && { ...display.lastActive };
    this.stale = display.stale && this.lastActive !== null;
  }

  get date(): string {
    return this.u.date;
  }
  get calls(): number {
    return this.u.calls;
  }

  /** A new simulated day: the counter starts from zero; /user may go on showing the last active day. */
  newDay(date: string): void {
    if (this.u.calls > 0) this.lastActive = { date: this.u.date, calls: this.u.calls };
    this.u = emptyUsage(date);
    this.stale = this.staleCounter && this.lastActive !== null;
  }

  /** /user shows `day` (an earlier one) until the next charged request. */
  showLastActive(day: DayCount): void {
    if (this.u.calls > 0) throw new Error(`${this.u.date} already has charged calls: /user shows that day`);
    this.lastActive = { ...day };
    this.stale = true;
  }

  /** What /user shows: the current day, or the last active one until the day's first charge. */
  view(): DayCount {
    return this.stale && this.lastActive ? { ...this.lastActive } : { date: this.u.date, calls: this.u.calls };
  }

  display(): UserDisplay {
    return { lastActive: this.lastActive && { ...this.lastActive }, stale: this.stale };
  }

  wouldExceed(cost: number): boolean {
    return cost > 0 && this.u.calls + cost > this.limit;
  }

  private ep(name: EndpointName): EndpointUsage {
    return (this.u.byEndpoint[name] ??= { requests: 0, calls: 0 });
  }

  countRequest(name: EndpointName): void {
    this.u.requests++;
    this.ep(name).requests++;
  }

  charge(name: EndpointName, cost: number): void {
    if (cost <= 0) return;
    this.u.calls += cost;
    this.ep(name).calls += cost;
    this.stale = false;
  }

  snapshot(): Usage {
    return structuredClone(this.u);
  }
}

/** Sliding one-minute window of accepted request timestamps. */
export class MinuteWindow {
  private stamps: number[] = [];
  private head = 0;

  constructor(
    readonly limit: number,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private prune(t: number): void {
    const cutoff = t - this.windowMs;
    while (this.head < this.stamps.length && this.stamps[this.head] <= cutoff) this.head++;
    if (this.head > 4096 && this.head * 2 > this.stamps.length) {
      this.stamps = this.stamps.slice(this.head);
      this.head = 0;
    }
  }

  /** Admit one request now, or say how many seconds until one would be admitted. */
  tryAcquire(): { ok: true; remaining: number } | { ok: false; retryAfter: number } {
    const t = this.now();
    this.prune(t);
    const inWindow = this.stamps.length - this.head;
    if (inWindow >= this.limit) {
      const oldest = this.stamps[this.head];
      return { ok: false, retryAfter: Math.max(1, Math.ceil((oldest + this.windowMs - t) / 1000)) };
    }
    this.stamps.push(t);
    return { ok: true, remaining: this.limit - inWindow - 1 };
  }

  remaining(): number {
    this.prune(this.now());
    return Math.max(0, this.limit - (this.stamps.length - this.head));
  }
}
