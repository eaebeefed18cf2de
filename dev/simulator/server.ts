// The HTTP face of the simulator (node:http, no framework).
//
// Why it is more than a router: the pipeline is tested against what the real API does
// *around* the data, in this order for every request under /api:
//   1. api_token must match, else 401 `Unauthenticated` as text/html (free, not rate-counted);
//   2. the per-minute window (real time): past it, 429 + Retry-After (free);
//   3. unknown path: 404 (free);
//   4. an endpoint the plan does not include: 403 with EODHD's JSON error body (free);
//   5. fault injection may replace or distort the answer (faults.ts);
//   6. the endpoint's answer and its cost; a cost that would pass the daily limit turns
//      the answer into 402 (free); otherwise the cost is charged to the simulated day;
//   7. every answer carries X-RateLimit-Limit / X-RateLimit-Remaining (per minute), and a
//      `Date` header of the simulated instant (node would send the real one): a client that
//      reads the API's clock from it sees the simulated one.
// The api_token is never echoed: not in bodies (calendar links drop it), not in errors,
// and nothing here logs a URL with its query.
//
// Admin routes under /__sim/ are not EODHD's, not authenticated, not charged, not rate
// limited: GET /__sim/state, POST /__sim/advance?days=N, POST /__sim/clock?at=ISO,
// POST /__sim/faults (JSON body), GET /__sim/expected-history?symbol=&from=&to=,
// GET /__sim/true-history?symbol=&from=&to=, GET /__sim/symbols, POST /__sim/bad-tick
// (JSON {symbol, date, kind, correctedAfterDays}), POST /__sim/correction (JSON {symbol,
// date, close?, volume?, correctedAfterDays}), GET /__sim/bad-ticks?from=&to=,
// GET /__sim/late-corrections?from=&to=. They let another process (the local gateway's
// functions, a benchmark, a test) drive the clock, faults and bad data, and read the
// ground truth; a refused request is a 400 with a one-line reason. Their Date header is
// the real one.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ApiAnswer,
  type ApiContext,
  errorJson,
  fundamentalsNotFound,
  handle,
  routeOf,
  tickerNotFound,
} from './api.js';
import { checkFaultConfig, type FaultConfig, type FaultInjector, type FaultKind } from './faults.js';
import type { DailyCounter, MinuteWindow } from './limits.js';
import { NOT_IN_PLAN_ERROR, type Plan } from './plans.js';

export interface ServerCore {
  readonly apiKey: string;
  readonly counter: DailyCounter;
  readonly window: MinuteWindow;
  readonly faults: FaultInjector;
  readonly plan: Plan;
  context(): ApiContext;
  /** called after every charge (state persistence) */
  charged(): void;
  adminState(): unknown;
  advance(days: number): string;
  /** the simulated instant (ms) */
  now(): number;
  /** move the clock to a later ISO instant; throws (one line) for a bad or earlier one */
  setClock(at: string): string;
  setFaults(f: FaultConfig): void;
  expectedHistory(symbol: string, from?: string, to?: string): unknown;
  trueHistory(symbol: string, from?: string, to?: string): unknown;
  /** the admin routes' JSON bodies, checked there; throw a one-line reason */
  injectBadTick(body: unknown): unknown;
  injectCorrection(body: unknown): unknown;
  badTicks(from: string, to: string): unknown;
  lateCorrections(from: string, to: string): unknown;
  symbols(): string[];
}

