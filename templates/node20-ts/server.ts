/**
 * The function's HTTP server, for the of-watchdog in http mode (upstream_url
 * http://127.0.0.1:3000): given the loaded handler, everything else of the entrypoint.
 * index.ts loads the handler named by HANDLER_MODULE and calls serve(); a function's bundle
 * (bundle.mjs, what the image runs) imports its handler and this module and calls it too.
 *
 * Unlike the official node template, a thrown error is a 500 with a JSON body (never a
 * 200 with "Error: ..."), and every answer is JSON with the handler's status, because the
 * queue-worker reports that status to callbacks in X-Function-Status.
 */

import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import express from 'express';
import { db, isDatabaseUnavailable } from '../../shared/platform/db.js';
import { type FunctionEvent, type Handler, isText } from '../../shared/platform/function-contract.js';
import { log, redact } from '../../shared/platform/log.js';
import { invocationSeconds, invocations, registry, statusClass } from '../../shared/platform/metrics.js';

/** Serves `handler` (named `handlerName` in the logs) until SIGTERM or SIGINT. */
export function serve(handler: Handler, handlerName: string): void {
  // Behind the watchdog: the port of its upstream_url (the image sets http://127.0.0.1:3000).
  // Not PORT there: Knative sets PORT to the container's port, which is the watchdog's own.
  // On one machine (no watchdog) the local gateway gives PORT.
  const upstream = process.env.upstream_url ? new URL(process.env.upstream_url) : null;
  const port = Number(upstream?.port || process.env.PORT || process.env.http_port || 3000);
  const host = process.env.HOST ?? '127.0.0.1';
  const maxBody = process.env.MAX_BODY ?? '256kb';

  const app = express();
  app.disable('x-powered-by');
  // The body stays raw: each handler parses it with its own zod schema, so "not JSON at
  // all" is the handler's 400 with a reason, not a framework's HTML error page.
  app.use(express.raw({ type: () => true, limit: maxBody }));

  // Healthy only when the handler is loaded (it is, by the time this listens), the
  // database answers, and the event loop is not stalled: the longest delay of the event
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

  async function checkDatabase(): Promise<void> {
    try {
      await Promise.race([
        db().query('SELECT 1'),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 3 s')), 3_000).unref()),
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
    // The database is asked at most every 5 s; other probes get the last answer.
    if (Date.now() - dbCheck.at > 5_000) {
      dbCheck.pending ??= checkDatabase();
      await dbCheck.pending;
    }
    const stalled = Math.max(lastWindowMaxMs, loop.max / 1e6);
    if (!dbCheck.ok)
      return res.status(503).json({ status: 'unhealthy', reason: `the database does not answer: ${dbCheck.reason}` });
    if (stalled > EVENT_LOOP_STALL_MS)
      return res
        .status(503)
        .json({ status: 'unhealthy', reason: `the event loop stalled for ${Math.round(stalled)} ms` });
    return res.status(200).json({ status: 'ok' });
  });

  // Prometheus scrapes the function here (stack.yml's prometheus.io annotations).
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', registry.contentType).send(await registry.metrics());
  });

  app.all(/.*/, async (req, res) => {
    const stopTimer = invocationSeconds.startTimer();
    res.on('finish', () => {
      stopTimer();
      invocations.inc({ status: statusClass(res.statusCode) });
    });
    const event: FunctionEvent = {
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      headers: Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]),
      ),
      method: req.method,
      query: Object.fromEntries(
        Object.entries(req.query).filter((e): e is [string, string] => typeof e[1] === 'string'),
      ),
      path: req.path,
    };
    try {
      const result = await handler(event);
      for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
      if (isText(result)) res.status(result.status).send(result.body);
      else res.status(result.status).json(result.body ?? null);
    } catch (err) {
      const message = redact(err instanceof Error ? err.message : String(err));
      if (isDatabaseUnavailable(err)) {
        log('error', 'database_unavailable', { message });
        res
          .status(503)
          .set('retry-after', '30')
          .json({
            error: 'database_unavailable',
            reason: `the database does not answer (${message}): try again when it is back`,
          });
        return;
      }
      log('error', 'handler_crashed', { message });
      res.status(500).json({ error: 'internal_error', reason: message });
    }
  });

  // Body-parser failures (too large, aborted) answer JSON with their 4xx status.
  app.use(
    (
      err: { status?: number; type?: string; message?: string },
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      const status = typeof err.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 500;
      res.status(status).json({
        error: err.type === 'entity.too.large' ? 'body_too_large' : 'bad_request',
        reason:
          err.type === 'entity.too.large'
            ? `the request body exceeds ${maxBody}`
            : redact(err.message ?? 'bad request'),
      });
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
