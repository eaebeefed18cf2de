/**
 * A local stand-in for the OpenFaaS gateway and queue-worker, with the same HTTP contract:
 * POST /function/NAME (synchronous), POST /async-function/NAME (202 + X-Call-Id, delivered
 * by an in-memory queue, X-Callback-Url honoured with X-Function-Status), GET /healthz,
 * GET /system/functions. Each function is its own process started through the template's
 * entrypoint, as its container would be; a process that dies is started again.
 *
 * For chaos tests it can also misbehave the way OpenFaaS CE's queue does: deliver every
 * async call twice (one after the other, or both at once), deliver again a call that
 * outlives ack_wait, lose what is queued (a NATS restart), and kill a function's process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { FUNCTION_NAMES, type FunctionName } from '../shared/invoke.js';

const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface LocalGatewayOptions {
  port?: number;
  host?: string;
  /** Environment of every function process (DATABASE_URL, EODHD_API_KEY, EODHD_BASE_URL, ...). */
  env: Record<string, string>;
  /** Extra environment per function. */
  functionEnv?: Partial<Record<FunctionName, Record<string, string>>>;
  /** Where function processes' output lines go (default: this process's stdout). */
  onLog?: (fn: FunctionName, line: string) => void;
  /** Async calls delivered at once (the queue-worker's max_inflight). */
  maxInflight?: number;
  /**
   * Deliver every async call twice (same body, same X-Call-Id): 'sequential' delivers it
   * again when the first delivery has ended (an ack that never arrived), 'concurrent'
   * delivers both copies at once (a call that outlived ack_wait). Default 'off'.
   */
  duplicateDelivery?: DuplicateDelivery;
  /** Like the queue-worker's ack_wait: a delivery still running after this long is delivered again, once. */
  ackWaitMs?: number;
}

export type DuplicateDelivery = 'off' | 'sequential' | 'concurrent';

/** port is 0 until the process says where it listens (its function_listening line). */
interface FunctionProcess { name: FunctionName; port: number; child: ChildProcess | null; restarts: number; invocations: number; stopping: boolean; active: number }

/** redelivery: this is the queue's second delivery of the call (it is not duplicated again). */
interface QueuedCall { fn: FunctionName; body: Buffer; headers: Record<string, string>; callId: string; callbackUrl: string | null; queuedAt: number; redelivery: boolean }

export interface GatewayStats {
  asyncCalls: number;
  syncCalls: number;
  /** async deliveries made (a call delivered twice counts twice) */
  delivered: number;
  /** async calls delivered a second time (duplicate delivery or ack_wait) */
  duplicated: number;
  /** async deliveries that ended in 5xx or never reached the function: lost, as on OpenFaaS CE */
  failedDeliveries: number;
  /** queued async calls lost by dropQueued() */
  dropped: number;
  /** processes killed through kill() */
  killed: number;
  restarts: number;
  queued: number;
  inflight: number;
}

export interface LocalGateway {
  url: string;
  close(): Promise<void>;
  /** Resolves when no async call is queued or running. */
  idle(): Promise<void>;
  stats(): GatewayStats;
  /** The process of a function (chaos tests kill it). */
  processOf(fn: FunctionName): ChildProcess | null;
  /** Signals a function's process (SIGKILL by default); the gateway starts it again. False when none was running. */
  kill(fn: FunctionName, signal?: NodeJS.Signals): boolean;
  /** Calls (sync and async) a function's process is handling now. */
  activeCalls(fn: FunctionName): number;
  /** Loses every queued, not yet delivered async call, as a restart of OpenFaaS CE's NATS does; returns how many. */
  dropQueued(): number;
  /** The next n async calls are accepted (202) and never delivered: lost in a NATS restart. */
  loseNextAsync(n: number): void;
  /** Changes duplicate delivery from now on. */
  setDuplicateDelivery(mode: DuplicateDelivery): void;
}

