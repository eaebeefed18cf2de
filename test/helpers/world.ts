/**
 * What most tests run against: a fresh, migrated database of their own and an EODHD
 * simulator on its own port, its clock at the same Friday, its per-minute limit out of
 * the way.
 */
import { type PlanName, type Simulator, startSimulator } from '../../dev/simulator/index.js';
import { createTestDb, type TestDb } from './db.js';

export const TEST_TODAY = '2026-11-20';

export interface World {
  tdb: TestDb;
  sim: Simulator;
}

export interface WorldOptions {
  universe?: 'sample' | 'full';
  apiKey?: string;
  plan?: PlanName;
  dailyLimit?: number;
  extraLimit?: number;
}

export async function openWorld(opts: WorldOptions = {}): Promise<World> {
  const tdb = await createTestDb();
  const sim = await startSimulator({
    universe: opts.universe ?? 'sample',
    today: TEST_TODAY,
    perMinuteLimit: 100_000,
    apiKey: opts.apiKey,
    plan: opts.plan,
    dailyLimit: opts.dailyLimit,
    extraLimit: opts.extraLimit,
  });
  return { tdb, sim };
}

/** Closes what openWorld opened (either may be missing when the opening failed). */
export async function closeWorld(tdb: TestDb | undefined, sim: Simulator | undefined): Promise<void> {
  await sim?.close();
  await tdb?.drop();
}

/** A world for the length of fn. */
export async function withWorld<T>(opts: WorldOptions, fn: (w: World) => Promise<T>): Promise<T> {
  const w = await openWorld(opts);
  try {
    return await fn(w);
  } finally {
    await closeWorld(w.tdb, w.sim);
  }
}