const HTML_ERRORS: Record<number, string> = {
  502: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
  503: '<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
};

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(core: ServerCore, host: string, port: number): Promise<RunningServer> {
  const pending = new Set<NodeJS.Timeout>();
  let closing = false;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      pending.delete(t);
      fn();
    }, ms);
    pending.add(t);
  };

  const send = (
    res: http.ServerResponse,
    a: Pick<ApiAnswer, 'status' | 'body' | 'contentType'>,
    headers: Record<string, string | number>,
  ) => {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(a.status, { 'Content-Type': a.contentType, 'Content-Length': Buffer.byteLength(a.body), ...headers });
    res.end(a.body);
  };

  const rateHeaders = (remaining?: number) => ({
    'X-RateLimit-Limit': core.window.limit,
    'X-RateLimit-Remaining': remaining ?? core.window.remaining(),
  });

  const readBody = (req: http.IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      let s = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        s += c;
        if (s.length > 1e6) reject(new Error('body too large'));
      });
      req.on('end', () => resolve(s));
      req.on('error', reject);
    });

  async function admin(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const ok = (v: unknown) =>
      send(res, { status: 200, body: JSON.stringify(v), contentType: 'application/json; charset=utf-8' }, {});
    const bad = (status: number, message: string) =>
      send(res, errorJson(status, status === 404 ? 'Not Found' : 'Bad Request', message), {});
    const p = url.pathname;
    if (req.method === 'GET' && p === '/__sim/state') return ok(core.adminState());
    if (req.method === 'GET' && p === '/__sim/symbols') return ok(core.symbols());
    /** The answer of `fn`, or a 400 with its one-line reason. */
    const attempt = (fn: () => unknown) => {
      let v: unknown;
      try {
        v = fn();
      } catch (e) {
        return bad(400, e instanceof Error ? e.message : String(e));
      }
      return ok(v);
    };
    const jsonBody = async (): Promise<unknown> => {
      const body = await readBody(req);
      const v: unknown = JSON.parse(body.trim() || 'null');
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('the body must be a JSON object');
      return v;
    };
    if (req.method === 'GET' && (p === '/__sim/expected-history' || p === '/__sim/true-history')) {
      const symbol = url.searchParams.get('symbol');
      if (!symbol) return bad(400, 'symbol is required');
      const from = url.searchParams.get('from') ?? undefined;
      const to = url.searchParams.get('to') ?? undefined;
      return attempt(() =>
        p === '/__sim/true-history' ? core.trueHistory(symbol, from, to) : core.expectedHistory(symbol, from, to),
      );
    }
    if (req.method === 'GET' && (p === '/__sim/bad-ticks' || p === '/__sim/late-corrections')) {
      const from = url.searchParams.get('from');
      const to = url.searchParams.get('to');
      if (!from || !to) return bad(400, 'from and to are required (YYYY-MM-DD)');
      return attempt(() => (p === '/__sim/bad-ticks' ? core.badTicks(from, to) : core.lateCorrections(from, to)));
    }
    if (req.method === 'POST' && (p === '/__sim/bad-tick' || p === '/__sim/correction')) {
      let body: unknown;
      try {
        body = await jsonBody();
      } catch (e) {
        return bad(400, e instanceof Error ? e.message : 'invalid body');
      }
      return attempt(() => (p === '/__sim/bad-tick' ? core.injectBadTick(body) : core.injectCorrection(body)));
    }
    if (req.method === 'POST' && p === '/__sim/advance') {
      const days = Number(url.searchParams.get('days') ?? '1');
      if (!Number.isInteger(days) || days < 1 || days > 3650) return bad(400, 'days must be an integer 1..3650');
      core.advance(days);
      return ok(core.adminState());
    }
    if (req.method === 'POST' && p === '/__sim/clock') {
      const at = url.searchParams.get('at');
      if (!at) return bad(400, 'at is required: YYYY-MM-DDTHH:MM[:SS[.mmm]]Z');
      try {
        core.setClock(at);
      } catch (e) {
        return bad(400, e instanceof Error ? e.message : 'invalid clock');
      }
      return ok(core.adminState());
    }
    if (req.method === 'POST' && p === '/__sim/faults') {
      let cfg: FaultConfig;
      try {
        const body = await readBody(req);
        cfg = checkFaultConfig(body.trim() ? JSON.parse(body) : {});
      } catch (e) {
        return bad(400, e instanceof Error ? e.message : 'invalid fault config');
      }
      core.setFaults(cfg);
      return ok(core.adminState());
    }
    return bad(404, 'unknown admin route');
  }

  function api(res: http.ServerResponse, url: URL) {
    // writeHead merges it into every answer below; node then sends no Date of its own.
    res.setHeader('Date', new Date(core.now()).toUTCString());
    const q = url.searchParams;
    if (q.get('api_token') !== core.apiKey) {
      // What the real API answers to a refused key: a bare word, as HTML.
      return send(
        res,
        { status: 401, body: 'Unauthenticated', contentType: 'text/html; charset=UTF-8' },
        rateHeaders(),
      );
    }
    const route = routeOf(url.pathname.slice('/api'.length));
    const slot = core.window.tryAcquire();
    if (route) core.counter.countRequest(route.endpoint);
    if (!slot.ok) {
      return send(res, errorJson(429, 'Too Many Requests', 'Per-minute request limit exceeded.'), {
        ...rateHeaders(0),
        'Retry-After': slot.retryAfter,
      });
    }
    const headers = rateHeaders(slot.remaining);
    if (!route) return send(res, errorJson(404, 'Not Found', 'Endpoint not found.'), headers);
    if (!core.plan.endpoints.has(route.endpoint)) {
      return send(
        res,
        { status: 403, body: JSON.stringify({ error: NOT_IN_PLAN_ERROR, code: 403 }), contentType: 'application/json' },
        headers,
      );
    }

    const clean = new URLSearchParams(q);
    clean.delete('api_token');
    const target = `${url.pathname}?${clean.toString()}`;
    const fault: FaultKind | null = core.faults.pick(route.endpoint, target);

    switch (fault) {
      case '429':
        return send(res, errorJson(429, 'Too Many Requests', 'Too many requests.'), {
          ...headers,
          'X-RateLimit-Remaining': 0,
          'Retry-After': 2,
        });
      case '402':
        return send(res, errorJson(402, 'Payment Required', 'Daily API requests limit exceeded.'), headers);
      case '500':
        return send(res, errorJson(500, 'Internal Server Error', 'Internal Server Error'), headers);
      case '502':
      case '503': {
        const status = Number(fault);
        return send(res, { status, body: HTML_ERRORS[status], contentType: 'text/html' }, headers);
      }
      case 'timeout':
        later(core.faults.timeoutMs, () => res.destroy());
        return;
      default:
        break;
    }

    let answer: ApiAnswer;
    try {
      answer =
        fault === 'unknown-ticker'
          ? route.endpoint === 'fundamentals'
            ? fundamentalsNotFound()
            : tickerNotFound()
          : handle(core.context(), route.endpoint, route.arg, q, { naFundamentals: fault === 'na-fundamentals' });
    } catch (e) {
      process.stderr.write(
        `[eodhd-sim] ${route.endpoint} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      return send(res, errorJson(500, 'Internal Server Error', 'Internal Server Error'), headers);
    }
    if (answer.cost > 0 && core.counter.wouldExceed(answer.cost)) {
      return send(res, errorJson(402, 'Payment Required', 'Daily API requests limit exceeded.'), headers);
    }
    core.counter.charge(route.endpoint, answer.cost);
    core.charged();

    if (answer.status === 200) {
      if (fault === 'empty') answer = { ...answer, body: answer.empty };
      if (fault === 'malformed')
        answer = {
          ...answer,
          body: answer.body.slice(0, Math.max(1, Math.floor(answer.body.length * 0.6))) + '\u0000<!-- cut -->"',
        };
      if (fault === 'truncated') {
        const full = Buffer.from(answer.body);
        res.writeHead(200, { 'Content-Type': answer.contentType, 'Content-Length': full.length, ...headers });
        res.write(full.subarray(0, Math.max(1, Math.floor(full.length / 2))), () => res.destroy());
        return;
      }
    }
    if (fault === 'slow-body') {
      const full = Buffer.from(answer.body);
      res.writeHead(answer.status, { 'Content-Type': answer.contentType, 'Content-Length': full.length, ...headers });
      const first = Math.ceil(full.length / 10);
      res.write(full.subarray(0, first));
      const step = Math.ceil((full.length - first) / 10);
      for (let i = 0; i < 10; i++) {
        const from = first + i * step;
        later(((i + 1) * core.faults.slowMs) / 10, () => {
          if (res.destroyed || res.writableEnded) return;
          const piece = full.subarray(from, Math.min(full.length, from + step));
          if (i === 9) res.end(piece);
          else res.write(piece);
        });
      }
      return;
    }
    if (fault === 'slow') {
      const a = answer;
      later(core.faults.slowMs, () => send(res, a, headers));
      return;
    }
    send(res, answer, headers);
  }

  const server = http.createServer((req, res) => {
    if (closing) {
      res.destroy();
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://simulator');
    } catch {
      return send(res, errorJson(400, 'Bad Request', 'Bad URL'), {});
    }
    if (url.pathname.startsWith('/__sim/')) {
      admin(req, res, url).catch(() => send(res, errorJson(500, 'Internal Server Error', 'admin failed'), {}));
      return;
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) return api(res, url);
    send(res, errorJson(404, 'Not Found', 'Not found.'), {});
  });
  // Longer than any client's idle timeout (undici's is 4 s): a client must never reuse a
  // connection the server is closing at that moment (a "fetch failed" on a busy machine).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

  return {
    url: `http://${hostForUrl}:${addr.port}/api`,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        for (const t of pending) clearTimeout(t);
        pending.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
