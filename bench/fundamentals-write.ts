/**
 * `npm run build --silent && node dist/bench/fundamentals-write.js [--documents 1000]`
 *
 * The fundamentals write path alone: N simulated company documents written as collect-item
 * writes them (one transaction each, the document's versions, statements and earnings
 * reports included), on a first load and on a refetch 30 days later, into an embedded
 * PostgreSQL. Prints the milliseconds per document, by the clock and in CPU. Not a test: numbers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalPostgres } from '../dev/embedded-postgres.js';
import { startSimulator } from '../dev/simulator/index.js';
import type { Fundamentals } from '../shared/eodhd/schemas.js';
import { createPool } from '../shared/platform/db.js';
import { upsertFundamentals } from '../shared/store/fundamentals.js';
import { migrate } from '../shared/store/migrate.js';
import { postmasterPid, treeCpuSeconds } from './proc.js';

const { values } = parseArgs({ options: { documents: { type: 'string', default: '1000' } } });
const n = Number(values.documents);

const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fundamentals-write-')), 'data');
const pg = await startLocalPostgres({ quiet: true, dataDir, persistent: false });
const pool = createPool(pg.url, 4);
const sim = await startSimulator({ universe: 'synthetic:3000', today: '2026-03-02', perMinuteLimit: 1_000_000 });
try {
  await migrate(pool);
  const symbols = sim
    .symbols(['Common Stock'])
    .filter((s) => sim.hasFundamentals(s))
    .slice(0, n);
  const ids: number[] = [];
  for (const s of symbols) {
    const [code, exchange] = s.split('.');
    const r = await pool.query<{ id: string }>(
      `INSERT INTO assets (symbol, code, exchange, region) VALUES ($1, $2, $3, 'us') RETURNING id`,
      [s, code, exchange],
    );
    ids.push(Number(r.rows[0]!.id));
  }
  const pid = postmasterPid(dataDir);
  const fetchAll = async () => {
    const docs: Fundamentals[] = [];
    for (const s of symbols) {
      const u = new URL(`${sim.url}/fundamentals/${encodeURIComponent(s)}`);
      u.searchParams.set('api_token', 'sim-demo-key');
      docs.push((await (await fetch(u)).json()) as Fundamentals);
    }
    return docs;
  };
  for (const [label, day] of [
    ['first load', '2026-03-02'],
    ['refetch 30 days later', '2026-04-01'],
  ] as const) {
    if (day !== '2026-03-02') sim.setClock(`${day}T21:30:00Z`);
    const docs = await fetchAll();
    // CPU seconds as well as the clock: on a busy machine the clock measures the neighbours too.
    const pg0 = treeCpuSeconds(pid) ?? 0;
    const node0 = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < docs.length; i++) {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        await upsertFundamentals(c, ids[i]!, docs[i]!, day);
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    }
    const ms = performance.now() - started;
    const nodeCpu = process.cpuUsage(node0);
    const pgMs = (((treeCpuSeconds(pid) ?? 0) - pg0) * 1000) / docs.length;
    console.log(
      `${label}: ${docs.length} documents, ${(ms / docs.length).toFixed(2)} ms each (clock); CPU per document: ` +
        `PostgreSQL ${pgMs.toFixed(2)} ms, Node ${((nodeCpu.user + nodeCpu.system) / 1000 / docs.length).toFixed(2)} ms`,
    );
  }
} finally {
  await sim.close();
  await pool.end();
  await pg.stop();
}
