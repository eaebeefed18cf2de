/**
 * The template's entrypoint, the process every function runs as: it fails loudly when it
 * cannot listen, says it is unhealthy while its database does not answer, and answers
 * 503 (try again later) instead of 500 when a call meets a database that is away.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { request } from 'undici';
import { postWholeBody } from './helpers/whole-body.js';
import { TEST_TODAY } from './helpers/world.js';

const ENTRY = path.resolve('dist', 'templates', 'node20-ts', 'index.js');
const SAMPLE_HANDLER = path.resolve('dist', 'templates', 'node20-ts', 'function', 'handler.js');
const handler = (name: string) => path.resolve('dist', 'functions', name, 'handler.js');

interface Started {
  port: number;
  lines: string[];
  exit: Promise<number | null>;
  stop(): void;
}

/** Starts the entrypoint for a handler; resolves when it listens or exits. */
function start(env: Record<string, string>): Promise<Started & { exited: boolean }> {
  const child = spawn(process.execPath, [ENTRY], {
    env: { ...process.env, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += c.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (line.includes('"function_listening"'))
          resolve({
            port: Number(JSON.parse(line).port),
            lines,
            exit,
            stop: () => child.kill('SIGKILL'),
            exited: false,
          });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exit.then(() => resolve({ port: 0, lines, exit, stop: () => {}, exited: true }));
  });
}

test('a function that cannot listen exits non-zero and says why', async (t) => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as net.AddressInfo).port;
  try {
    const s = await start({
      PORT: String(port),
      HANDLER_MODULE: handler('finalize'),
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    t.true(s.exited, 'it did not stay up');
    t.is(await s.exit, 1);
    const failed = s.lines.find((l) => l.includes('function_listen_failed'));
    t.truthy(failed, s.lines.join('\n'));
    t.regex(failed!, /EADDRINUSE/);
    t.false(s.lines.some((l) => l.includes('"function_listening"')));
  } finally {
    holder.close();
  }
});

test('with its database away: unhealthy with the reason, and 503 (not 500) to a call', async (t) => {
  const s = await start({
    PORT: '0',
    HANDLER_MODULE: handler('init-execution'),
    DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    FUNCTION_NAME: 'init-execution',
  });
  try {
    t.false(s.exited);
    const h = await request(`http://127.0.0.1:${s.port}/_/health`);
    t.is(h.statusCode, 503);
    t.regex(((await h.body.json()) as { reason: string }).reason, /database does not answer/);
    const r = await request(`http://127.0.0.1:${s.port}/`, {
      method: 'POST',
      body: JSON.stringify({ asOf: TEST_TODAY, dryRun: true }),
      headers: { 'content-type': 'application/json' },
    });
    t.is(r.statusCode, 503);
    t.is(r.headers['retry-after'], '30');
    const body = (await r.body.json()) as { error: string; reason: string };
    t.is(body.error, 'database_unavailable');
    t.regex(body.reason, /try again/);
    t.false(body.reason.includes('nobody@'), 'no connection string in the answer');
  } finally {
    s.stop();
  }
});

test('a non-empty body must be JSON: 415 with what to send instead', async (t) => {
  const s = await start({
    PORT: '0',
    HANDLER_MODULE: handler('finalize'),
    DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
  });
  try {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
      const r = await request(`http://127.0.0.1:${s.port}/`, {
        method: 'POST',
        body: '{"executionId":1}',
        headers: type ? { 'content-type': type } : {},
      });
      t.is(r.statusCode, 415, type);
      t.regex(((await r.body.json()) as { reason: string }).reason, /Content-Type: application\/json/);
    }
  } finally {
    s.stop();
  }
});

test('a body over the limit sent whole, without Expect: the client reads the 413 and its reason, not a reset', async (t) => {
  const s = await start({
    PORT: '0',
    HANDLER_MODULE: handler('finalize'),
    DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
  });
  try {
    const r = await postWholeBody(`http://127.0.0.1:${s.port}/`, 4_400_000);
    t.is(r.status, 413);
    t.regex(JSON.parse(r.body).reason, /over 262144 bytes/);
  } finally {
    s.stop();
  }
});

test("the template serves a handler module without hooks: healthy, no metrics, the handler's own answer", async (t) => {
  const s = await start({ PORT: '0', HANDLER_MODULE: SAMPLE_HANDLER });
  try {
    const health = await request(`http://127.0.0.1:${s.port}/_/health`);
    t.is(health.statusCode, 200);
    t.deepEqual(await health.body.json(), { status: 'ok' });
    const metrics = await request(`http://127.0.0.1:${s.port}/metrics`);
    t.is(metrics.statusCode, 404);
    await metrics.body.dump();
    const call = await request(`http://127.0.0.1:${s.port}/anything?a=1&list=x&list=y`, { method: 'POST', body: '{}' });
    t.is(call.statusCode, 501);
    // A name given twice (a form's checkboxes) is one comma list.
    t.like(await call.body.json(), { error: 'not_implemented', path: '/anything', query: { a: '1', list: 'x,y' } });
  } finally {
    s.stop();
  }
});
