/**
 * The node20-ts template, checked against what faas-cli does with it, offline.
 *
 * `faas-cli build` (or `--shrinkwrap`) writes one build context per function: the template
 * folder at its root, the handler folder's files in function/, and every
 * `configuration.copy` entry of stack.yml in function/<entry>. Docker then runs the
 * template's Dockerfile on that context. These tests read the Dockerfile's instructions,
 * lay out the build stage's COPYs from the repository into a temporary folder, compile it
 * with the image's own tsc command, and check that the runtime stage finds what it runs.
 */

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { request } from 'undici';
import { loadYaml, StackFile, TemplateFile } from '../dev/gateway/stack.js';

const root = process.cwd();
const templateDir = path.join(root, 'templates', 'node20-ts');
const stack = loadYaml(path.join(root, 'stack.yml'), StackFile);
const copied = stack.configuration?.copy ?? [];

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  platform: string | null;
  name: string | null;
  body: Instruction[];
}

/** The Dockerfile's instructions by stage (continuation lines joined, comments dropped). */
function dockerfileStages(): Stage[] {
  const text = fs.readFileSync(path.join(templateDir, 'Dockerfile'), 'utf8');
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim());
  const stages: Stage[] = [];
  for (const line of lines.filter((l) => l !== '' && !l.startsWith('#'))) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const from = /^(?:--platform=(\S+)\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
    if (keyword === 'FROM' && from)
      stages.push({ platform: from[1] ?? null, from: from[2]!, name: from[3] ?? null, body: [] });
    else stages.at(-1)?.body.push({ keyword, args });
  }
  return stages;
}

/** KEY=value and KEY="value" pairs of a stage's ENV instructions. */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.body.filter((i) => i.keyword === 'ENV')) {
    for (const m of args.matchAll(/(\w+)=(?:"([^"]*)"|(\S+))/g)) env[m[1]!] = m[2] ?? m[3]!;
  }
  return env;
}

/** Where a path of the build context comes from in the repository, for the function's handler folder. */
function repoPathOf(contextPath: string, handlerFolder: string): string {
  const [top, ...rest] = contextPath.split('/');
  if (top !== 'function') return path.join(templateDir, contextPath);
  const inner = rest.join('/');
  const entry = copied.find((c) => inner === c || inner.startsWith(`${c}/`));
  return entry ? path.join(root, inner) : path.join(root, 'functions', handlerFolder, inner);
}

