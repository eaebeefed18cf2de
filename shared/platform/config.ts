/**
 * Where a function finds its secrets and endpoints. On the cluster secrets are files in
 * /var/openfaas/secrets (faas-cli secret create); on one machine they are environment
 * variables. The file wins, as on OpenFaaS.
 */
import fs from 'node:fs';
import path from 'node:path';
import { registerSecret } from './log.js';

const SECRETS_DIR = process.env.SECRETS_DIR ?? '/var/openfaas/secrets';

/**
 * A secret's value: its file, else its environment variable. Secrets are kept out of log
 * lines and answers (registerSecret); `redact: false` for a value that is not secret and
 * common enough that hiding it would garble logs (a user name such as "admin").
 */
export function readSecret(name: string, envName: string, opts: { redact?: boolean } = {}): string | undefined {
  const keep = (value: string) => {
    if (opts.redact !== false) registerSecret(value);
    return value;
  };
  try {
    const value = fs.readFileSync(path.join(SECRETS_DIR, name), 'utf8').trim();
    if (value) return keep(value);
  } catch {
    /* no secret file: fall back to the environment */
  }
  const env = process.env[envName]?.trim();
  return env ? keep(env) : undefined;
}

/**
 * The database URL: the secret DATABASE_SECRET names (a function with a login of its own:
 * the screen reads as a member of screener_readers, secret screen-database-url), else
 * database-url; DATABASE_URL when there is no secret file (one machine).
 */
export function databaseUrl(): string {
  const secret = process.env.DATABASE_SECRET?.trim() || 'database-url';
  if (!/^[a-z0-9][a-z0-9.-]{0,62}$/.test(secret))
    throw new Error(`DATABASE_SECRET ${JSON.stringify(secret)} is not a secret's name`);
  const url = readSecret(secret, 'DATABASE_URL');
  if (!url) throw new Error(`no database: set the ${secret} secret or DATABASE_URL`);
  return url;
}

export function eodhdApiKey(): string {
  const key = readSecret('eodhd-api-key', 'EODHD_API_KEY');
  if (!key) throw new Error('no EODHD API key: set the eodhd-api-key secret or EODHD_API_KEY');
  return key;
}

export function eodhdBaseUrl(): string {
  return (process.env.EODHD_BASE_URL ?? 'https://eodhd.com/api').replace(/\/+$/, '');
}

/** The OpenFaaS gateway the functions chain through (gateway_url, as the templates name it). */
export function gatewayUrl(): string {
  return (
    process.env.gateway_url ??
    process.env.GATEWAY_URL ??
    'http://gateway.openfaas.svc.cluster.local:8080'
  ).replace(/\/+$/, '');
}

export function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`${name} must be a non-negative number, not ${JSON.stringify(raw)}`);
  return n;
}
