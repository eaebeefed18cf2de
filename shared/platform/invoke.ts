/**
 * Chaining: one function invokes the next through the gateway's async route. The step is
 * recorded as pending in the database before this is called, so if the gateway or its
 * queue loses the call, the re-drive finds the step and invokes it again.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { gatewayUrl } from './config.js';
import { errorText, log } from './log.js';

/** The chain's steps after init-execution, in their order: the one list of them. */
export const CHAINED_STEPS = [
  'discover-delta',
  'check-quota',
  'collect-region',
  'finalize',
  'calc-indicators',
] as const;
export type ChainedStep = (typeof CHAINED_STEPS)[number];

export const FUNCTION_NAMES = ['init-execution', ...CHAINED_STEPS] as const;

/** Step names as an SQL list ('a', 'b'): constants of this module, never input. */
export function sqlStepList(steps: readonly string[]): string {
  return steps.map((s) => `'${s.replace(/'/g, "''")}'`).join(', ');
}
export type FunctionName = (typeof FUNCTION_NAMES)[number];

export type Invoker = (fn: FunctionName, body: object, callId?: string) => Promise<void>;

let override: Invoker | undefined;

/** Tests replace the gateway with an in-process invoker. */
export function setInvoker(inv: Invoker | undefined): void {
  override = inv;
}

/**
 * Where an asynchronous call goes and with which headers. On OpenFaaS: the gateway's
 * /async-function/<name> (its queue delivers it). On Knative (BROKER_URL set): a
 * CloudEvent of type screener.invoke.<name> to the Broker, whose Trigger delivers it to the
 * function's Service (k8s/knative/).
 */
function asyncTarget(fn: FunctionName, callId: string | undefined): { url: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const broker = process.env.BROKER_URL;
  if (!broker) {
    if (callId) headers['x-call-id'] = callId;
    return { url: `${gatewayUrl()}/async-function/${fn}`, headers };
  }
  return {
    url: broker,
    headers: {
      ...headers,
      'ce-specversion': '1.0',
      'ce-type': `screener.invoke.${fn}`,
      'ce-source': `/financial-screener/${process.env.FUNCTION_NAME ?? 'pipeline'}`,
      'ce-id': callId ?? randomUUID(),
    },
  };
}

export async function invokeAsync(fn: FunctionName, body: object, callId?: string): Promise<void> {
  if (override) return override(fn, body, callId);
  const { url, headers } = asyncTarget(fn, callId);
  let lastError = '';
  for (let attempt = 1; attempt <= 4; attempt++) {
    try {
      const res = await request(url, {
        method: 'POST',
        body: JSON.stringify(body),
        headers,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await res.body.dump();
      if (res.statusCode === 202 || res.statusCode === 200) {
        log('info', 'invoked', { target: fn, ...body });
        return;
      }
      lastError = `gateway answered ${res.statusCode}`;
    } catch (err) {
      lastError = errorText(err);
    }
    await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
  }
  // Not thrown: the step is pending in the database and the re-drive will pick it up.
  log('error', 'invoke_failed', { target: fn, ...body, error: lastError });
}
