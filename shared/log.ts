/**
 * One JSON line per event on stdout, the format `faas-cli logs` passes through unchanged
 * with prefix_logs=false. Every line goes through redact(): the EODHD key travels in the
 * api_token query parameter, so any URL or error text could carry it.
 */
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

let context: Record<string, unknown> = {};

/** Fields added to every later line of this process (e.g. the function's name). */
export function setLogContext(fields: Record<string, unknown>): void {
  context = { ...context, ...fields };
}

const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** LOG_LEVEL (debug, info, warn, error; default info) drops the lines below it. */
function enabled(level: Level): boolean {
  const min = (process.env.LOG_LEVEL ?? (process.env.LOG_DEBUG ? 'debug' : 'info')) as Level;
  return RANK[level] >= (RANK[min] ?? 1);
}

export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  if (!enabled(level)) return;
  const line = JSON.stringify({ ts: new Date().toISOString(), level, event, ...context, ...fields });
  process.stdout.write(redact(line) + '\n');
}
