/**
 * Sends a POST the way Node's fetch and most HTTP libraries do: headers and the whole body
 * (no `Expect: 100-continue`), and only then reads the answer. A server that refuses the
 * body and closes before reading it resets this client mid-send: the promise rejects with
 * the socket's error (EPIPE, ECONNRESET) instead of giving the refusal.
 */
import net from 'node:net';

export async function postWholeBody(
  url: string,
  bytes: number,
): Promise<{ status: number; headers: string; body: string }> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  const received: Buffer[] = [];
  socket.on('data', (c: Buffer) => received.push(c));
  const closed = new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
  closed.catch(() => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunk = Buffer.alloc(64 * 1024, 'x');
  socket.write(
    `POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${bytes}\r\nConnection: close\r\n\r\n`,
  );
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    const part = sent + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - sent);
    if (!socket.write(part)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
  }
  // Everything is sent: now, and only now, read the answer to its end.
  await new Promise<void>((resolve, reject) => socket.end(() => resolve()).once('error', reject));
  await closed;
  const text = Buffer.concat(received).toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const headers = text.slice(0, split);
  return {
    status,
    headers,
    body: /transfer-encoding: chunked/i.test(headers) ? dechunk(text.slice(split + 4)) : text.slice(split + 4),
  };
}

/** The body of a chunked answer: each chunk is its size in hex, CRLF, the bytes, CRLF; a 0 size ends it. */
function dechunk(raw: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    const size = Number.parseInt(raw.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}
