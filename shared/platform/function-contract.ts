/**
 * The contract between the template's entrypoint (templates/node20-ts/index.ts) and a
 * function's handler (functions/<name>/handler.ts). A handler is a small async function
 * from an event to a result, as in the official OpenFaaS node templates, but the status
 * code is always explicit: the queue-worker reports it in X-Function-Status, so a thrown
 * error must never become a 200.
 */
export interface FunctionEvent {
  /** The raw request body, undecoded: the handler's zod schema decides what it means. */
  body: Buffer;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  method: string;
  query: Record<string, string>;
  path: string;
}

export interface FunctionResult {
  status: number;
  /** Serialised as JSON; sent as it is when it is a string and headers give a non-JSON content-type (a page). */
  body: unknown;
  headers?: Record<string, string>;
}

export type Handler = (event: FunctionEvent) => Promise<FunctionResult>;

/** A result whose body goes out as it is: a string with a content-type that is not JSON. */
export function isText(result: FunctionResult): result is FunctionResult & { body: string } {
  const type = Object.entries(result.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  return typeof result.body === 'string' && type !== '' && !/json/i.test(type);
}
