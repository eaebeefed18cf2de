/**
 * What the template serves: a handler module's default export (an async function from an
 * event to a result, as in the official OpenFaaS node templates) and, optionally, its
 * `hooks` (what the function adds to the server: a readiness check, metrics, a log line's
 * format, an answer for an error it knows). The template imports nothing of the project it
 * serves; a function brings what it needs through its own module.
 *
 * The status code is always explicit: the queue-worker reports it in X-Function-Status, so
 * a thrown error must never become a 200.
 */
/** The largest request body a function takes unless MAX_BODY says otherwise (the local gateway refuses the same at its door). */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

export interface FunctionEvent {
  /** The raw request body, undecoded: the handler's own schema decides what it means. */
  body: Buffer;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  method: string;
  /** The query string's parameters; a name given more than once is one comma-separated value. */
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

export type LogLevel = 'info' | 'warn' | 'error';

/** Every hook is optional: a handler module without any is served all the same. */
export interface ServerHooks {
  /** Asked by GET /_/health, at most every 5 s: resolves when what the handler needs answers; its rejection is the reason. */
  ready?: () => Promise<void>;
  /** GET /metrics: the Prometheus text exposition. Without it /metrics answers 404. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Told once per answered call: its HTTP status and how long the answer took. */
  answered?: (status: number, seconds: number) => void;
  /** The answer to a thrown error the function knows (a database away: 503); undefined leaves it to the template's 500. */
  failed?: (err: unknown) => FunctionResult | undefined;
  /** Writes one log line (the template's own writes one JSON object per line on stdout). */
  log?: (level: LogLevel, event: string, fields: Record<string, unknown>) => void;
  /** Removes secrets from a message before it is logged or answered. */
  redact?: (text: string) => string;
}

/** A handler's module as the template loads it. */
export interface HandlerModule {
  default: Handler;
  hooks?: ServerHooks;
}
