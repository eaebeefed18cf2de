/** What a request says about who sent it: the cron-connector, the queue (a chain), or a person. */
import type { FunctionEvent } from './function-contract.js';

export function callIdOf(event: FunctionEvent): string | null {
  const id = event.headers['x-call-id'];
  return id && id.length <= 200 ? id : null;
}

export function triggerKindOf(event: FunctionEvent): 'cron' | 'manual' {
  return event.headers['x-connector'] === 'cron-connector' || event.headers['x-topic'] === 'cron-function'
    ? 'cron'
    : 'manual';
}
