/**
 * A local stand-in for the OpenFaaS gateway and queue-worker, speaking the real gateway's
 * API (openfaas-gateway-openapi.yml) for what faas-cli, the cron-connector and curl use:
 *
 *   /healthz, /system/info, /system/namespaces            (the last two need basic auth)
 *   /system/functions, /system/function/NAME              (stack.yml's functions, with their status)
 *   /system/logs?name=&tail=&since=&follow=               (NDJSON LogEntry lines of each process's output)
 *   /function/NAME[.openfaas-fn]                          (synchronous; exec_timeout -> 504)
 *   /async-function/NAME[.openfaas-fn]                    (202 + X-Call-Id; X-Callback-Url gets
 *                                                          the answer with X-Function-Status)
 *
 * stack.yml is the only description of the functions: each one (resume-runs included) is
 * its own process started through the template's entrypoint. Left running with `cron`,
 * the gateway also does what the cron-connector does with stack.yml's schedules.
 *
 * The local surface is not open to the browser or the network: requests from a web page
 * (a foreign Origin) are refused, X-Callback-Url may only point at loopback or configured
 * addresses, bodies are limited while they stream (413 before the whole body is read, the
 * same limit for sync and async calls), and an async call that could never be delivered
 * is refused at the door.
 *
 * For chaos tests it can also misbehave the way OpenFaaS CE's queue does: deliver every
 * async call twice (one after the other, or both at once), deliver again a call that
 * outlives ack_wait, lose what is queued (a NATS restart), and kill a function's process.
 */

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cron } from 'croner';
import { request } from 'undici';
import { DEFAULT_MAX_BODY_BYTES } from '../../templates/node20-ts/contract.js';
import { authorized, type Credentials, gatewayCredentials } from './auth.js';
import { LogStore } from './logs.js';
import { type FunctionProcess, startProcess, watchLiveness } from './processes.js';
import { FUNCTION_NAMESPACE, type FunctionSpec, readStack } from './stack.js';

const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const repoRoot = path.resolve(distRoot, '..');

/** The functions' own body limit (the template's): the gateway refuses more at the door. */
export const MAX_BODY_BYTES = DEFAULT_MAX_BODY_BYTES;

export interface LocalGatewayOptions {
  port?: number;
  host?: string;
  /** stack.yml (default: the repository's). */
  stackFile?: string;
  /** Environment of every function process (DATABASE_URL, EODHD_API_KEY, EODHD_BASE_URL, ...), over stack.yml's. */
  env: Record<string, string>;
  /** Extra environment per function. */
  functionEnv?: Partial<Record<string, Record<string, string>>>;
  /** Where function processes' output lines go besides /system/logs (default: this process's stdout). */
  onLog?: (fn: string, line: string) => void;
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
  /** Run stack.yml's cron-connector schedules (default off). */
  cron?: boolean;
  /** Folder of the admin credentials (basic-auth-user, basic-auth-password); null keeps a generated password in memory. */
  authDir?: string | null;
  /** The admin password (else OPENFAAS_PASSWORD, else the folder's, else generated). */
  password?: string;
  /** Addresses X-Callback-Url may point at besides loopback (host or host:port). */
  callbackHosts?: string[];
  /** Largest request body, in bytes (default MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** Liveness: how often each function is health-checked, and after how many unanswered checks it is restarted. */
  liveness?: { intervalMs: number; misses: number };
}

export type DuplicateDelivery = 'off' | 'sequential' | 'concurrent';

/** redelivery: this is the queue's second delivery of the call (it is not duplicated again). */
interface QueuedCall {
  fn: string;
  body: Buffer;
  headers: Record<string, string>;
  callId: string;
  callbackUrl: string | null;
  queuedAt: number;
  redelivery: boolean;
}

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
  /** processes killed because they stopped answering their health check */
  livenessKills: number;
  /** schedules fired */
  cronInvocations: number;
  restarts: number;
  queued: number;
  inflight: number;
}

