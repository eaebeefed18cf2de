/**
 * The function's HTTP server, for the of-watchdog in http mode (upstream_url
 * http://127.0.0.1:3000): given the loaded handler module, everything else of the
 * entrypoint. index.ts loads the handler named by HANDLER_MODULE and calls serve(); a
 * function's bundle (bundle.mjs, what the image runs) imports its handler and this module
 * and calls it too. It imports only Node and express: what a function adds (its database
 * check, its metrics, its log format) comes through the module's `hooks` (contract.ts).
 *
 * Unlike the official node template, a thrown error is a 500 with a JSON body (never a
 * 200 with "Error: ..."), and every answer is JSON with the handler's status, because the
 * queue-worker reports that status to callbacks in X-Function-Status.
 */

import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import express from 'express';
import {
  DEFAULT_MAX_BODY_BYTES,
  type FunctionEvent,
  type FunctionResult,
  type HandlerModule,
  type LogLevel,
} from './contract.js';

/**
 * How much of a refused body is still read (and thrown away) after the 413 is sent, and
 * for how long. A client that sends its whole body before reading the answer (no `Expect:
 * 100-continue`, as Node's fetch and most libraries) would otherwise meet a closed socket
 * mid-send, a connection reset, and never see the 413's reason.
 */
const DRAIN_BYTES = 64 * 1024 * 1024;
const DRAIN_MS = 10_000;

/** A result whose body goes out as it is: a string with a content-type that is not JSON. */
function isText(result: FunctionResult): result is FunctionResult & { body: string } {
  const type = Object.entries(result.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  return typeof result.body === 'string' && type !== '' && !/json/i.test(type);
}

function defaultLog(level: LogLevel, event: string, fields: Record<string, unknown>): void {
  process.stdout.write(
    JSON.stringify({ ts: new Date().toISOString(), level, event, function: process.env.FUNCTION_NAME, ...fields }) +
      '\n',
  );
}

/**
 * Calls `answer` once what is left of a refused body is read into nothing, or after
 * DRAIN_BYTES or DRAIN_MS (then it closes the socket): never under a client still sending.
 */
function answerWhenDrained(req: express.Request, answer: () => void): void {
  let read = 0;
  let done = false;
  const finish = (close: boolean) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    answer();
    if (close) req.socket.destroySoon();
  };
  const timer = setTimeout(() => finish(true), DRAIN_MS);
  timer.unref();
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > DRAIN_BYTES) finish(true);
  });
  req.on('end', () => finish(false));
  req.on('close', () => finish(false));
  if (req.complete) finish(false);
  else req.resume();
}

