// CLI: run the simulator on a fixed port for manual use (curl) or for other processes.
//
//   node dist/dev/simulator/main.js --port 8090 --universe sample --today 2026-11-20 --time 21:30 --state-file .sim-state.json
//
// Other flags: --host, --api-key, --plan free|eod-only|all-in-one, --daily-limit, --extra-limit,
// --per-minute-limit, --shared-dir, --fresh-counter (/user moves to a new day at once
// instead of showing the last active day until the day's first charged call),
// --bad-ticks none|default|kind=rate,... and --corrections none|default|RATE (bad data as
// EODHD has it, quality.ts; both 'default' here, 'none' in the library).
// It prints the base URL; the key is not printed (it is the one you passed, or the
// documented default). Ctrl-C closes it and saves the state file.

import { PLAN_NAMES, parseBadTicksArg, parseCorrectionsArg, type SimulatorOptions, startSimulator } from './index.js';
import { isPlanName } from './plans.js';

function parseArgs(argv: string[]): SimulatorOptions {
  const o: SimulatorOptions = {};
  const num = (name: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n)) throw new Error(`${name} needs a number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--port':
        o.port = num(flag, value());
        break;
      case '--host':
        o.host = value();
        break;
      case '--universe': {
        const v = value();
        if (v !== 'sample' && v !== 'full') throw new Error('--universe is sample or full');
        o.universe = v;
        break;
      }
      case '--today':
        o.today = value();
        break;
      case '--time':
        o.time = value();
        break;
      case '--fresh-counter':
        if (inline !== undefined) throw new Error('--fresh-counter takes no value');
        o.staleCounter = false;
        break;
      case '--state-file':
        o.stateFile = value();
        break;
      case '--api-key':
        o.apiKey = value();
        break;
      case '--daily-limit':
        o.dailyLimit = num(flag, value());
        break;
      case '--extra-limit':
        o.extraLimit = num(flag, value());
        break;
      case '--plan': {
        const v = value();
        if (!isPlanName(v)) throw new Error(`--plan is one of ${PLAN_NAMES.join(', ')}`);
        o.plan = v;
        break;
      }
      case '--per-minute-limit':
        o.perMinuteLimit = num(flag, value());
        break;
      case '--shared-dir':
        o.sharedDir = value();
        break;
      case '--bad-ticks': {
        const v = value();
        if (v === undefined) throw new Error('--bad-ticks needs none, default or kind=rate,...');
        o.badTicks = parseBadTicksArg(v);
        break;
      }
      case '--corrections': {
        const v = value();
        if (v === undefined) throw new Error('--corrections needs none, default or a rate');
        o.corrections = parseCorrectionsArg(v);
        break;
      }
      case '-h':
      case '--help':
        process.stdout.write(
          'usage: main.js [--port N] [--host H] [--universe sample|full] [--today YYYY-MM-DD] [--time HH:MM] [--fresh-counter] [--state-file F] [--api-key K] [--plan free|eod-only|all-in-one] [--daily-limit N] [--extra-limit N] [--per-minute-limit N] [--shared-dir D] [--bad-ticks none|default|kind=rate,...] [--corrections none|default|RATE]\n',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  return o;
}

async function main(): Promise<void> {
  let opts: SimulatorOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
  const sim = await startSimulator({ port: 8090, badTicks: 'default', corrections: 'default', ...opts });
  process.stdout.write(
    `EODHD simulator listening on ${sim.url}\n` +
      `  plan: ${sim.plan}; universe: ${opts.universe ?? 'sample'} (${sim.symbols().length} active common stocks, ${sim.universeSource === 'files' ? 'from the ticker files' : 'generated: no ticker files found'}), now: ${sim.now()}, US published through: ${sim.publishedThrough('US')}\n` +
      `  bad data: --bad-ticks ${JSON.stringify(opts.badTicks ?? 'default')}, --corrections ${JSON.stringify(opts.corrections ?? 'default')} (ground truth: GET .../__sim/bad-ticks?from=&to=, .../__sim/late-corrections?from=&to=)\n` +
      `  try: curl "${sim.url}/eod/AAPL.US?fmt=json&from=2026-11-01&api_token=$KEY"\n` +
      `  admin: GET ${sim.url.replace(/\/api$/, '')}/__sim/state, POST .../__sim/advance?days=1, POST .../__sim/clock?at=ISO, POST .../__sim/faults\n`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`simulator failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
