/**
 * `npm run serve`: the gateway and the six functions on 127.0.0.1:8080 (PORT to change),
 * with the database and the simulator as `npm start` has them, until Ctrl-C. The README's
 * curl examples work against it as against the cluster.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalStack } from './local-stack.js';

const { values } = parseArgs({ options: { universe: { type: 'string', default: 'sample' }, 'data-dir': { type: 'string' } } });
const universe = values.universe === 'full' ? 'full' : 'sample';
const dataDir = path.resolve(values['data-dir'] ?? path.join('.data', universe));
const stack = await startLocalStack({
  dataDir, gatewayPort: Number(process.env.PORT ?? 8080), functionLog: 'stdout',
  simulator: { universe, today: new Date().toISOString().slice(0, 10), port: Number(process.env.SIM_PORT ?? 0) || undefined },
});
console.log(JSON.stringify({ event: 'serving', gateway: stack.gateway.url, api: stack.apiBaseUrl.replace(/api_token=[^&]+/, 'api_token=***'), database: stack.databaseUrl.replace(/:[^:@/]+@/, ':***@'), data: dataDir }));
const stop = async () => { await stack.close(); process.exit(0); };
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
