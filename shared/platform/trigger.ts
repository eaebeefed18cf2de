/** What a request says about who sent it: the cron-connector, the queue (a chain), or a person. */
import type { FunctionEvent } from './function-contract.js';

/** The call's id: the OpenFaaS queue's X-Call-Id, or a CloudEvent's ce-id on Knative. */
export function callIdOf(event: FunctionEvent): string | null {
  const id = event.headers['x-call-id'] ?? event.headers['ce-id'];
  return id && id.length <= 200 ? id : null;
}

/** The cron-connector's headers on OpenFaaS, a PingSource's event on Knative. */
export function triggerKindOf(event: FunctionEvent): 'cron' | 'manual' {
  return event.headers['x-connector'] === 'cron-connector' ||
    event.headers['x-topic'] === 'cron-function' ||
    event.headers['ce-type'] === 'dev.knative.sources.ping'
    ? 'cron'
    : 'manual';
}
