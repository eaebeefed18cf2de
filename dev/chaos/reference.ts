/**
 * The clean reference: the same days the scenarios run, collected once without any chaos
 * (in-process, on its own database and simulator), and what it stored after each day.
 * A scenario's stored prices must equal it (for assets whose work all ended done) or at
 * least agree with it bar by bar (for all others).
 */

import { createPool } from '../../shared/platform/db.js';
import { migrate } from '../../shared/store/migrate.js';
import { inProcessPipeline } from '../in-process.js';
import { startSimulator } from '../simulator/index.js';
import { type ChaosConfig, createDatabase, dropDatabase } from './env.js';
import { type Bar, pricesBySymbol } from './invariants.js';

export interface Reference {
  /** Stored prices after each day, by symbol. */
  prices: Array<Map<string, Bar[]>>;
  /** What the API charged each day. */
  calls: number[];
  /** Status of each day's run. */
  statuses: string[];
  seconds: number;
}

/**
 * Runs fn with this process's stdout going to `lines` (the in-process pipeline logs there;
 * the suite's own output, JSON included, must stay clean).
 */
async function capturingStdout<T>(lines: string[], fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(
      ...String(chunk)
        .split('\n')
        .filter((l) => l.trim()),
    );
    const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

export async function buildReference(cfg: ChaosConfig, days: number, logs: string[] = []): Promise<Reference> {
  return capturingStdout(logs, () => build(cfg, days));
}

async function build(cfg: ChaosConfig, days: number): Promise<Reference> {
  const started = Date.now();
  const name = `chaos_reference_${Date.now().toString(36)}`;
  const url = await createDatabase(cfg.server.url, name);
  const pool = createPool(url, 8);
  const sim = await startSimulator({
    universe: 'sample',
    today: cfg.today,
    perMinuteLimit: Math.ceil(cfg.requestsPerMinute / 0.9),
    apiKey: cfg.apiKey,
  });
  try {
    await migrate(pool);
    const p = await inProcessPipeline(pool, sim.url, { apiKey: cfg.apiKey, requestsPerMinute: cfg.requestsPerMinute });
    const ref: Reference = { prices: [], calls: [], statuses: [], seconds: 0 };
    for (let day = 0; day < days; day++) {
      if (day > 0) sim.advanceTradingDays(1);
      const id = await p.run();
      ref.statuses.push(
        (await pool.query<{ status: string }>('SELECT status FROM process_executions WHERE execution_id = $1', [id]))
          .rows[0]!.status,
      );
      ref.calls.push(sim.usage().calls);
      ref.prices.push(await pricesBySymbol(pool));
    }
    ref.seconds = (Date.now() - started) / 1000;
    return ref;
  } finally {
    await sim.close();
    await pool.end();
    await dropDatabase(cfg.server.url, name).catch(() => {});
  }
}
