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

export function emptyUsage(date: string): Usage {
  return { date, calls: 0, requests: 0, byEndpoint: {} };
}

export class DailyCounter {
  private u: Usage;
  constructor(
    readonly limit: number,
    initial: Usage,
  ) {
    this.u = structuredClone(initial);
  }

  get date(): string {
    return this.u.date;
  }
  get calls(): number {
    return this.u.calls;
  }

  /** A new simulated day: the counter starts from zero. */
  reset(date: string): void {
    this.u = emptyUsage(date);
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
