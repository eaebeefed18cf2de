/**
 * What is wrong with a database connection, in one line a person can act on: a malformed
 * DATABASE_URL, nothing listening, an unknown host, a refused password, a missing database.
 * The password of the URL never appears in it.
 */
import type pg from 'pg';

const EXAMPLE = 'postgres://user:password@host:5432/database';

/** Where a URL points, for messages: host:port/database. */
function whereOf(url: URL): string {
  return `${url.hostname}:${url.port || '5432'}${url.pathname.length > 1 ? url.pathname : ''}`;
}

/** Why a database URL cannot be used as it is, or null when it reads well. */
export function databaseUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `DATABASE_URL is not a URL: write it as ${EXAMPLE}`;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    return `DATABASE_URL starts with ${url.protocol}// where PostgreSQL needs postgres:// (${EXAMPLE})`;
  if (!url.hostname && !url.searchParams.get('host')) return `DATABASE_URL names no host: write it as ${EXAMPLE}`;
  if (url.port && !(Number(url.port) > 0 && Number(url.port) < 65_536))
    return `DATABASE_URL has port ${url.port}, not a port number`;
  return null;
}

/** One line that says what to do about an error of connecting to (or querying) a database. */
export function databaseProblem(err: unknown, raw: string): string {
  const malformed = databaseUrlProblem(raw);
  if (malformed) return malformed;
  const url = new URL(raw);
  const where = whereOf(url);
  const e = (err ?? {}) as { code?: string; message?: string };
  const message = (e.message ?? String(err)).split('\n')[0]!.replaceAll(url.password || '\u0000', '***');
  switch (e.code) {
    case 'ECONNREFUSED':
      return `nothing answers at ${url.hostname}:${url.port || '5432'} (DATABASE_URL): start PostgreSQL there, correct DATABASE_URL, or unset it to use the embedded database`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the database host "${url.hostname}" is not known (DATABASE_URL): correct the host name`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      return `the database at ${where} cannot be reached (${e.code}): check that it runs and that this machine may connect to it`;
    case '28P01':
    case '28000':
      return `PostgreSQL at ${where} refused user "${decodeURIComponent(url.username)}": correct the user and password in DATABASE_URL (${message})`;
    case '3D000':
      return `the database ${url.pathname.slice(1)} does not exist at ${url.hostname}:${url.port || '5432'}: create it (createdb ${url.pathname.slice(1)}) or correct DATABASE_URL`;
    case '57P03':
      return `PostgreSQL at ${where} is starting up or shutting down: try again in a few seconds`;
  }
  if (/timeout/i.test(message))
    return `the database at ${where} did not answer in time: check that it runs and that this machine may connect to it`;
  return `the database at ${where} could not be used: ${message}`;
}

/** Connects once and throws an Error whose message is databaseProblem's line. */
export async function checkDatabase(pool: pg.Pool, raw: string): Promise<void> {
  const malformed = databaseUrlProblem(raw);
  if (malformed) throw new Error(malformed);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    throw new Error(databaseProblem(err, raw));
  }
}
