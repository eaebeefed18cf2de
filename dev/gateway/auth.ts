/**
 * Basic auth on /system/*, as the real gateway has it, so that `faas-cli login` means
 * something: user admin, and a password that is given (OPENFAAS_PASSWORD, or the option)
 * or generated on the first start and kept in the data folder (basic-auth-user and
 * basic-auth-password, the files the cron-connector reads with basic_auth=true and
 * secret_mount_path pointing there), printed once.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface Credentials {
  user: string;
  password: string;
  generated: boolean;
  dir: string | null;
}

export function gatewayCredentials(dir: string | null, given?: string): Credentials {
  const user = 'admin';
  const password = given ?? process.env.OPENFAAS_PASSWORD;
  if (password) return { user, password, generated: false, dir };
  if (dir) {
    const file = path.join(dir, 'basic-auth-password');
    if (fs.existsSync(file)) return { user, password: fs.readFileSync(file, 'utf8').trim(), generated: false, dir };
    fs.mkdirSync(dir, { recursive: true });
    const fresh = randomBytes(18).toString('base64url');
    fs.writeFileSync(path.join(dir, 'basic-auth-user'), user, { mode: 0o600 });
    fs.writeFileSync(file, fresh, { mode: 0o600 });
    return { user, password: fresh, generated: true, dir };
  }
  return { user, password: randomBytes(18).toString('base64url'), generated: true, dir: null };
}

/** Whether an Authorization header carries these credentials (compared in constant time). */
export function authorized(header: string | undefined, c: Credentials): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const given = Buffer.from(header.slice(6).trim(), 'base64');
  const expected = Buffer.from(`${c.user}:${c.password}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
