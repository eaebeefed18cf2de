// `npm run build`, and the first half of every npm script: compiles TypeScript into dist/
// when a source changed since the last build, and does nothing (in a few milliseconds)
// when none did. Plain JavaScript because it runs before anything is compiled.
//
// The sources' paths, sizes and modification times are hashed into dist/.sources; tsc
// runs (incrementally) only when that hash differs. Output whose source was deleted is
// removed, so that a deleted test does not go on running from dist/.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dist = path.join(root, 'dist');
const stampFile = path.join(dist, '.sources');
const FOLDERS = ['functions', 'shared', 'dev', 'test', 'bench', 'templates'];
const FILES = ['tsconfig.json', 'package-lock.json', 'templates/node20-ts/bundle.mjs'];

const sources = FOLDERS.flatMap((d) =>
  fs.existsSync(path.join(root, d))
    ? fs
        .readdirSync(path.join(root, d), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(d, f))
    : [],
).sort();
const hash = createHash('sha256');
for (const f of [...sources, ...FILES]) {
  const st = fs.statSync(path.join(root, f), { throwIfNoEntry: false });
  hash.update(`${f}\0${st?.size}\0${st?.mtimeMs}\n`);
}
const stamp = hash.digest('hex');
const force = process.argv.includes('--force');
if (!force && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) process.exit(0);

// Compiled files whose source is gone.
const wanted = new Set(sources.map((f) => f.replace(/\.ts$/, '')));
for (const d of FOLDERS.filter((x) => fs.existsSync(path.join(dist, x)))) {
  for (const f of fs.readdirSync(path.join(dist, d), { recursive: true, encoding: 'utf8' })) {
    const base = path.join(d, f).replace(/\.js(\.map)?$/, '');
    if (/\.js(\.map)?$/.test(f) && !wanted.has(base)) fs.rmSync(path.join(dist, d, f));
  }
}
fs.rmSync(stampFile, { force: true });
try {
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: root,
    stdio: 'inherit',
  });
} catch {
  // tsc printed the errors; the next build compiles everything again.
  fs.rmSync(path.join(dist, '.tsbuildinfo'), { force: true });
  process.exit(1);
}
// Each function as the one file its image runs (templates/node20-ts/bundle.mjs), which the
// local gateway starts too: dist/bundles/<handler folder>.mjs.
const { bundleFunction } = await import('../templates/node20-ts/bundle.mjs');
const folders = fs
  .readdirSync(path.join(root, 'functions'))
  .filter((f) => fs.existsSync(path.join(root, 'functions', f, 'handler.ts')));
fs.rmSync(path.join(dist, 'bundles'), { recursive: true, force: true });
try {
  await Promise.all(folders.map((f) => bundleFunction(root, f, path.join(dist, 'bundles', `${f}.mjs`))));
} catch (err) {
  console.error(`bundling the functions failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  process.exit(1);
}
fs.writeFileSync(stampFile, stamp);
