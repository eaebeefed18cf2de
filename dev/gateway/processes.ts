/**
 * One process per function of stack.yml, started through the template's entrypoint as its
 * container would be, on a port it picks and reports (no port race). A process that dies
 * is started again; one that stops answering its health check (its event loop is stuck)
 * is killed and started again, as a liveness probe would. Its output lines go to the log
 * store, as a pod's to `faas-cli logs`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import type { LogStore } from './logs.js';
import type { FunctionSpec } from './stack.js';

export interface FunctionProcess {
  spec: FunctionSpec;
  /** 0 until the process says where it listens (its function_listening line). */
  port: number;
  child: ChildProcess | null;
  /** pid-based name of the running instance, for the logs. */
  instance: string;
  startedAt: Date;
  restarts: number;
  invocations: number;
  active: number;
  stopping: boolean;
  /** Health checks in a row that got no answer in time. */
  missedHealth: number;
  healthy: boolean;
}

export interface ProcessOptions {
  distRoot: string;
  /** The environment of every function (after stack.yml's own). */
  env: (spec: FunctionSpec) => NodeJS.ProcessEnv;
  logs: LogStore;
  onLog: (fn: string, line: string) => void;
  isClosing: () => boolean;
}

/** The function's bundle (what its image runs: templates/node20-ts/bundle.mjs), else the compiled tree's entrypoint. */
export function entrypointOf(distRoot: string, handlerFolder: string): string {
  const bundle = path.join(distRoot, 'bundles', `${handlerFolder}.mjs`);
  return fs.existsSync(bundle) ? bundle : path.join(distRoot, 'templates', 'node20-ts', 'index.js');
}

export function startProcess(fp: FunctionProcess, o: ProcessOptions): void {
  const child = spawn(process.execPath, [entrypointOf(o.distRoot, fp.spec.handlerFolder)], {
    env: o.env(fp.spec),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  fp.child = child;
  fp.instance = `${fp.spec.name}-${child.pid ?? 'x'}`;
  fp.startedAt = new Date();
  fp.missedHealth = 0;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream!.setEncoding('utf8');
    stream!.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.includes('"function_listening"')) {
          try {
            fp.port = Number((JSON.parse(line) as { port?: number }).port) || 0;
          } catch {
            /* not a log line */
          }
        }
        if (line.trim()) {
          o.logs.add(fp.spec.name, fp.instance, line);
          o.onLog(fp.spec.name, line);
        }
      }
    });
  }
  child.on('exit', () => {
    fp.child = null;
    fp.port = 0;
    fp.healthy = false;
    if (!o.isClosing() && !fp.stopping) {
      fp.restarts++;
      setTimeout(() => {
        if (!o.isClosing()) startProcess(fp, o);
      }, 200);
    }
  });
}

/** One health check: answered (healthy or not), or no answer within timeoutMs. */
export async function checkHealth(
  fp: FunctionProcess,
  timeoutMs: number,
): Promise<'healthy' | 'unhealthy' | 'no_answer'> {
  if (!fp.child || fp.port === 0) return 'no_answer';
  try {
    const r = await request(`http://127.0.0.1:${fp.port}/_/health`, {
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await r.body.dump();
    return r.statusCode === 200 ? 'healthy' : 'unhealthy';
  } catch {
    return 'no_answer';
  }
}

/**
 * Liveness: a process that leaves `misses` health checks in a row unanswered (its event
 * loop is stuck: an endless loop, a blocked call) is killed; the exit handler starts it
 * again. A process that answers "unhealthy" (its database is away) is left alone.
 */
export function watchLiveness(
  procs: Map<string, FunctionProcess>,
  intervalMs: number,
  misses: number,
  onKill: (fp: FunctionProcess) => void,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void Promise.all(
      [...procs.values()].map(async (fp) => {
        if (!fp.child || fp.port === 0 || fp.stopping) return;
        const h = await checkHealth(fp, Math.min(5_000, intervalMs));
        fp.healthy = h === 'healthy';
        fp.missedHealth = h === 'no_answer' ? fp.missedHealth + 1 : 0;
        if (fp.missedHealth >= misses && fp.child) {
          onKill(fp);
          fp.child.kill('SIGKILL');
        }
      }),
    ).finally(() => {
      running = false;
    });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
