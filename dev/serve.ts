/**
 * `npm run serve`: the gateway and stack.yml's functions on 127.0.0.1:8080 (PORT to
 * change), with the database and the simulator as `npm start` has them, until Ctrl-C. It
 * runs stack.yml's schedules as the cron-connector would (init-execution at 21:30 UTC on
 * weekdays, resume-runs every 10 minutes): left running, it is the daily pipeline.
 *
 *   npm run serve -- [--universe sample|full|synthetic:N] [--plan free|eod-only|all-in-one] [--data-dir DIR] [--no-cron]
 *
 * faas-cli works against it: faas-cli login -g http://127.0.0.1:8080 -u admin --password-stdin
 * (the password is printed on the first start and kept in DATA/gateway/basic-auth-password).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { errorText } from '../shared/platform/log.js';
import { startLocalStack } from './local-stack.js';
import { isUniverseOption, PLAN_NAMES, parseUniverse } from './simulator/index.js';
import { isPlanName } from './simulator/plans.js';

const { values } = parseArgs({
  options: {
    universe: { type: 'string', default: 'sample' },
    plan: { type: 'string', default: 'all-in-one' },
    'data-dir': { type: 'string' },
    'no-cron': { type: 'boolean', default: false },
  },
});
if (!isUniverseOption(values.universe)) {
  console.error(`--${parseUniverse(values.universe)}`);
  process.exit(2);
}
if (!isPlanName(values.plan)) {
  console.error(`--plan must be one of ${PLAN_NAMES.join(', ')}, not ${values.plan}`);
  process.exit(2);
}
const universe = values.universe;
const plan = values.plan;
const dataDir = path.resolve(
  values['data-dir'] ?? path.join('.data', plan === 'all-in-one' ? universe : `${universe}-${plan}`),
);
const port = Number(process.env.PORT ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, not ${process.env.PORT}`);
  process.exit(2);
}
let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({
    dataDir,
    gatewayPort: port,
    functionLog: 'stdout',
    cron: !values['no-cron'],
    simulator: {
      universe,
      plan,
      today: new Date().toISOString().slice(0, 10),
      port: Number(process.env.SIM_PORT ?? 0) || undefined,
    },
  });
} catch (err) {
  console.error(`npm run serve could not start: ${errorText(err)}`);
  process.exit(1);
}
const c = stack.gateway.credentials;
console.log(
  JSON.stringify({
    event: 'serving',
    gateway: stack.gateway.url,
    api: stack.apiBaseUrl.replace(/api_token=[^&]+/, 'api_token=***'),
    database: stack.databaseUrl.replace(/:[^:@/]+@/, ':***@'),
    data: dataDir,
    functions: stack.gateway.functions.map((f) => f.name),
    schedules: stack.gateway.schedules(),
  }),
);
if (c.generated) {
  // Printed once: the first start generates it and keeps it beside the data.
  console.log(`Admin password of ${stack.gateway.url}/system/* (faas-cli login -u admin): ${c.password}`);
  if (c.dir) console.log(`  kept in ${path.join(c.dir, 'basic-auth-password')}`);
} else if (process.env.OPENFAAS_PASSWORD) {
  console.log(`Admin password of ${stack.gateway.url}/system/*: OPENFAAS_PASSWORD`);
} else if (c.dir) {
  console.log(
    `faas-cli login -g ${stack.gateway.url} -u admin --password-stdin < ${path.join(c.dir, 'basic-auth-password')}`,
  );
}
const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