/** The repository files a COPY source names (a file, a folder, or *.ts in a folder). */
function sourcesOf(contextPath: string, handlerFolder: string): string[] {
  if (!contextPath.endsWith('*.ts')) return [repoPathOf(contextPath.replace(/\/$/, ''), handlerFolder)];
  const dir = repoPathOf(path.posix.dirname(contextPath), handlerFolder);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

const stages = dockerfileStages();
const build = stages.find((s) => s.name === 'build');
const ship = stages.at(-1);

test("template.yml is a faas-cli template for node20-ts whose fprocess is the Dockerfile's", (t) => {
  const tpl = loadYaml(path.join(templateDir, 'template.yml'), TemplateFile);
  t.is(tpl.language, path.basename(templateDir));
  t.is(tpl.fprocess, ship ? (envOf(ship).fprocess ?? '') : '');
  t.true(
    fs.existsSync(path.join(templateDir, 'function', 'handler.ts')),
    'faas-cli new copies function/ as the new handler',
  );
});

test('Dockerfile stages: pinned watchdog, node:20-alpine build and ship, each for the target platform', (t) => {
  t.deepEqual(
    stages.map((s) => [s.name, s.from.replace(/:\d+\.\d+\.\d+$/, ':X.Y.Z')]),
    [
      ['watchdog', 'ghcr.io/openfaas/of-watchdog:X.Y.Z'],
      ['build', 'node:20-alpine'],
      ['ship', 'node:20-alpine'],
    ],
  );
  for (const s of stages) t.is(s.platform, '${TARGETPLATFORM:-linux/amd64}', `${s.name}: multi-arch`);
});

test('Dockerfile ship stage: http mode to the entrypoint, numeric non-root user, health check, fwatchdog', (t) => {
  if (!ship) return t.fail('no stage');
  const env = envOf(ship);
  t.like(env, {
    fprocess: 'node /home/app/dist/function.mjs',
    HANDLER_MODULE: '/home/app/dist/functions/${HANDLER_FOLDER}/handler.js',
    mode: 'http',
    upstream_url: 'http://127.0.0.1:3000',
    prefix_logs: 'false',
  });
  const of = (k: string) => ship.body.filter((i) => i.keyword === k).map((i) => i.args);
  t.regex(of('USER').at(-1) ?? '', /^[1-9]\d*:[1-9]\d*$/, 'runAsNonRoot can verify a numeric user');
  t.regex(of('HEALTHCHECK')[0] ?? '', /http:\/\/127\.0\.0\.1:8080\/_\/health/);
  t.deepEqual(of('CMD'), ['["fwatchdog"]']);
  t.deepEqual(
    of('COPY')
      .filter((a) => a.startsWith('--from=build'))
      .map((a) => a.split(/\s+/)[1]),
    ['/home/app/package.json', '/home/app/node_modules', '/home/app/dist', '/home/app/sql'],
  );
});

test('every path the build stage copies is in the build context faas-cli writes, for every function', (t) => {
  const copies = (build?.body ?? []).filter((i) => i.keyword === 'COPY');
  t.true(copies.length > 0);
  for (const [name, fn] of Object.entries(stack.functions)) {
    const folder = fn.build_args?.HANDLER_FOLDER ?? 'function';
    for (const { args } of copies) {
      for (const src of args.split(/\s+/).slice(0, -1)) {
        const files = sourcesOf(src, folder);
        t.true(files.length > 0 && files.every((f) => fs.existsSync(f)), `${name}: COPY ${src}`);
      }
    }
  }
});

test('the template .dockerignore keeps out nothing the Dockerfile copies', (t) => {
  const ignored = fs
    .readFileSync(path.join(templateDir, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/^\*\*\//, ''));
  const copiedNames = (build?.body ?? [])
    .filter((i) => i.keyword === 'COPY')
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
    .flatMap((p) => p.split('/'));
  t.deepEqual(
    copiedNames.filter((n) => ignored.includes(n)),
    [],
  );
  t.true(ignored.includes('node_modules'), 'a local node_modules never reaches the image');
});

test('functions, shared/ and the entrypoint import only node:, their own tree and production dependencies', (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
  const files = ['functions', 'shared', 'templates'].flatMap((d) =>
    fs
      .readdirSync(path.join(root, d), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(d, f)),
  );
  const problems: string[] = [];
  for (const file of files) {
    const source = fs.readFileSync(path.join(root, file), 'utf8');
    for (const m of source.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/gm)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('.')) {
        const target = path.relative(root, path.resolve(root, path.dirname(file), spec));
        if (!/^(shared|functions|templates)\//.test(target))
          problems.push(`${file}: ${spec} leaves what the image holds`);
      } else if (
        !spec.startsWith('node:') &&
        !allowed.has(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!)
      ) {
        problems.push(`${file}: ${spec} is not a production dependency (npm prune removes it)`);
      }
    }
  }
  t.deepEqual(problems, []);
});

test("the build stage lays out the repository tree, it compiles with the image's tsc and bundles, and what the ship stage runs serves", async (t) => {
  const fn = stack.functions['collect-region'];
  const folder = fn?.build_args?.HANDLER_FOLDER ?? 'function';
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'image-'));
  t.teardown(() => fs.rmSync(app, { recursive: true, force: true }));
  // COPY <source>... <destination> relative to WORKDIR /home/app (the only WORKDIR).
  for (const { args } of (build?.body ?? []).filter((i) => i.keyword === 'COPY')) {
    const words = args.replaceAll('${HANDLER_FOLDER}', folder).split(/\s+/);
    const dest = words.pop()!;
    for (const file of words.flatMap((src) => sourcesOf(src, folder))) {
      // A folder's contents go into the destination; files go into it when it ends in /.
      const into = dest.endsWith('/') && !fs.statSync(file).isDirectory() ? path.join(dest, path.basename(file)) : dest;
      fs.cpSync(file, path.join(app, into), { recursive: true });
    }
  }
  const run = (build?.body ?? []).find((i) => i.keyword === 'RUN' && i.args.includes('tsc'))?.args ?? '';
  const config = /tsc -p (\S+)/.exec(run)?.[1];
  t.is(config, 'tsconfig.image.json');
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(app, 'node_modules'), 'dir');
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config ?? ''], {
      cwd: app,
      stdio: 'pipe',
    });
  } catch (err) {
    const e = err as { stdout?: Buffer };
    return t.fail(`tsc in the image layout: ${e.stdout?.toString() ?? String(err)}`);
  }
  // The bundle step, as the same RUN runs it after tsc.
  const bundleStep = /node (\S+bundle\.mjs) "\$\{HANDLER_FOLDER\}" (\S+)/.exec(run);
  t.truthy(bundleStep, 'the build stage bundles the function');
  execFileSync(process.execPath, [bundleStep![1]!, folder, bundleStep![2]!], { cwd: app, stdio: 'pipe' });
  const inImage = (p: string) => path.join(app, p.replace(/^\/home\/app\//, ''));
  const env = envOf(ship!);
  const handler = inImage(env.HANDLER_MODULE!.replace('${HANDLER_FOLDER}', folder));
  t.true(fs.existsSync(inImage(env.fprocess!.replace(/^node /, ''))), 'the entrypoint');
  t.true(fs.existsSync(handler), 'the handler');
  t.true(
    fs.existsSync(inImage('dist/shared/store/migrate-cli.js')),
    "the migration Job's script (k8s/jobs/migrate.yaml)",
  );
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `console.log(typeof (await import(${JSON.stringify(pathToFileURL(handler).href)})).default)`,
    ],
    { cwd: app },
  );
  t.is(out.toString().trim(), 'function', 'the compiled handler loads as an ES module with a default export');
  // What fprocess runs serves: it listens and answers its health check (503: no database here).
  const child = spawn(process.execPath, [inImage(env.fprocess!.replace(/^node /, ''))], {
    cwd: app,
    env: { ...process.env, PORT: '0', DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none', upstream_url: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /"function_listening"[^\n]*"port":(\d+)[^\n]*"handler":"collect-region"/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the bundle exited with ${code}: ${buf}`)));
  });
  const res = await request(`http://127.0.0.1:${port}/_/health`);
  t.is(res.statusCode, 503);
  t.regex(((await res.body.json()) as { reason: string }).reason, /the database does not answer/);
});
