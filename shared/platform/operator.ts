/**
 * Operators only where it matters. Reading is open, as OpenFaaS functions are; every action
 * that writes (reset a ticker, confirm or drop a quality finding, start a run or a step from a
 * page) asks for an operator credential, checked here and nowhere else:
 *
 *   - the secret `screener-admin-token`, sent as `Authorization: Bearer <token>`;
 *   - the gateway's admin user and password (the secrets `basic-auth-user` and
 *     `basic-auth-password`, which OpenFaaS keeps for its gateway; a function sees them when
 *     they are given to it as its own secrets), sent as basic auth (`curl -u admin:...`), or
 *     the password alone as a bearer token (what the pages' operator field sends).
 *
 * With none of them configured every write is refused: never open by default. The secrets are
 * read at each check (a rotated file is seen at once; a few microseconds), and compared in
 * constant time (digests of equal length), as the local gateway compares its own.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readSecret } from './config.js';
import type { FunctionResult } from './function-contract.js';
import { log } from './log.js';

export const ADMIN_TOKEN_SECRET = 'screener-admin-token';
export const BASIC_AUTH_USER_SECRET = 'basic-auth-user';
export const BASIC_AUTH_PASSWORD_SECRET = 'basic-auth-password';
/** The secrets a function that takes operator actions is given (stack.yml). */
export const OPERATOR_SECRETS = [ADMIN_TOKEN_SECRET, BASIC_AUTH_USER_SECRET, BASIC_AUTH_PASSWORD_SECRET] as const;

/** A shorter token is too easy to guess: it is not used (and the refusal says so). */
export const MIN_TOKEN_LENGTH = 16;
/** Longer Authorization headers are not read. */
const MAX_HEADER_LENGTH = 4096;

const REALM = 'financial-screener operators';
const HOW =
  "give an operator credential: Authorization: Bearer <the screener-admin-token secret>, or the gateway's admin user and password as basic auth (curl -u admin:<password>); on the pages, type it in the operator field";

export type OperatorCheck = { ok: true; by: 'token' | 'basic' } | { ok: false; response: FunctionResult };

interface Configured {
  token: string | null;
  basic: { user: string; password: string } | null;
  /** Why a configured secret is not used (a token too short). */
  ignored: string | null;
}

function configured(): Configured {
  const token = readSecret(ADMIN_TOKEN_SECRET, 'SCREENER_ADMIN_TOKEN') ?? null;
  // The user name is not secret (admin, usually): kept out of the redaction list, which would garble logs.
  const user = readSecret(BASIC_AUTH_USER_SECRET, 'BASIC_AUTH_USER', { redact: false }) ?? null;
  const password = readSecret(BASIC_AUTH_PASSWORD_SECRET, 'BASIC_AUTH_PASSWORD') ?? null;
  const short = token !== null && token.length < MIN_TOKEN_LENGTH;
  return {
    token: short ? null : token,
    basic: user && password ? { user, password } : null,
    ignored: short ? `${ADMIN_TOKEN_SECRET} is shorter than ${MIN_TOKEN_LENGTH} characters and is not used` : null,
  };
}

const digest = (s: string | Buffer) => createHash('sha256').update(s).digest();
/** Equal, in a time that depends on neither value (digests are always 32 bytes). */
const same = (given: string | Buffer, expected: string) => timingSafeEqual(digest(given), digest(expected));

function refused(status: 401 | 403, error: string, reason: string): OperatorCheck {
  log('warn', 'operator_refused', { error });
  return {
    ok: false,
    response: {
      status,
      body: { error, reason },
      // Bearer only: a Basic challenge would make a browser's fetch() open its own login
      // dialog over the page's operator field. Basic auth is accepted all the same.
      headers: status === 401 ? { 'www-authenticate': `Bearer realm="${REALM}"` } : {},
    },
  };
}

/** Whether a request's Authorization header carries an operator credential; else the 401/403 to answer. */
export function checkOperator(authorization: string | undefined): OperatorCheck {
  const c = configured();
  if (!c.token && !c.basic)
    return refused(
      403,
      'operator_not_configured',
      `no operator credential is configured, so nothing may be written from here: create the secret ${ADMIN_TOKEN_SECRET} (at least ${MIN_TOKEN_LENGTH} characters: faas-cli secret create ${ADMIN_TOKEN_SECRET} --from-file=token.txt) or give the function the gateway's ${BASIC_AUTH_USER_SECRET} and ${BASIC_AUTH_PASSWORD_SECRET} secrets, then redeploy it (docs/operations.md)${c.ignored ? `; ${c.ignored}` : ''}`,
    );
  const header = (authorization ?? '').trim();
  if (header === '') return refused(401, 'operator_required', `this action writes: ${HOW}`);
  if (header.length > MAX_HEADER_LENGTH) return refused(401, 'operator_refused', `the credential is too long: ${HOW}`);
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer' && value !== '') {
    // Both are checked whatever the first answers, so that the time says nothing of which was tried.
    const token = c.token !== null && same(value, c.token);
    const password = c.basic !== null && same(value, c.basic.password);
    if (token || password) return { ok: true, by: token ? 'token' : 'basic' };
  } else if (scheme === 'basic' && value !== '') {
    const given = Buffer.from(value, 'base64');
    if (c.basic !== null && same(given, `${c.basic.user}:${c.basic.password}`)) return { ok: true, by: 'basic' };
  } else {
    return refused(401, 'operator_refused', `the Authorization header is neither Bearer nor Basic: ${HOW}`);
  }
  return refused(401, 'operator_refused', `the operator credential is wrong: ${HOW}`);
}
