/**
 * `npm test`: ava against a real PostgreSQL. With DATABASE_URL, that server; without, an
 * embedded one started here for the whole run. Each test file makes its own database on
 * it (test/helpers/db.ts), so files run in parallel without seeing each other.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { type LocalPostgres, startLocalPostgres } from '../dev/embedded-postgres.js';

let server: LocalPostgres | null = null;
let url = process.env.DATABASE_URL;
if (!url) {
  server = await startLocalPostgres({ quiet: true });
  url = server.url;
}
const avaBin = path.resolve('node_modules', 'ava', 'entrypoints', 'cli.mjs');
const child = spawn(process.execPath, [avaBin, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TEST_DATABASE_URL: url },
});
const code: number = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
if (server) await server.stop();
process.exit(code);