export interface LocalGateway {
  url: string;
  /** The admin credentials of /system/*. */
  credentials: Credentials;
  /** The functions served, as stack.yml describes them. */
  functions: FunctionSpec[];
  close(): Promise<void>;
  /** Resolves when no async call is queued or running. */
  idle(): Promise<void>;
  stats(): GatewayStats;
  /** The process of a function (chaos tests kill it). */
  processOf(fn: string): import('node:child_process').ChildProcess | null;
  /** Signals a function's process (SIGKILL by default); the gateway starts it again. False when none was running. */
  kill(fn: string, signal?: NodeJS.Signals): boolean;
  /** Calls (sync and async) a function's process is handling now. */
  activeCalls(fn: string): number;
  /** Loses every queued, not yet delivered async call, as a restart of OpenFaaS CE's NATS does; returns how many. */
  dropQueued(): number;
  /** The next n async calls are accepted (202) and never delivered: lost in a NATS restart. */
  loseNextAsync(n: number): void;
  /** Changes duplicate delivery from now on. */
  setDuplicateDelivery(mode: DuplicateDelivery): void;
  /** When each schedule fires next (null: cron is off). */
  schedules(): Array<{ fn: string; schedule: string; next: string | null }> | null;
}

/** Headers that belong to one connection, not to the request: never forwarded (undici refuses `expect`). */
const HOP_BY_HOP = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]);
// Authorization is forwarded to the function, as OpenFaaS's gateway forwards it: the gateway's
// own basic auth guards /system/* only, and a function that takes operator actions reads the
// header itself (shared/platform/operator.ts).

