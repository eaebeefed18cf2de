/**
 * What every pipeline function adds to the template's server, exported by each handler
 * module as `hooks`: ready when the database answers; /metrics from this process's
 * registry; each answer counted and timed; the pipeline's log lines (redacted); and a
 * database that is away answered 503 with Retry-After (try again later), not 500.
 */
import { db, isDatabaseUnavailable } from './db.js';
import type { ServerHooks } from './function-contract.js';
import { errorText, log, redact } from './log.js';
import { invocationSeconds, invocations, registry, statusClass } from './metrics.js';

export const hooks: ServerHooks = {
  async ready() {
    try {
      await db().query('SELECT 1');
    } catch (err) {
      throw new Error(`the database does not answer: ${errorText(err)}`);
    }
  },
  async metrics() {
    return { contentType: registry.contentType, body: await registry.metrics() };
  },
  answered(status, seconds) {
    invocationSeconds.observe(seconds);
    invocations.inc({ status: statusClass(status) });
  },
  failed(err) {
    if (!isDatabaseUnavailable(err)) return undefined;
    const message = redact(errorText(err));
    log('error', 'database_unavailable', { message });
    return {
      status: 503,
      headers: { 'retry-after': '30' },
      body: {
        error: 'database_unavailable',
        reason: `the database does not answer (${message}): try again when it is back`,
      },
    };
  },
  log,
  redact,
};