/** Serves the module's handler (named `handlerName` in the logs) until SIGTERM or SIGINT. */
export function serve(mod: HandlerModule, handlerName: string): void {
  const handler = mod.default;
  const hooks = mod.hooks ?? {};
  const log = hooks.log ?? defaultLog;
  const redact = hooks.redact ?? ((text: string) => text);
  // Behind the watchdog: the port of its upstream_url (the image sets http://127.0.0.1:3000).
  // Not PORT there: Knative sets PORT to the container's port, which is the watchdog's own.
  // On one machine (no watchdog) the local gateway gives PORT.
  const upstream = process.env.upstream_url ? new URL(process.env.upstream_url) : null;
  const port = Number(upstream?.port || process.env.PORT || process.env.http_port || 3000);
  const host = process.env.HOST ?? '127.0.0.1';
  const maxBody = process.env.MAX_BODY ?? DEFAULT_MAX_BODY_BYTES;

  const app = express();
  app.disable('x-powered-by');
  // The body stays raw: each handler parses it with its own zod schema, so "not JSON at
  // all" is the handler's 400 with a reason, not a framework's HTML error page.
  app.use(express.raw({ type: () => true, limit: maxBody }));

  // Healthy only when the handler is loaded (it is, by the time this listens), what it
  // needs answers (its ready hook: the database, for the pipeline's), and the event loop is not stalled: the longest delay of the event
  // loop over the last window stays under EVENT_LOOP_STALL_MS. A stalled process answers
  // late or not at all, and its supervisor (the local gateway, a liveness probe) restarts it.
  const EVENT_LOOP_STALL_MS = Number(process.env.EVENT_LOOP_STALL_MS ?? 5_000);
  const loop = monitorEventLoopDelay({ resolution: 50 });
  loop.enable();
  let lastWindowMaxMs = 0;
  setInterval(() => {
    lastWindowMaxMs = loop.max / 1e6;
    loop.reset();
  }, 10_000).unref();
  let dbCheck: { at: number; ok: boolean; reason: string | null; pending: Promise<void> | null } = {
    at: 0,
    ok: false,
    reason: 'not checked yet',
    pending: null,
  };

  async function checkReady(): Promise<void> {
    try {
      await Promise.race([
        hooks.ready?.(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('the ready check gave no answer in 3 s')), 3_000).unref(),
        ),
      ]);
      dbCheck = { at: Date.now(), ok: true, reason: null, pending: null };
    } catch (err) {
      dbCheck = {
        at: Date.now(),
        ok: false,
        reason: redact(err instanceof Error ? err.message : String(err)),
        pending: null,
      };
    }
  }

  app.get('/_/health', async (_req, res) => {
    // The ready hook is asked at most every 5 s; other probes get the last answer.
    if (Date.now() - dbCheck.at > 5_000) {
      dbCheck.pending ??= checkReady();
      await dbCheck.pending;
    }
    const stalled = Math.max(lastWindowMaxMs, loop.max / 1e6);
    if (!dbCheck.ok) return res.status(503).json({ status: 'unhealthy', reason: dbCheck.reason });
    if (stalled > EVENT_LOOP_STALL_MS)
      return res
        .status(503)
        .json({ status: 'unhealthy', reason: `the event loop stalled for ${Math.round(stalled)} ms` });
    return res.status(200).json({ status: 'ok' });
  });

  // Prometheus scrapes the function here (stack.yml's prometheus.io annotations).
  app.get('/metrics', async (_req, res) => {
    if (!hooks.metrics) return res.status(404).json({ error: 'not_found', reason: 'this function serves no metrics' });
    const m = await hooks.metrics();
    return res.set('content-type', m.contentType).send(m.body);
  });

  app.all(/.*/, async (req, res) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => hooks.answered?.(res.statusCode, Number(process.hrtime.bigint() - started) / 1e9));
    const event: FunctionEvent = {
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      headers: Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]),
      ),
      method: req.method,
      // A name given more than once (a form's checkboxes: ?exchanges=US&exchanges=LSE) is one
      // comma list, as a list is written in one (?exchanges=US,LSE).
      query: Object.fromEntries(
        Object.entries(req.query).flatMap(
          ([k, v]): Array<[string, string]> =>
            typeof v === 'string'
              ? [[k, v]]
              : Array.isArray(v) && v.every((x) => typeof x === 'string')
                ? [[k, v.join(',')]]
                : [],
        ),
      ),
      path: req.path,
    };
    try {
      const result = await handler(event);
      for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
      if (isText(result)) res.status(result.status).send(result.body);
      else res.status(result.status).json(result.body ?? null);
    } catch (err) {
      const known = hooks.failed?.(err);
      if (known) {
        for (const [k, v] of Object.entries(known.headers ?? {})) res.setHeader(k, v);
        res.status(known.status).json(known.body ?? null);
        return;
      }
      const message = redact(err instanceof Error ? err.message : String(err));
      log('error', 'handler_crashed', { message });
      res.status(500).json({ error: 'internal_error', reason: message });
    }
  });

  // Body-parser failures (too large, aborted) answer JSON with their 4xx status. A body
  // refused for its size is answered once the rest of it is drained (see DRAIN_BYTES).
  app.use(
    (
      err: { status?: number; type?: string; message?: string },
      req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      const status = typeof err.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 500;
      if (err.type === 'entity.too.large') {
        const limit = typeof maxBody === 'number' ? `${maxBody} bytes` : maxBody;
        answerWhenDrained(req, () =>
          res.status(status).json({ error: 'body_too_large', reason: `the request body is over ${limit}: send less` }),
        );
        return;
      }
      res.status(status).json({ error: 'bad_request', reason: redact(err.message ?? 'bad request') });
    },
  );

  const server = app.listen(port, host);
  // A port that cannot be had is fatal: the watchdog would forward to whatever holds it.
  server.on('error', (err: NodeJS.ErrnoException) => {
    log('error', 'function_listen_failed', { port, host, error: err.code ?? err.message });
    process.exit(1);
  });
  server.on('listening', () => {
    // The watchdog's readiness check looks for this file.
    try {
      fs.writeFileSync('/tmp/.lock', String(process.pid));
    } catch {
      /* read-only /tmp: not in a container */
    }
    // With PORT=0 the system picks the port: the local gateway reads it from this line.
    const address = server.address();
    const actual = typeof address === 'object' && address ? address.port : port;
    log('info', 'function_listening', { port: actual, handler: handlerName });
  });
  server.keepAliveTimeout = 65_000;

  function shutdown(signal: string): void {
    log('info', 'function_stopping', { signal });
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