/** A function's answer headers the gateway does not pass on: its own framing, and what it sets itself. */
const ANSWER_HOP_BY_HOP = new Set([
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'date',
  'x-call-id',
  'content-type',
]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function gitSha(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

export async function startLocalGateway(opts: LocalGatewayOptions): Promise<LocalGateway> {
  const host = opts.host ?? '127.0.0.1';
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const functions = readStack(opts.stackFile ?? path.join(repoRoot, 'stack.yml'));
  const credentials = gatewayCredentials(opts.authDir ?? null, opts.password);
  const maxInflight = opts.maxInflight ?? 16;
  const onLog = opts.onLog ?? ((_fn, line) => process.stdout.write(line + '\n'));
  const logs = new LogStore(FUNCTION_NAMESPACE);
  const procs = new Map<string, FunctionProcess>();
  const queue: QueuedCall[] = [];
  let url = '';
  let inflight = 0;
  let closing = false;
  const counters = {
    asyncCalls: 0,
    syncCalls: 0,
    delivered: 0,
    duplicated: 0,
    failedDeliveries: 0,
    dropped: 0,
    killed: 0,
    livenessKills: 0,
    cronInvocations: 0,
  };
  let duplicateDelivery: DuplicateDelivery = opts.duplicateDelivery ?? 'off';
  let loseNext = 0;
  let idleWaiters: Array<() => void> = [];
  const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string })
    .version;
  const sha = gitSha();
  const gatewayLog = (event: string, fields: Record<string, unknown>) =>
    onLog(
      'gateway',
      JSON.stringify({ ts: new Date().toISOString(), level: 'info', event, function: 'gateway', ...fields }),
    );

  const processEnv = (spec: FunctionSpec): NodeJS.ProcessEnv => ({
    ...process.env,
    ...spec.environment,
    ...opts.env,
    // A function given the gateway's basic-auth secrets in stack.yml (status: its operators
    // log in with what faas-cli login uses) gets this gateway's user and password.
    ...(spec.secrets.includes('basic-auth-user') ? { BASIC_AUTH_USER: credentials.user } : {}),
    ...(spec.secrets.includes('basic-auth-password') ? { BASIC_AUTH_PASSWORD: credentials.password } : {}),
    ...(opts.functionEnv?.[spec.name] ?? {}),
    HANDLER_MODULE: path.join(distRoot, 'functions', spec.handlerFolder, 'handler.js'),
    // Port 0: the system picks a free port and the process reports it, so no other
    // socket can take it between choosing and listening.
    PORT: '0',
    HOST: '127.0.0.1',
    FUNCTION_NAME: spec.name,
    gateway_url: url,
  });

  const resolveName = (raw: string): FunctionSpec | null => {
    const dot = raw.indexOf('.');
    const name = dot < 0 ? raw : raw.slice(0, dot);
    const ns = dot < 0 ? FUNCTION_NAMESPACE : raw.slice(dot + 1);
    const spec = functions.find((f) => f.name === name);
    return spec && ns === spec.namespace ? spec : null;
  };

  /** Calls a function, waiting (as the gateway does while a pod starts) for it to listen; past exec_timeout: 504. */
  const callFunction = async (
    fn: string,
    method: string,
    subpath: string,
    headers: Record<string, string>,
    body: Buffer,
  ) => {
    const fp = procs.get(fn)!;
    fp.invocations++;
    fp.active++;
    try {
      return await callOnce(fp, method, subpath, headers, body);
    } finally {
      fp.active--;
    }
  };

  const callOnce = async (
    fp: FunctionProcess,
    method: string,
    subpath: string,
    headers: Record<string, string>,
    body: Buffer,
  ) => {
    let lastErr: unknown;
    const deadline = Date.now() + fp.spec.execTimeoutMs;
    for (let attempt = 0; attempt < 300 && Date.now() < deadline; attempt++) {
      try {
        if (fp.port === 0) throw Object.assign(new Error('function is starting'), { code: 'ECONNREFUSED' });
        const left = Math.max(1, deadline - Date.now());
        const res = await request(`http://127.0.0.1:${fp.port}${subpath}`, {
          method: method as 'POST',
          headers,
          body: method === 'GET' || method === 'HEAD' ? undefined : body,
          headersTimeout: left,
          bodyTimeout: left,
          signal: AbortSignal.timeout(left),
        });
        const out = Buffer.from(await res.body.arrayBuffer());
        // The function's own headers (a page's Content-Security-Policy, a 401's WWW-Authenticate)
        // reach the caller, as through OpenFaaS's gateway.
        const passed: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers))
          if (typeof v === 'string' && !ANSWER_HOP_BY_HOP.has(k.toLowerCase())) passed[k] = v;
        return {
          status: res.statusCode,
          contentType: String(res.headers['content-type'] ?? 'application/json'),
          headers: passed,
          body: out,
        };
      } catch (err) {
        lastErr = err;
        const code = (err as { code?: string }).code;
        const name = (err as { name?: string }).name;
        if (name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
          return {
            status: 504,
            contentType: 'application/json',
            body: Buffer.from(
              JSON.stringify({
                error: 'timeout',
                reason: `${fp.spec.name} did not answer within its exec_timeout (${fp.spec.environment.exec_timeout ?? '10s'})`,
              }),
            ),
          };
        }
        // Only "not listening yet" is retried: a call that reached the function is never sent twice here.
        if (code !== 'ECONNREFUSED') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return {
      status: 502,
      contentType: 'application/json',
      body: Buffer.from(
        JSON.stringify({
          error: 'function_unreachable',
          reason: `${fp.spec.name}: ${String((lastErr as Error)?.message ?? lastErr)}`,
        }),
      ),
    };
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
    const ackTimer =
      !call.redelivery && opts.ackWaitMs !== undefined
        ? setTimeout(() => {
            if (!closing) deliver({ ...call, redelivery: true });
          }, opts.ackWaitMs)
        : null;
    void callFunction(call.fn, 'POST', '/', { ...call.headers, 'x-call-id': call.callId }, call.body)
      .then(async (res) => {
        if (ackTimer) clearTimeout(ackTimer);
        counters.delivered++;
        if (res.status >= 500) {
          counters.failedDeliveries++;
          onLog(
            call.fn,
            JSON.stringify({
              ts: new Date().toISOString(),
              level: 'warn',
              event: 'gateway_async_failed',
              function: call.fn,
              call_id: call.callId,
              status: res.status,
            }),
          );
        }
        // The ack was "lost": the queue delivers the call again, after this delivery.
        if (!call.redelivery && duplicateDelivery === 'sequential' && !closing)
          queue.unshift({ ...call, redelivery: true });
        if (call.callbackUrl) {
          await request(call.callbackUrl, {
            method: 'POST',
            body: res.body,
            headers: {
              'content-type': res.contentType,
              'x-function-status': String(res.status),
              'x-function-name': call.fn,
              'x-call-id': call.callId,
              'x-duration-seconds': ((Date.now() - started) / 1000).toFixed(3),
            },
          })
            .then((r) => r.body.dump())
            .catch(() => {
              /* callbacks are not retried, as on OpenFaaS */
            });
        }
      })
      .finally(() => {
        inflight--;
        pump();
        checkIdle();
      });
  };

  const pump = () => {
    while (inflight < maxInflight && queue.length > 0) {
      const call = queue.shift()!;
      deliver(call);
      // Both copies at once: the second does not wait for a free slot.
      if (!call.redelivery && duplicateDelivery === 'concurrent') deliver({ ...call, redelivery: true });
    }
  };

  const enqueue = (
    fn: string,
    body: Buffer,
    headers: Record<string, string>,
    callId: string,
    callbackUrl: string | null,
  ): void => {
    counters.asyncCalls++;
    if (loseNext > 0) {
      // Accepted, then lost with the queue: the caller cannot tell.
      loseNext--;
      counters.dropped++;
      return;
    }
    queue.push({ fn, body, headers, callId, callbackUrl, queuedAt: Date.now(), redelivery: false });
    pump();
  };

  /** Reads the body, refusing it (413) as soon as it passes the limit, before the rest is read. */
  const readBody = (req: http.IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBody) return reject(tooLarge(declared));
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBody) {
          req.removeAllListeners('data');
          req.pause();
          reject(tooLarge(size));
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  /**
   * Answers a refused body once the rest of it is read into nothing, up to 64 MiB or 10 s
   * (past either, it answers and closes the socket). A client that sends its whole body
   * before reading (no Expect: 100-continue, as Node's fetch and most libraries) is reset
   * mid-send by a socket closed under it, and never reads the 413's reason.
   */
  const answerWhenDrained = (req: http.IncomingMessage, answer: () => void) => {
    let read = 0;
    let done = false;
    const finish = (close: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      answer();
      if (close) req.socket.destroySoon();
    };
    const timer = setTimeout(() => finish(true), 10_000);
    timer.unref();
    req.removeAllListeners('data');
    req.on('data', (c: Buffer) => {
      read += c.length;
      if (read > 64 * 1024 * 1024) finish(true);
    });
    req.on('end', () => finish(false));
    req.on('close', () => finish(false));
    if (req.complete) finish(false);
    else req.resume();
  };
  const tooLarge = (n: number) =>
    new HttpError(413, {
      error: 'body_too_large',
      reason: `the body is ${n > maxBody * 10 ? 'over ' + maxBody * 10 : n} bytes; the limit is ${maxBody}`,
    });

  /** A callback the queue may post to: loopback, or a configured address. */
  const checkCallback = (raw: string | undefined): string | null => {
    if (raw === undefined) return null;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new HttpError(400, { error: 'bad_callback', reason: 'X-Callback-Url is not a URL' });
    }
    const allowed = (opts.callbackHosts ?? []).map((h) => h.toLowerCase());
    if (
      (u.protocol !== 'http:' && u.protocol !== 'https:') ||
      !(
        isLoopbackHost(u.hostname) ||
        allowed.includes(u.host.toLowerCase()) ||
        allowed.includes(u.hostname.toLowerCase())
      )
    ) {
      throw new HttpError(400, {
        error: 'bad_callback',
        reason: `X-Callback-Url may point at loopback or at ${allowed.length ? allowed.join(', ') : 'no other address'} (callbackHosts), not ${u.host}`,
      });
    }
    return u.toString();
  };

  /** Requests from a web page: their Origin is not the gateway's own. */
  const foreignOrigin = (req: http.IncomingMessage): string | null => {
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') return String(origin ?? site);
    if (origin === undefined) return null;
    try {
      const o = new URL(origin);
      const port = (server.address() as { port: number }).port;
      return isLoopbackHost(o.hostname) && Number(o.port || 80) === port ? null : origin;
    } catch {
      return origin;
    }
  };

  const functionStatus = (fp: FunctionProcess) => ({
    name: fp.spec.name,
    image: fp.spec.image,
    namespace: fp.spec.namespace,
    envProcess: 'node index.js',
    envVars: fp.spec.environment,
    constraints: [],
    secrets: fp.spec.secrets,
    labels: fp.spec.labels,
    annotations: fp.spec.annotations,
    limits: fp.spec.limits,
    requests: fp.spec.requests,
    readOnlyRootFilesystem: fp.spec.readOnlyRootFilesystem,
    invocationCount: fp.invocations,
    replicas: 1,
    availableReplicas: fp.child && fp.port !== 0 ? 1 : 0,
    createdAt: fp.startedAt.toISOString(),
  });

  const system = async (req: http.IncomingMessage, res: http.ServerResponse, u: URL): Promise<void> => {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const text = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    };
    if (!authorized(req.headers.authorization, credentials)) {
      res.writeHead(401, {
        'www-authenticate': 'Basic realm="Restricted"',
        'content-type': 'text/plain; charset=utf-8',
      });
      res.end(
        'Unauthorized: log in with faas-cli login (user admin; the password npm run serve printed, or OPENFAAS_PASSWORD)\n',
      );
      return;
    }
    const ns = u.searchParams.get('namespace');
    if (ns && ns !== FUNCTION_NAMESPACE)
      return text(400, `namespace ${ns} is not valid: this gateway serves ${FUNCTION_NAMESPACE}\n`);
    const p = u.pathname;
    if (p === '/system/info' && req.method === 'GET') {
      return json(200, {
        provider: {
          provider: 'financial-screener local gateway',
          orchestration: 'local processes',
          version: { release: version, sha },
        },
        version: { release: version, sha, commit_message: 'local gateway of the financial screener pipeline' },
        arch: process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch,
      });
    }
    if (p === '/system/namespaces' && req.method === 'GET') return json(200, [FUNCTION_NAMESPACE]);
    if (p === '/system/functions') {
      if (req.method === 'GET') return json(200, [...procs.values()].map(functionStatus));
      return text(
        400,
        'the local gateway runs the functions of stack.yml: change stack.yml and restart npm run serve; deploy to a cluster with faas-cli deploy\n',
      );
    }
    const fnMatch = /^\/system\/function\/([^/]+)$/.exec(p);
    if (fnMatch && req.method === 'GET') {
      const fp = procs.get(decodeURIComponent(fnMatch[1]!));
      return fp ? json(200, functionStatus(fp)) : text(404, `No such function: ${fnMatch[1]}\n`);
    }
    if (p === '/system/logs' && req.method === 'GET') return streamLogs(req, res, u);
    return text(404, `no route ${req.method} ${p}\n`);
  };

  const streamLogs = (req: http.IncomingMessage, res: http.ServerResponse, u: URL): void => {
    const name = u.searchParams.get('name') ?? '';
    if (!name) {
      res.writeHead(422, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('name is required: /system/logs?name=FUNCTION\n');
      return;
    }
    if (!procs.has(name)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`No such function: ${name}\n`);
      return;
    }
    const sinceRaw = u.searchParams.get('since');
    const since = sinceRaw ? new Date(sinceRaw) : null;
    if (since && Number.isNaN(since.getTime())) {
      res.writeHead(422, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('since must be an RFC3339 time\n');
      return;
    }
    const tail = Number(u.searchParams.get('tail') ?? '-1');
    const instance = u.searchParams.get('instance');
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    // Headers at once: a follower with no line yet must not wait for the first one to see 200.
    res.flushHeaders();
    for (const e of logs.query(name, { since, tail: Number.isFinite(tail) ? tail : -1, instance }))
      res.write(JSON.stringify(e) + '\n');
    if (u.searchParams.get('follow') !== 'true') {
      res.end();
      return;
    }
    const stop = logs.follow(name, (e) => {
      if (!instance || e.instance === instance) res.write(JSON.stringify(e) + '\n');
    });
    const end = () => {
      stop();
      res.end();
    };
    req.on('close', stop);
    // A followed stream ends when the client goes, or after 30 minutes (the gateway's own timeout).
    setTimeout(end, 30 * 60_000).unref();
    closers.add(end);
  };
  const closers = new Set<() => void>();

  const invoke = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    u: URL,
    kind: string,
    target: string,
    subpath: string,
  ): Promise<void> => {
    const json = (status: number, value: unknown, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(JSON.stringify(value));
    };
    const spec = resolveName(decodeURIComponent(target));
    if (!spec)
      return json(404, {
        error: 'not_found',
        reason: `no function ${target} in ${FUNCTION_NAMESPACE}; functions: ${functions.map((f) => f.name).join(', ')}`,
      });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !HOP_BY_HOP.has(k)) headers[k] = v;
    if (kind === 'async-function') {
      if (req.method !== 'POST')
        return json(405, { error: 'method_not_allowed', reason: 'async calls are POST' }, { allow: 'POST' });
      // Everything that would make the call undeliverable is refused before the 202.
      const callbackUrl = checkCallback(headers['x-callback-url']);
      const body = await readBody(req);
      const callId = headers['x-call-id'] ?? randomUUID();
      enqueue(spec.name, body, headers, callId, callbackUrl);
      res.writeHead(202, { 'x-call-id': callId, 'x-start-time': String(Date.now() * 1_000_000) });
      res.end();
      return;
    }
    counters.syncCalls++;
    const body = await readBody(req);
    const out = await callFunction(spec.name, req.method ?? 'POST', subpath + u.search, headers, body);
    res.writeHead(out.status, {
      ...('headers' in out ? out.headers : {}),
      'content-type': out.contentType,
      'x-call-id': headers['x-call-id'] ?? randomUUID(),
    });
    res.end(out.body);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const u = new URL(req.url ?? '/', 'http://gateway');
    const foreign = foreignOrigin(req);
    if (foreign)
      throw new HttpError(403, {
        error: 'forbidden_origin',
        reason: `requests from web pages (${foreign}) are refused: call the gateway with curl or faas-cli`,
      });
    if (u.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('OK');
      return;
    }
    if (u.pathname.startsWith('/system/')) return system(req, res, u);
    const m = /^\/(function|async-function)\/([^/]+)(\/.*)?$/.exec(u.pathname);
    if (!m) throw new HttpError(404, { error: 'not_found', reason: `no route ${u.pathname}` });
    return invoke(req, res, u, m[1]!, m[2]!, m[3] ?? '/');
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = err instanceof HttpError ? err.status : 500;
      const body =
        err instanceof HttpError
          ? err.body
          : { error: 'gateway_error', reason: String((err as Error)?.message ?? err) };
      // A body refused part way: answered once the rest is read (bounded), not under a client still sending.
      const answer = () => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (status === 413) answerWhenDrained(req, answer);
      else answer();
    });
  });
  // Expect: 100-continue: a body over the limit is refused before the client sends it.
  server.on('checkContinue', (req, res) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBody) {
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(tooLarge(declared).body));
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
  server.requestTimeout = 0;
  // Longer than any client's idle timeout: a reused connection is never one being closed.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  // Listen first (port 0 unless given), then start the functions with this address.
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`port ${opts.port} is in use (another npm run serve?): stop it or choose another with PORT=`)
          : err,
      ),
    );
    server.listen(opts.port ?? 0, host, resolve);
  });
  url = `http://${host}:${(server.address() as { port: number }).port}`;
  const processOptions = { distRoot, env: processEnv, logs, onLog, isClosing: () => closing };
  for (const spec of functions) {
    const fp: FunctionProcess = {
      spec,
      port: 0,
      child: null,
      instance: '',
      startedAt: new Date(),
      restarts: 0,
      invocations: 0,
      active: 0,
      stopping: false,
      missedHealth: 0,
      healthy: false,
    };
    procs.set(spec.name, fp);
    startProcess(fp, processOptions);
  }

  // Ready when every function listens and answers its health check (its handler loaded).
  for (const fp of procs.values()) {
    for (let i = 0; ; i++) {
      try {
        if (fp.port === 0) throw new Error('not listening yet');
        const r = await request(`http://127.0.0.1:${fp.port}/_/health`);
        await r.body.dump();
        if (r.statusCode === 200) break;
      } catch {
        /* not yet */
      }
      if (i > 600) throw new Error(`function ${fp.spec.name} did not become healthy in 30 s: see its log lines above`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const liveness = opts.liveness ?? { intervalMs: 10_000, misses: 3 };
  const stopLiveness = watchLiveness(procs, liveness.intervalMs, liveness.misses, (fp) => {
    counters.livenessKills++;
    gatewayLog('function_unresponsive_killed', {
      target: fp.spec.name,
      instance: fp.instance,
      missed_health_checks: fp.missedHealth,
    });
  });

  // What the cron-connector does: each function with topic cron-function is invoked on its
  // schedule (UTC), asynchronously, with an empty body and the connector's headers.
  const crons: Array<{ fn: string; schedule: string; job: Cron }> = [];
  if (opts.cron) {
    for (const spec of functions) {
      if (!spec.schedule) continue;
      const job = new Cron(spec.schedule, { timezone: 'UTC', protect: true }, () => {
        counters.cronInvocations++;
        gatewayLog('cron_invoked', { target: spec.name, schedule: spec.schedule });
        enqueue(
          spec.name,
          Buffer.alloc(0),
          { 'x-connector': 'cron-connector', 'x-topic': 'cron-function' },
          randomUUID(),
          null,
        );
      });
      crons.push({ fn: spec.name, schedule: spec.schedule, job });
    }
  }

  return {
    url,
    credentials,
    functions,
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      }),
    stats: () => ({
      ...counters,
      restarts: [...procs.values()].reduce((s, p) => s + p.restarts, 0),
      queued: queue.length,
      inflight,
    }),
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
    loseNextAsync: (n) => {
      loseNext += Math.max(0, Math.floor(n));
    },
    setDuplicateDelivery: (mode) => {
      duplicateDelivery = mode;
    },
    schedules: () =>
      opts.cron
        ? crons.map((c) => ({ fn: c.fn, schedule: c.schedule, next: c.job.nextRun()?.toISOString() ?? null }))
        : null,
    close: async () => {
      closing = true;
      for (const c of crons) c.job.stop();
      stopLiveness();
      for (const end of closers) end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all(
        [...procs.values()].map(
          (fp) =>
            new Promise<void>((resolve) => {
              fp.stopping = true;
              const child = fp.child;
              if (!child) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
              setTimeout(() => {
                child.kill('SIGKILL');
              }, 3000).unref();
            }),
        ),
      );
    },
  };
}
