/**
 * One JSON line per event on stdout, the format `faas-cli logs` passes through unchanged
 * with prefix_logs=false. Every line goes through redact(): the EODHD key travels in the
 * api_token query parameter, so any URL or error text could carry it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

type Level = 'debug' | 'info' | 'warn' | 'error';

const secrets = new Set<string>();

/** Registers a secret value so that redact() removes it wherever it appears. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 4) secrets.add(value);
}

export function redact(text: string): string {
  let out = text.replace(/(api_token=)[^&\s"']+/gi, '$1***');
  out = out.replace(/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/gi, '$1***@');
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

/** What an error says, in one line, whatever was thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The function a line comes from: the step running in this async context (the step runner
 * sets it, so in-process runs of several steps tell them apart), else the process's own
 * (FUNCTION_NAME, as stack.yml and the local gateway set it).
 */
const scope = new AsyncLocalStorage<{ function: string }>();

/** Runs fn with every log line it writes naming `fn` as its function. */
export function withLogFunction<T>(name: string, fn: () => Promise<T>): Promise<T> {
  return scope.run({ function: name }, fn);
}

/** Log keys are snake_case, whatever the caller's object looked like (executionId -> execution_id). */
function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Where lines go (stdout; tests collect them and show them when a test fails). */
let sink: (line: string) => void = (line) => {
  process.stdout.write(line + '\n');
};

export function setLogSink(f: (line: string) => void): void {
  sink = f;
}

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** LOG_LEVEL (debug, info, warn, error; default info) drops the lines below it. */
function enabled(level: Level): boolean {
  const min = (process.env.LOG_LEVEL ?? (process.env.LOG_DEBUG ? 'debug' : 'info')) as Level;
  return RANK[level] >= (RANK[min] ?? 1);
}

export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  if (!enabled(level)) return;
  const out: Record<string, unknown> = {
    ts: new Date().toISOString(),
    level,
    event,
    function: scope.getStore()?.function ?? process.env.FUNCTION_NAME ?? 'pipeline',
  };
  for (const [k, v] of Object.entries(fields)) out[snake(k)] = v;
  sink(redact(JSON.stringify(out)));
}

/** How often a long step logs its progress (LOG_PROGRESS_MS, default 30 s). */
function progressIntervalMs(): number {
  const ms = Number(process.env.LOG_PROGRESS_MS);
  return Number.isFinite(ms) && ms >= 100 ? ms : 30_000;
}

/**
 * While fn runs, logs `event` with what fields() gives every 30 s or so: a step that works
 * for minutes shows it is moving in `faas-cli logs` instead of logging only at its end.
 */
export async function withProgressLog<T>(
  event: string,
  fields: () => Record<string, unknown>,
  fn: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => {
    log('info', event, { ...fields(), elapsed_ms: Date.now() - started });
  }, progressIntervalMs());
  timer.unref();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