export async function startLocalGateway(opts: LocalGatewayOptions): Promise<LocalGateway> {
  const host = opts.host ?? '127.0.0.1';
  let url = '';
  const maxInflight = opts.maxInflight ?? 16;
  const onLog = opts.onLog ?? ((_fn, line) => process.stdout.write(line + '\n'));
  const procs = new Map<FunctionName, FunctionProcess>();
  const queue: QueuedCall[] = [];
  let inflight = 0;
  let closing = false;
  const counters = { asyncCalls: 0, syncCalls: 0, delivered: 0, duplicated: 0, failedDeliveries: 0, dropped: 0, killed: 0 };
  let duplicateDelivery: DuplicateDelivery = opts.duplicateDelivery ?? 'off';
  let loseNext = 0;
  let idleWaiters: Array<() => void> = [];

  const spawnFunction = (fp: FunctionProcess) => {
    const child = spawn(process.execPath, [path.join(distRoot, 'templates', 'node20-ts', 'index.js')], {
      env: {
        ...process.env, ...opts.env, ...(opts.functionEnv?.[fp.name] ?? {}),
        HANDLER_MODULE: path.join(distRoot, 'functions', fp.name, 'handler.js'),
        // Port 0: the system picks a free port and the process reports it, so no other
        // socket can take it between choosing and listening.
        PORT: '0', HOST: '127.0.0.1', FUNCTION_NAME: fp.name, gateway_url: url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    fp.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      let buf = '';
      stream!.setEncoding('utf8');
      stream!.on('data', (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.includes('"function_listening"')) {
            try { fp.port = Number((JSON.parse(line) as { port?: number }).port) || 0; } catch { /* not a log line */ }
          }
          if (line.trim()) onLog(fp.name, line);
        }
      });
    }
    child.on('exit', () => {
      fp.child = null;
      fp.port = 0;
      if (!closing && !fp.stopping) {
        fp.restarts++;
        setTimeout(() => { if (!closing) spawnFunction(fp); }, 200);
      }
    });
  };


  const resolveName = (raw: string): FunctionName | null => {
    const name = raw.split('.')[0] ?? '';
    return (FUNCTION_NAMES as readonly string[]).includes(name) ? (name as FunctionName) : null;
  };

  /** Calls a function, waiting (as the gateway does while a pod starts) for it to listen. */
  const callFunction = async (fn: FunctionName, method: string, subpath: string, headers: Record<string, string>, body: Buffer) => {
    const fp = procs.get(fn)!;
    fp.invocations++;
    fp.active++;
    try {
      return await callOnce(fp, method, subpath, headers, body);
    } finally {
      fp.active--;
    }
  };

  const callOnce = async (fp: FunctionProcess, method: string, subpath: string, headers: Record<string, string>, body: Buffer) => {
    let lastErr: unknown;
    for (let attempt = 0; attempt < 300; attempt++) {
      try {
        if (fp.port === 0) throw Object.assign(new Error('function is starting'), { code: 'ECONNREFUSED' });
        const res = await request(`http://127.0.0.1:${fp.port}${subpath}`, {
          method: method as 'POST', headers, body: method === 'GET' || method === 'HEAD' ? undefined : body,
          headersTimeout: 15 * 60_000, bodyTimeout: 15 * 60_000,
        });
        const out = Buffer.from(await res.body.arrayBuffer());
        return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? 'application/json'), body: out };
      } catch (err) {
        lastErr = err;
        const code = (err as { code?: string }).code;
        // Only "not listening yet" is retried: a call that reached the function is never sent twice here.
        if (code !== 'ECONNREFUSED') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { status: 502, contentType: 'application/json', body: Buffer.from(JSON.stringify({ error: 'function_unreachable', reason: String((lastErr as Error)?.message ?? lastErr) })) };
  };

  const checkIdle = () => {
    if (queue.length === 0 && inflight === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const f of w) f();
    }
  };

  const deliver = (call: QueuedCall) => {
    inflight++;
    const started = Date.now();
    if (call.redelivery) counters.duplicated++;
    // ack_wait: a delivery still running after it is delivered again (once), while it runs.
    const ackTimer = !call.redelivery && opts.ackWaitMs !== undefined
      ? setTimeout(() => { if (!closing) deliver({ ...call, redelivery: true }); }, opts.ackWaitMs)
      : null;
    void callFunction(call.fn, 'POST', '/', { ...call.headers, 'x-call-id': call.callId }, call.body)
      .then(async (res) => {
        if (ackTimer) clearTimeout(ackTimer);
        counters.delivered++;
        if (res.status >= 500) {
          counters.failedDeliveries++;
          onLog(call.fn, JSON.stringify({ ts: new Date().toISOString(), level: 'warn', event: 'gateway_async_failed', function: call.fn, call_id: call.callId, status: res.status }));
        }
        // The ack was "lost": the queue delivers the call again, after this delivery.
        if (!call.redelivery && duplicateDelivery === 'sequential' && !closing) queue.unshift({ ...call, redelivery: true });
        if (call.callbackUrl) {
          await request(call.callbackUrl, {
            method: 'POST', body: res.body,
            headers: {
              'content-type': res.contentType, 'x-function-status': String(res.status), 'x-function-name': call.fn,
              'x-call-id': call.callId, 'x-duration-seconds': ((Date.now() - started) / 1000).toFixed(3),
            },
          }).then((r) => r.body.dump()).catch(() => { /* callbacks are not retried, as on OpenFaaS */ });
        }
      })
      .finally(() => { inflight--; pump(); checkIdle(); });
  };

  const pump = () => {
    while (inflight < maxInflight && queue.length > 0) {
      const call = queue.shift()!;
      deliver(call);
      // Both copies at once: the second does not wait for a free slot.
      if (!call.redelivery && duplicateDelivery === 'concurrent') deliver({ ...call, redelivery: true });
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const u = new URL(req.url ?? '/', 'http://gateway');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length' && k !== 'connection') headers[k] = v;
        const json = (status: number, value: unknown, extra: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...extra });
          res.end(JSON.stringify(value));
        };
        if (u.pathname === '/healthz') return json(200, { status: 'ok' });
        if (u.pathname === '/system/functions' && req.method === 'GET') {
          return json(200, [...procs.values()].map((p) => ({ name: p.name, namespace: 'openfaas-fn', replicas: p.child ? 1 : 0, availableReplicas: p.child ? 1 : 0, invocationCount: p.invocations })));
        }
        const m = /^\/(function|async-function)\/([^/]+)(\/.*)?$/.exec(u.pathname);
        const fn = m ? resolveName(m[2]!) : null;
        if (!m || !fn) return json(404, { error: 'not_found', reason: `no function at ${u.pathname}; functions: ${FUNCTION_NAMES.join(', ')}` });
        if (m[1] === 'async-function') {
          if (req.method !== 'POST') return json(405, { error: 'method_not_allowed', reason: 'async calls are POST' });
          const callId = headers['x-call-id'] ?? randomUUID();
          counters.asyncCalls++;
          if (loseNext > 0) {
            // Accepted, then lost with the queue: the caller cannot tell.
            loseNext--;
            counters.dropped++;
            res.writeHead(202, { 'x-call-id': callId, 'x-start-time': String(Date.now() * 1_000_000) });
            res.end();
            return;
          }
          queue.push({ fn, body, headers, callId, callbackUrl: headers['x-callback-url'] ?? null, queuedAt: Date.now(), redelivery: false });
          res.writeHead(202, { 'x-call-id': callId, 'x-start-time': String(Date.now() * 1_000_000) });
          res.end();
          pump();
          return;
        }
        counters.syncCalls++;
        const out = await callFunction(fn, req.method ?? 'POST', (m[3] ?? '/') + u.search, headers, body);
        res.writeHead(out.status, { 'content-type': out.contentType });
        res.end(out.body);
      })().catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'gateway_error', reason: String((err as Error)?.message ?? err) }));
      });
    });
  });
  // Listen first (port 0 unless given), then start the functions with this address.
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(opts.port ?? 0, host, resolve); });
  url = `http://${host}:${(server.address() as { port: number }).port}`;
  for (const name of FUNCTION_NAMES) {
    const fp: FunctionProcess = { name, port: 0, child: null, restarts: 0, invocations: 0, stopping: false, active: 0 };
    procs.set(name, fp);
    spawnFunction(fp);
  }

  // Ready when every function answers its health check.
  for (const fp of procs.values()) {
    for (let i = 0; ; i++) {
      try {
        if (fp.port === 0) throw new Error('not listening yet');
        const r = await request(`http://127.0.0.1:${fp.port}/_/health`);
        await r.body.dump();
        if (r.statusCode === 200) break;
      } catch { /* not yet */ }
      if (i > 300) throw new Error(`function ${fp.name} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    url,
    idle: () => new Promise<void>((resolve) => { idleWaiters.push(resolve); checkIdle(); }),
    stats: () => ({ ...counters, restarts: [...procs.values()].reduce((s, p) => s + p.restarts, 0), queued: queue.length, inflight }),
    processOf: (fn) => procs.get(fn)?.child ?? null,
    kill: (fn, signal = 'SIGKILL') => {
      const child = procs.get(fn)?.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return false;
      const sent = child.kill(signal);
      if (sent) counters.killed++;
      return sent;
    },
    activeCalls: (fn) => procs.get(fn)?.active ?? 0,
    dropQueued: () => {
      const n = queue.length;
      queue.length = 0;
      counters.dropped += n;
      checkIdle();
      return n;
    },
    loseNextAsync: (n) => { loseNext += Math.max(0, Math.floor(n)); },
    setDuplicateDelivery: (mode) => { duplicateDelivery = mode; },
    close: async () => {
      closing = true;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([...procs.values()].map((fp) => new Promise<void>((resolve) => {
        fp.stopping = true;
        const child = fp.child;
        if (!child) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => { child.kill('SIGKILL'); }, 3000).unref();
      })));
    },
  };
}
