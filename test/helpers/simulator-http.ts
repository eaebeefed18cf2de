/**
 * Talking to a simulator over HTTP as a client would: its /api paths with the key, its
 * admin routes, and a simulator started from the ticker files beside the project when
 * they are there.
 */
import path from 'node:path';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../dev/simulator/index.js';

export const SHARED = process.env.SHARED_DIR ?? path.resolve(process.cwd(), '..', 'shared');
export const KEY = 'sim-demo-key';
export const EXCHANGES = ['US', 'LSE', 'F', 'XETRA', 'PA', 'AS', 'BR', 'LS', 'MC', 'SW'];

export function start(opts: SimulatorOptions = {}): Promise<Simulator> {
  return startSimulator({ sharedDir: SHARED, ...opts });
}

export interface Resp {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: answers of any JSON shape, read field by field in the tests
  json: any;
}

/** GET an /api path with the key (or another, or none). */
export async function get(
  sim: Simulator,
  p: string,
  params: Record<string, string> = {},
  key: string | null = KEY,
): Promise<Resp> {
  const u = new URL(sim.url + p);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  if (key !== null) u.searchParams.set('api_token', key);
  const r = await fetch(u);
  const text = await r.text();
  // biome-ignore lint/suspicious/noExplicitAny: answers of any JSON shape, read field by field in the tests
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

/** An admin route (/__sim/...), with a JSON body when given. */
export async function admin(
  sim: Simulator,
  method: 'GET' | 'POST',
  p: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: answers of any JSON shape, read field by field in the tests
): Promise<{ status: number; json: any }> {
  const r = await fetch(sim.url.replace(/\/api$/, '') + p, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  return { status: r.status, json: await r.json() };
}
