/**
 * Packaging checks, all offline (no Docker, no cluster): stack.yml, the node20-ts
 * template's Dockerfile, and the k8s/ manifests.
 *
 * The last tests rebuild, in a temporary folder, what `faas-cli build --shrinkwrap` writes
 * for a function (template files at the context root, the handler folder in function/,
 * every `configuration.copy` entry in function/<path>), then play the Dockerfile's COPY
 * instructions against it, compile the resulting tree with the same tsc command the image
 * runs, and check that the runtime stage ends up with everything the entrypoint, the
 * handler and the migration Job need. A Dockerfile that would fail, or produce an image
 * that cannot start, fails here.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

// ---------------------------------------------------------------------------------------
// Where things are
// ---------------------------------------------------------------------------------------

const here = path.dirname(fileURLToPath(import.meta.url));

function findRoot(): string {
  let dir = here;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'templates'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

const root = findRoot();
const TEMPLATE = 'node20-ts';
const templateDir = path.join(root, 'templates', TEMPLATE);
const dockerfilePath = path.join(templateDir, 'Dockerfile');

/** Function name -> handler folder name under functions/. */
const EXPECTED: Record<string, string> = {
  'init-execution': 'init-execution',
  'discover-delta': 'discover-delta',
  'check-quota': 'check-quota',
  'collect-region': 'collect-region',
  finalize: 'finalize',
  'calc-indicators': 'calc-indicators',
  'resume-runs': 'init-execution',
};
/** The functions whose code calls EODHD (shared/discover.ts, shared/collect.ts). */
// check-quota reads /user (free) to reconcile the day's usage; discover-delta and collect-region fetch data.
const NEEDS_API_KEY = new Set(['discover-delta', 'check-quota', 'collect-region', 'resume-runs']);
const LONG_RUNNING = new Set(['collect-region', 'calc-indicators']);
const KNOWN_SECRETS = new Set(['database-url', 'eodhd-api-key']);
const REQUIRED_COPY = ['shared', 'sql', 'package.json', 'package-lock.json', 'tsconfig.json'];

// ---------------------------------------------------------------------------------------
// stack.yml
// ---------------------------------------------------------------------------------------

interface Resources {
  memory?: string;
  cpu?: string;
}

interface StackFunction {
  lang?: string;
  handler?: string;
  image?: string;
  environment?: Record<string, unknown>;
  secrets?: string[];
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  limits?: Resources;
  requests?: Resources;
  readonly_root_filesystem?: boolean;
  build_args?: Record<string, unknown>;
}

interface Stack {
  version?: unknown;
  provider?: { name?: string; gateway?: string };
  configuration?: { copy?: string[] };
  functions: Record<string, StackFunction>;
}

function readStack(): { text: string; stack: Stack } {
  const text = fs.readFileSync(path.join(root, 'stack.yml'), 'utf8');
  return { text, stack: parse(text) as Stack };
}

function envOf(fn: StackFunction): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fn.environment ?? {})) out[k] = String(v);
  return out;
}

function buildArgsOf(fn: StackFunction): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fn.build_args ?? {})) out[k] = String(v);
  return out;
}

function handlerFolder(fn: StackFunction): string {
  return path.resolve(root, fn.handler ?? '');
}

// ---------------------------------------------------------------------------------------
// Units
// ---------------------------------------------------------------------------------------

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000,
};

/** A Go time.Duration string in milliseconds, or null when Go would reject it. */
function goDurationMs(value: string): number | null {
  if (value === '0') return 0;
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  let rest = value;
  let total = 0;
  if (!rest) return null;
  while (rest.length > 0) {
    const m = part.exec(rest);
    if (!m) return null;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

function memoryBytes(value: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(value);
  if (!m) return null;
  const mult: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  return Number(m[1]) * mult[m[2] ?? ''];
}

function cpuMillis(value: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(m)?$/.exec(value);
  if (!m) return null;
  return m[2] ? Number(m[1]) : Number(m[1]) * 1000;
}

// ---------------------------------------------------------------------------------------
// Dockerfile parsing
// ---------------------------------------------------------------------------------------

interface Instruction {
  cmd: string;
  args: string;
}

interface Stage {
  name: string;
  from: string;
  platform: string | undefined;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { globalArgs: Instruction[]; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) continue; // comments (also inside continuations)
    if (!current && trimmed === '') continue;
    if (trimmed.endsWith('\\')) {
      current += trimmed.slice(0, -1) + ' ';
      continue;
    }
    current += trimmed;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  if (current.trim()) logical.push(current.trim());

  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const ins: Instruction = { cmd: m[1].toUpperCase(), args: m[2] };
    if (ins.cmd === 'FROM') {
      const words = shellWords(ins.args);
      let platform: string | undefined;
      const rest: string[] = [];
      for (const w of words) {
        if (w.startsWith('--platform=')) platform = w.slice('--platform='.length);
        else rest.push(w);
      }
      const asIdx = rest.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({
        name: asIdx >= 0 ? rest[asIdx + 1] : String(stages.length),
        from: rest[0],
        platform,
        instructions: [],
      });
    } else if (stages.length === 0) {
      globalArgs.push(ins);
    } else {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** Splits on whitespace, honouring single and double quotes (which are removed). */
function shellWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has || cur) out.push(cur);
  return out;
}

/** ENV a=b c="d e" (or the legacy ENV key value) as a map. */
function parseEnv(args: string): Record<string, string> {
  const words = shellWords(args);
  if (words.length > 0 && !words[0].includes('=')) return { [words[0]]: words.slice(1).join(' ') };
  const out: Record<string, string> = {};
  for (const w of words) {
    const i = w.indexOf('=');
    if (i > 0) out[w.slice(0, i)] = w.slice(i + 1);
  }
  return out;
}

function expandVars(s: string, vars: Record<string, string>): string {
  return s.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_all, braced: string | undefined, dflt: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      const v = vars[name];
      if (v !== undefined && v !== '') return v;
      return dflt ?? '';
    },
  );
}

interface CopySpec {
  flags: Record<string, string>;
  sources: string[];
  dest: string;
}

function parseCopy(args: string): CopySpec {
  const flags: Record<string, string> = {};
  let rest = args.trim();
  while (rest.startsWith('--')) {
    const m = /^--([a-z-]+)(?:=(\S+))?\s*/.exec(rest);
    if (!m) break;
    flags[m[1]] = m[2] ?? 'true';
    rest = rest.slice(m[0].length);
  }
  const words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : shellWords(rest);
  return { flags, sources: words.slice(0, -1), dest: words[words.length - 1] ?? '' };
}

/** The ARGs declared before the first FROM: their defaults, overridden by build args. */
function globalVars(globalArgs: Instruction[], buildArgs: Record<string, string>): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const ins of globalArgs) {
    if (ins.cmd !== 'ARG') continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.args.trim());
    if (m) vars[m[1]] = buildArgs[m[1]] ?? (m[2] !== undefined ? shellWords(m[2]).join(' ') : '');
  }
  return vars;
}

function mapValues(o: Record<string, string>, f: (v: string) => string): Record<string, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

// ---------------------------------------------------------------------------------------
// .dockerignore
// ---------------------------------------------------------------------------------------

function globToRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** Docker's rule: a path is excluded if a pattern matches it or one of its parent folders; the last matching pattern wins. */
function dockerIgnore(contextDir: string): (rel: string) => boolean {
  const file = path.join(contextDir, '.dockerignore');
  const rules: { re: RegExp; negate: boolean }[] = [];
  if (fs.existsSync(file)) {
    for (let line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
      line = line.trim();
      if (!line || line.startsWith('#')) continue;
      const negate = line.startsWith('!');
      if (negate) line = line.slice(1).trim();
      line = path.posix.normalize(line.replace(/^\/+/, ''));
      rules.push({ re: globToRegex(line), negate });
    }
  }
  return (rel: string) => {
    const parts = rel.split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const r of rules) if (candidates.some((c) => r.re.test(c))) ignored = !r.negate;
    return ignored;
  };
}

// ---------------------------------------------------------------------------------------
// faas-cli build --shrinkwrap, simulated
// ---------------------------------------------------------------------------------------

/**
 * Lays out build/<fn>/ as faas-cli does (github.com/openfaas/faas-cli builder/build.go,
 * createBuildContext): the template folder copied to the context root, the handler
 * folder's entries (except "build" and "template") copied into function/, then every
 * configuration.copy path P copied to function/P.
 */
function shrinkwrap(stack: Stack, fnName: string, outDir: string): string {
  const fn = stack.functions[fnName];
  const ctx = path.join(outDir, 'build', fnName);
  const functionDir = path.join(ctx, 'function');
  fs.mkdirSync(functionDir, { recursive: true });
  fs.cpSync(path.join(root, 'templates', fn.lang ?? ''), ctx, { recursive: true });
  const handler = handlerFolder(fn);
  for (const entry of fs.readdirSync(handler)) {
    if (entry === 'build' || entry === 'template') continue;
    fs.cpSync(path.join(handler, entry), path.join(functionDir, entry), { recursive: true });
  }
  for (const extra of stack.configuration?.copy ?? []) {
    const abs = path.resolve(root, extra);
    if (abs === root || !abs.startsWith(root + path.sep)) throw new Error(`copy path out of scope: ${extra}`);
    fs.cpSync(abs, path.join(functionDir, path.normalize(extra)), { recursive: true });
  }
  return ctx;
}

function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    const rel = path.relative(base, full).split(path.sep).join('/');
    out.push(rel);
    if (e.isDirectory()) out.push(...walk(full, base));
  }
  return out;
}

function hasGlob(s: string): boolean {
  return /[*?[]/.test(s);
}

/** Copies `src` (file or folder) to `dest` like Docker's COPY: a folder's contents, not the folder. */
function copyEntry(src: string, dest: string, keep: (abs: string) => boolean): void {
  const st = fs.lstatSync(src);
  if (st.isSymbolicLink()) {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.rmSync(dest, { recursive: true, force: true });
    fs.symlinkSync(fs.readlinkSync(src), dest);
  } else if (st.isDirectory()) {
    fs.mkdirSync(dest, { recursive: true });
    for (const e of fs.readdirSync(src)) {
      const s = path.join(src, e);
      if (keep(s)) copyEntry(s, path.join(dest, e), keep);
    }
  } else {
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(src, dest);
  }
}

/**
 * Plays one COPY: sources from `fromDir` (the build context, filtered by .dockerignore, or
 * another stage's simulated root), destination inside `toRoot` (a simulated filesystem
 * root), relative destinations against `workdir`. Returns the problems Docker would report.
 */
function playCopy(
  spec: CopySpec,
  vars: Record<string, string>,
  workdir: string,
  fromDir: string,
  toRoot: string,
  ignored: (rel: string) => boolean,
  fromContext: boolean,
): string[] {
  const problems: string[] = [];
  const sources = spec.sources.map((s) => expandVars(s, vars));
  let dest = expandVars(spec.dest, vars);
  if (!dest.startsWith('/')) dest = path.posix.join(workdir, dest) + (dest.endsWith('/') ? '/' : '');
  const many = sources.length > 1 || sources.some(hasGlob);
  const destIsDir = dest.endsWith('/') || many;
  const all = fromContext ? walk(fromDir).filter((rel) => !ignored(rel)) : [];
  for (const source of sources) {
    const clean = path.posix.normalize(source.replace(/^\/+/, '')).replace(/\/+$/, '');
    let matches: string[];
    if (hasGlob(clean)) {
      const re = globToRegex(clean);
      matches = all.filter((rel) => re.test(rel));
    } else if (fromContext) {
      matches = fs.existsSync(path.join(fromDir, clean)) && !ignored(clean) ? [clean] : [];
    } else {
      matches = fs.existsSync(path.join(fromDir, clean)) ? [clean] : [];
    }
    if (matches.length === 0) {
      problems.push(`COPY ${spec.flags.from ? `--from=${spec.flags.from} ` : ''}${source}: no such file in ${fromContext ? 'the build context' : `stage ${spec.flags.from}`}`);
      continue;
    }
    for (const rel of matches) {
      const abs = path.join(fromDir, rel);
      const isDir = fs.lstatSync(abs).isDirectory();
      const target = isDir || !destIsDir ? dest : path.posix.join(dest, path.posix.basename(rel));
      const keep = (p: string) => !fromContext || !ignored(path.relative(fromDir, p).split(path.sep).join('/'));
      copyEntry(abs, path.join(toRoot, target), keep);
    }
  }
  return problems;
}

interface StageResult {
  problems: string[];
  env: Record<string, string>;
  workdir: string;
  /** The `tsc -p <config>` of a RUN line, with the WORKDIR it runs in. */
  tsc: { config: string; workdir: string } | null;
}

/**
 * Plays one stage's ARG, ENV, WORKDIR and COPY instructions into `simRoot` (a simulated
 * filesystem root). COPY without --from reads the build context (filtered by its
 * .dockerignore); COPY --from=<stage> reads that stage's simulated root when it is in
 * `stageRoots` and is skipped otherwise (external images such as the watchdog). RUN is
 * not executed: the tsc command it holds is returned for the caller to run.
 */
function playStage(
  ctx: string,
  globalArgs: Instruction[],
  stage: Stage,
  buildArgs: Record<string, string>,
  simRoot: string,
  stageRoots: Map<string, string>,
): StageResult {
  const ignored = dockerIgnore(ctx);
  // ARGs declared before FROM are visible in a stage only where it declares them again.
  const globals = globalVars(globalArgs, buildArgs);
  const vars: Record<string, string> = {};
  const env: Record<string, string> = {};
  const problems: string[] = [];
  let workdir = '/';
  let tsc: StageResult['tsc'] = null;
  fs.mkdirSync(simRoot, { recursive: true });
  for (const ins of stage.instructions) {
    if (ins.cmd === 'ARG') {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.args.trim());
      if (m) vars[m[1]] = buildArgs[m[1]] ?? (m[2] !== undefined ? shellWords(m[2]).join(' ') : globals[m[1]] ?? '');
    } else if (ins.cmd === 'ENV') {
      const e = mapValues(parseEnv(ins.args), (v) => expandVars(v, vars));
      Object.assign(vars, e);
      Object.assign(env, e);
    } else if (ins.cmd === 'WORKDIR') {
      const w = expandVars(shellWords(ins.args)[0] ?? '/', vars);
      workdir = w.startsWith('/') ? path.posix.normalize(w) : path.posix.join(workdir, w);
      fs.mkdirSync(path.join(simRoot, workdir), { recursive: true });
    } else if (ins.cmd === 'COPY' || ins.cmd === 'ADD') {
      const spec = parseCopy(ins.args);
      const from = spec.flags.from;
      if (!from) problems.push(...playCopy(spec, vars, workdir, ctx, simRoot, ignored, true));
      else if (stageRoots.has(from)) problems.push(...playCopy(spec, vars, workdir, stageRoots.get(from) ?? '', simRoot, () => false, false));
    } else if (ins.cmd === 'RUN') {
      const m = /(?:^|[\s/])tsc\s+-p\s+(\S+)/.exec(ins.args);
      if (m) tsc = { config: m[1], workdir };
    }
  }
  return { problems, env, workdir, tsc };
}

interface DockerfileModel {
  globalArgs: Instruction[];
  build: Stage;
  final: Stage;
}

/** The stage that compiles (copies from the context and runs tsc) and the final stage. */
function dockerfileModel(ctx: string): DockerfileModel {
  const { globalArgs, stages } = parseDockerfile(fs.readFileSync(path.join(ctx, 'Dockerfile'), 'utf8'));
  const build = stages.find((s) => s.instructions.some((i) => i.cmd === 'RUN' && /\btsc\b/.test(i.args)));
  if (!build) throw new Error('no stage of the Dockerfile runs tsc');
  return { globalArgs, build, final: stages[stages.length - 1] };
}

// ---------------------------------------------------------------------------------------
// Imports
// ---------------------------------------------------------------------------------------

interface ImportRef {
  spec: string;
  dynamic: boolean;
}

function importsOf(source: string): ImportRef[] {
  const out: ImportRef[] = [];
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const stat = /(?:^|[;\n}])\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;
  for (const m of text.matchAll(stat)) {
    const isTypeOnly = /^\s*[;\n}]?\s*(?:import|export)\s+type\s/.test(m[0]);
    if (!isTypeOnly) out.push({ spec: m[1], dynamic: false });
  }
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1], dynamic: true });
  return out;
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const BUILTINS = new Set(builtinModules);

/**
 * Follows the compiled ES module graph from `entries` inside a simulated image: relative
 * imports must exist there, bare imports must be production dependencies (dev
 * dependencies are pruned from the image). Dynamic imports of other packages are reported
 * separately: they only fail when that code path runs.
 */
function importClosure(entries: string[], prodDeps: Set<string>): { missing: string[]; devStatic: string[]; devDynamic: string[]; visited: number } {
  const seen = new Set<string>();
  const missing: string[] = [];
  const devStatic: string[] = [];
  const devDynamic: string[] = [];
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop() ?? '';
    if (seen.has(file)) continue;
    seen.add(file);
    if (!fs.existsSync(file)) {
      missing.push(file);
      continue;
    }
    for (const ref of importsOf(fs.readFileSync(file, 'utf8'))) {
      if (ref.spec.startsWith('.') || ref.spec.startsWith('/')) {
        const target = path.resolve(path.dirname(file), ref.spec);
        if (!fs.existsSync(target)) missing.push(`${target} (imported by ${file})`);
        else if (target.endsWith('.js')) queue.push(target);
      } else if (ref.spec.startsWith('node:') || BUILTINS.has(ref.spec)) {
        continue;
      } else if (!prodDeps.has(packageName(ref.spec))) {
        (ref.dynamic ? devDynamic : devStatic).push(`${ref.spec} (imported by ${file})`);
      }
    }
  }
  return { missing, devStatic, devDynamic, visited: seen.size };
}

// ---------------------------------------------------------------------------------------
// Secret detection
// ---------------------------------------------------------------------------------------

const PLACEHOLDER = /^(?:CHANGE_?ME|REPLACE[A-Z0-9_]*|<[^>]*>|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|x{3,}|\*{3,}|placeholder|example|demo|changeme|\.{0,2}\/\S*)$/i;

/** Things that look like a real credential: URL passwords, key/password assignments, long random tokens. */
function findSecretLike(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/([^\s:/@'"]+):([^\s@'"]+)@/gi)) {
    if (!PLACEHOLDER.test(m[2])) found.push(`password in URL: ${m[0]}`);
  }
  const assign = /(?:^|[\s"'{,=-])([A-Za-z0-9_.-]*?(?:password|passwd|api[_-]?key|api[_-]?token|access[_-]?token|auth[_-]?token))["']?[ \t]*[:=][ \t]*["']?([^\s"',}#]*)/gim;
  for (const m of text.matchAll(assign)) {
    const value = m[2];
    if (value && !PLACEHOLDER.test(value)) found.push(`${m[1]} = ${value}`);
  }
  for (const m of text.matchAll(/\b[0-9a-f]{10,}\.[0-9]{5,}\b/gi)) found.push(`EODHD-style key: ${m[0]}`);
  for (const m of text.matchAll(/\b[A-Za-z0-9]{24,}\b/g)) {
    if (/\d/.test(m[0]) && /[A-Za-z]/.test(m[0])) found.push(`random-looking token: ${m[0]}`);
  }
  return found;
}

// ---------------------------------------------------------------------------------------
// Tests: stack.yml
// ---------------------------------------------------------------------------------------

test('stack.yml parses: version 1.0, provider openfaas on 127.0.0.1:8080', (t) => {
  const { text, stack } = readStack();
  t.regex(text, /^version:\s*["']?1\.0["']?\s*$/m);
  t.is(stack.provider?.name, 'openfaas');
  t.is(stack.provider?.gateway, 'http://127.0.0.1:8080');
  t.truthy(stack.functions);
});

test('stack.yml has exactly the pipeline functions (within the CE limit of 15)', (t) => {
  const { stack } = readStack();
  t.deepEqual(Object.keys(stack.functions).sort(), Object.keys(EXPECTED).sort());
  t.true(Object.keys(stack.functions).length <= 15);
  for (const name of Object.keys(stack.functions)) t.regex(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${name} is not a DNS-1123 label`);
});

test('every function uses the node20-ts template, its handler folder, its image and HANDLER_FOLDER', (t) => {
  const { stack } = readStack();
  for (const [name, fn] of Object.entries(stack.functions)) {
    const folder = EXPECTED[name];
    t.is(fn.lang, TEMPLATE, `${name}: lang`);
    t.is(fn.handler, `./functions/${folder}`, `${name}: handler`);
    t.is(fn.image, `\${REGISTRY:-ghcr.io/financial-screener}/${name}:\${TAG:-latest}`, `${name}: image`);
    t.is(buildArgsOf(fn).HANDLER_FOLDER, folder, `${name}: build_args.HANDLER_FOLDER must be the handler folder name`);
  }
  const tpl = parse(fs.readFileSync(path.join(templateDir, 'template.yml'), 'utf8')) as { language?: string; fprocess?: string };
  t.is(tpl.language, TEMPLATE);
});

test('every handler folder exists, has handler.ts, and only top-level .ts files (the Dockerfile copies function/*.ts)', (t) => {
  const { stack } = readStack();
  const missing: string[] = [];
  for (const [name, fn] of Object.entries(stack.functions)) {
    const dir = handlerFolder(fn);
    if (!fs.existsSync(path.join(dir, 'handler.ts'))) {
      missing.push(`${name}: ${path.relative(root, dir)}/handler.ts`);
      continue;
    }
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      t.false(e.isDirectory(), `${name}: ${e.name}/ would not be copied into the image (only function/*.ts is)`);
    }
  }
  t.deepEqual(missing, [], `missing handlers:\n${missing.join('\n')}`);
});

test("handlers import only their own folder, ../../shared/ and production dependencies", (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const prod = new Set(Object.keys(pkg.dependencies ?? {}));
  const problems: string[] = [];
  for (const folder of new Set(Object.values(EXPECTED))) {
    const dir = path.join(root, 'functions', folder);
    if (!fs.existsSync(dir)) continue; // reported by the test above
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      for (const ref of importsOf(fs.readFileSync(path.join(dir, file), 'utf8'))) {
        const where = `functions/${folder}/${file}: ${ref.spec}`;
        if (ref.spec.startsWith('.')) {
          const target = path.resolve(dir, ref.spec);
          const inShared = target.startsWith(path.join(root, 'shared') + path.sep);
          const inOwn = path.dirname(target) === dir;
          if (!inShared && !inOwn) problems.push(`${where} reaches outside shared/ and its own folder`);
          const ts = target.replace(/\.js$/, '.ts');
          if (!fs.existsSync(ts) && !fs.existsSync(target)) problems.push(`${where} does not exist`);
        } else if (!ref.spec.startsWith('node:') && !BUILTINS.has(ref.spec) && !prod.has(packageName(ref.spec))) {
          problems.push(`${where} is not a production dependency`);
        }
      }
    }
  }
  t.deepEqual(problems, []);
});

test('cron: init-execution daily after the US close, resume-runs every few minutes in resume mode, nothing else', (t) => {
  const { stack } = readStack();
  const cron = (name: string) => stack.functions[name]?.annotations ?? {};
  t.is(cron('init-execution').topic, 'cron-function');
  t.is(cron('init-execution').schedule, '30 21 * * 1-5');
  t.is(cron('resume-runs').topic, 'cron-function');
  const schedule = String(cron('resume-runs').schedule ?? '');
  t.is(schedule.trim().split(/\s+/).length, 5, 'resume-runs needs a 5-field cron schedule');
  t.regex(schedule, /^\*\/\d+ \* \* \* \*$/);
  t.is(envOf(stack.functions['resume-runs']).DEFAULT_MODE, 'resume');
  t.falsy(envOf(stack.functions['init-execution']).DEFAULT_MODE, 'init-execution must not default to resume');
  for (const [name, fn] of Object.entries(stack.functions)) {
    if (name === 'init-execution' || name === 'resume-runs') continue;
    t.not(fn.annotations?.topic, 'cron-function', `${name} must not be on the cron-connector`);
  }
});

test('secrets: database-url everywhere, eodhd-api-key only where the API is called', (t) => {
  const { stack } = readStack();
  for (const [name, fn] of Object.entries(stack.functions)) {
    const secrets = fn.secrets ?? [];
    t.true(secrets.includes('database-url'), `${name}: database-url`);
    t.is(secrets.includes('eodhd-api-key'), NEEDS_API_KEY.has(name), `${name}: eodhd-api-key`);
    for (const s of secrets) t.true(KNOWN_SECRETS.has(s), `${name}: unknown secret ${s}`);
    t.is(new Set(secrets).size, secrets.length, `${name}: duplicate secret`);
  }
});

test('environment: gateway_url, write_debug, valid timeouts with exec <= read/write, collect budget below exec', (t) => {
  const { stack } = readStack();
  for (const [name, fn] of Object.entries(stack.functions)) {
    for (const [k, v] of Object.entries(fn.environment ?? {})) t.is(typeof v, 'string', `${name}: environment.${k} should be a string`);
    const env = envOf(fn);
    t.is(env.gateway_url, 'http://gateway.openfaas.svc.cluster.local:8080', `${name}: gateway_url`);
    t.is(env.write_debug, 'false', `${name}: write_debug`);
    t.is(env.FUNCTION_NAME, name, `${name}: FUNCTION_NAME (the database connections' application_name)`);
    const exec = goDurationMs(env.exec_timeout ?? '');
    const read = goDurationMs(env.read_timeout ?? '');
    const write = goDurationMs(env.write_timeout ?? '');
    t.not(exec, null, `${name}: exec_timeout "${env.exec_timeout}" is not a Go duration`);
    t.not(read, null, `${name}: read_timeout "${env.read_timeout}" is not a Go duration`);
    t.not(write, null, `${name}: write_timeout "${env.write_timeout}" is not a Go duration`);
    if (exec === null || read === null || write === null) continue;
    t.true(exec > 0, `${name}: exec_timeout must be set`);
    t.true(exec <= read, `${name}: exec_timeout ${env.exec_timeout} > read_timeout ${env.read_timeout}`);
    t.true(exec <= write, `${name}: exec_timeout ${env.exec_timeout} > write_timeout ${env.write_timeout}`);
    if (LONG_RUNNING.has(name)) t.true(exec >= 5 * 60_000, `${name} is a long step: exec_timeout ${env.exec_timeout}`);
    else t.true(exec <= 3 * 60_000, `${name} is a short step: exec_timeout ${env.exec_timeout}`);
    const heap = /--max-old-space-size=(\d+)/.exec(env.NODE_OPTIONS ?? '');
    const limit = memoryBytes(fn.limits?.memory ?? '');
    if (heap && limit) t.true(Number(heap[1]) * 1024 * 1024 < limit, `${name}: V8 heap must stay below the memory limit`);
  }
  const collect = envOf(stack.functions['collect-region']);
  const budget = Number(collect.COLLECT_TIME_BUDGET_MS);
  const exec = goDurationMs(collect.exec_timeout ?? '') ?? 0;
  t.true(Number.isInteger(budget) && budget > 0, 'COLLECT_TIME_BUDGET_MS must be a positive integer');
  t.true(budget < exec, 'COLLECT_TIME_BUDGET_MS must be below collect-region exec_timeout');
  t.true(budget >= exec * 0.75, 'COLLECT_TIME_BUDGET_MS should be only a little below exec_timeout');
});

test('the gateway, faas-netes and queue-worker let the longest call through (k8s/openfaas-values.yaml)', (t) => {
  const { stack } = readStack();
  const longest = Math.max(...Object.values(stack.functions).map((fn) => goDurationMs(envOf(fn).exec_timeout ?? '') ?? 0));
  const values = parse(fs.readFileSync(path.join(root, 'k8s', 'openfaas-values.yaml'), 'utf8')) as {
    gateway?: Record<string, string>;
    faasnetes?: Record<string, string>;
    queueWorker?: Record<string, unknown>;
  };
  const d = (v: unknown) => goDurationMs(String(v ?? '')) ?? -1;
  const upstream = d(values.gateway?.upstreamTimeout);
  t.true(upstream >= longest, 'gateway.upstreamTimeout must be at least the longest exec_timeout');
  t.true(upstream < d(values.gateway?.readTimeout), 'gateway.upstreamTimeout < gateway.readTimeout');
  t.true(upstream < d(values.gateway?.writeTimeout), 'gateway.upstreamTimeout < gateway.writeTimeout');
  t.true(d(values.faasnetes?.readTimeout) >= d(values.gateway?.readTimeout), 'faasnetes.readTimeout');
  t.true(d(values.faasnetes?.writeTimeout) >= d(values.gateway?.writeTimeout), 'faasnetes.writeTimeout');
  t.true(d(values.queueWorker?.ackWait) > longest, 'queueWorker.ackWait must exceed the longest exec_timeout');
  t.true(Number(values.queueWorker?.maxInflight) >= 4, 'the four collect-region calls must be able to run at once');
});

test('labels, resources and read-only root filesystem fit OpenFaaS CE on Raspberry Pi 4 nodes', (t) => {
  const { stack } = readStack();
  for (const [name, fn] of Object.entries(stack.functions)) {
    const labels = fn.labels ?? {};
    for (const [k, v] of Object.entries(labels)) t.is(typeof v, 'string', `${name}: label ${k} must be a quoted string`);
    const min = Number(labels['com.openfaas.scale.min']);
    const max = Number(labels['com.openfaas.scale.max']);
    t.true(min >= 1, `${name}: scale.min`);
    t.true(max >= min && max <= 5, `${name}: scale.max must be between min and 5 (CE)`);
    t.true(fn.readonly_root_filesystem === true, `${name}: readonly_root_filesystem`);
    for (const kind of ['limits', 'requests'] as const) {
      const r = fn[kind];
      t.truthy(r?.memory && r.cpu, `${name}: ${kind}.memory and ${kind}.cpu`);
      t.not(memoryBytes(r?.memory ?? ''), null, `${name}: ${kind}.memory "${r?.memory}"`);
      t.not(cpuMillis(r?.cpu ?? ''), null, `${name}: ${kind}.cpu "${r?.cpu}"`);
    }
    const limMem = memoryBytes(fn.limits?.memory ?? '') ?? 0;
    const reqMem = memoryBytes(fn.requests?.memory ?? '') ?? Infinity;
    const limCpu = cpuMillis(fn.limits?.cpu ?? '') ?? 0;
    const reqCpu = cpuMillis(fn.requests?.cpu ?? '') ?? Infinity;
    t.true(reqMem <= limMem, `${name}: requests.memory <= limits.memory`);
    t.true(reqCpu <= limCpu, `${name}: requests.cpu <= limits.cpu`);
    t.true(limMem <= 1024 ** 3, `${name}: at most 1Gi on a Pi`);
    t.true(limCpu <= 2000, `${name}: at most 2 of a Pi's 4 cores`);
  }
  const collect = stack.functions['collect-region'].labels ?? {};
  t.is(collect['com.openfaas.scale.min'], '1');
  t.is(collect['com.openfaas.scale.max'], '4');
});

test('configuration.copy brings shared/, sql/ and the build files, and each exists', (t) => {
  const { stack } = readStack();
  const copy = stack.configuration?.copy ?? [];
  for (const p of REQUIRED_COPY) t.true(copy.map((c) => path.normalize(c)).includes(p), `configuration.copy lacks ${p}`);
  for (const p of copy) {
    const abs = path.resolve(root, p);
    t.true(abs.startsWith(root + path.sep) && abs !== root, `${p} must be inside the project`);
    t.true(fs.existsSync(abs), `${p} does not exist`);
  }
  const migrations = fs.existsSync(path.join(root, 'sql')) ? fs.readdirSync(path.join(root, 'sql')).filter((f) => f.endsWith('.sql')) : [];
  t.true(migrations.length > 0, 'sql/ has no migrations');
  for (const f of migrations) t.regex(f, /^\d+[_-].+\.sql$/, `${f}: migrations are numbered`);
});

// ---------------------------------------------------------------------------------------
// Tests: the template
// ---------------------------------------------------------------------------------------

test('Dockerfile: multi-arch stages, pinned watchdog, entrypoint, http mode, non-root, HEALTHCHECK', (t) => {
  const { stages } = parseDockerfile(fs.readFileSync(dockerfilePath, 'utf8'));
  t.true(stages.length >= 2);
  for (const s of stages) t.regex(s.platform ?? '', /^\$\{TARGETPLATFORM(:-linux\/amd64)?\}$/, `FROM ${s.from} needs --platform=\${TARGETPLATFORM:-linux/amd64}`);
  const watchdog = stages.find((s) => s.from.startsWith('ghcr.io/openfaas/of-watchdog:'));
  t.truthy(watchdog, 'an of-watchdog stage');
  t.regex(watchdog?.from ?? '', /:\d+\.\d+\.\d+$/, 'the watchdog version is pinned');
  t.true(stages.some((s) => s.from === 'node:20-alpine'), 'a node:20-alpine stage');

  const final = stages[stages.length - 1];
  t.is(final.from, 'node:20-alpine');
  const env: Record<string, string> = {};
  for (const ins of final.instructions) if (ins.cmd === 'ENV') Object.assign(env, parseEnv(ins.args));
  t.is(env.fprocess, 'node /home/app/dist/templates/node20-ts/index.js');
  t.is(env.mode, 'http');
  t.is(env.upstream_url, 'http://127.0.0.1:3000');
  t.is(env.prefix_logs, 'false');
  for (const k of ['exec_timeout', 'read_timeout', 'write_timeout']) t.not(goDurationMs(env[k] ?? ''), null, `default ${k}`);
  t.true((goDurationMs(env.exec_timeout) ?? 0) <= (goDurationMs(env.write_timeout) ?? 0));
  t.regex(env.HANDLER_MODULE ?? '', /^\/home\/app\/dist\/functions\/\$\{HANDLER_FOLDER\}\/handler\.js$/);

  const users = final.instructions.filter((i) => i.cmd === 'USER');
  t.true(users.length > 0, 'the runtime stage sets USER');
  const user = (users[users.length - 1]?.args ?? '').split(':')[0].trim();
  t.regex(user, /^[1-9]\d*$/, 'USER is numeric (runAsNonRoot can verify it) and not 0');
  const health = final.instructions.find((i) => i.cmd === 'HEALTHCHECK');
  t.regex(health?.args ?? '', /http:\/\/127\.0\.0\.1:8080\/_\/health/);
  t.true(final.instructions.some((i) => i.cmd === 'CMD' && i.args.includes('fwatchdog')));
  t.true(final.instructions.some((i) => i.cmd === 'COPY' && i.args.includes('/fwatchdog')));

  const build = stages.find((s) => s.instructions.some((i) => i.cmd === 'RUN' && /\btsc\b/.test(i.args)));
  t.truthy(build, 'a stage compiles with tsc');
  const runs = (build?.instructions ?? []).filter((i) => i.cmd === 'RUN').map((i) => i.args).join('\n');
  t.regex(runs, /npm ci\b/);
  t.regex(runs, /npm prune --omit=dev/);
  t.true((build?.instructions ?? []).some((i) => i.cmd === 'COPY' && /^index\.ts\s+\.?\/?.*templates\/node20-ts\/index\.ts$/.test(i.args.trim())), 'index.ts is copied to templates/node20-ts/');

  const tpl = parse(fs.readFileSync(path.join(templateDir, 'template.yml'), 'utf8')) as { fprocess?: string };
  t.is(tpl.fprocess, env.fprocess, 'template.yml and the Dockerfile agree on fprocess');
});

test('the template entrypoint is the one the Dockerfile runs, and its imports resolve in the repo', (t) => {
  const index = path.join(templateDir, 'index.ts');
  t.true(fs.existsSync(index));
  for (const ref of importsOf(fs.readFileSync(index, 'utf8'))) {
    if (!ref.spec.startsWith('.')) continue;
    t.true(fs.existsSync(path.resolve(templateDir, ref.spec).replace(/\.js$/, '.ts')), `index.ts imports ${ref.spec}`);
  }
});

test('.dockerignore matching follows Docker (self-check of this test helper)', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dockerignore-'));
  try {
    fs.writeFileSync(path.join(dir, '.dockerignore'), '**/node_modules\n*.log\n!keep.log\nfunction/secret\n');
    const ignored = dockerIgnore(dir);
    t.true(ignored('node_modules'));
    t.true(ignored('function/node_modules/x/index.js'));
    t.true(ignored('a.log'));
    t.false(ignored('keep.log'));
    t.true(ignored('function/secret/file'));
    t.false(ignored('function/shared/db.ts'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------
// Tests: k8s/
// ---------------------------------------------------------------------------------------

interface Doc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  [k: string]: unknown;
}

function k8sFiles(): string[] {
  return walk(path.join(root, 'k8s')).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(root, 'k8s', f));
}

function docsOf(file: string): Doc[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS() as Doc).filter((d) => d !== null && d !== undefined);
}

test('every k8s file parses; every manifest document has apiVersion, kind and a name', (t) => {
  const files = k8sFiles();
  t.true(files.length >= 5);
  for (const file of files) {
    const rel = path.relative(root, file);
    const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'));
    for (const d of docs) t.deepEqual(d.errors.map((e) => e.message), [], `${rel} parses`);
    if (/values\.ya?ml$/.test(file)) continue; // Helm values, not manifests
    const objs = docsOf(file);
    t.true(objs.length > 0, `${rel} has documents`);
    for (const o of objs) {
      t.is(typeof o.apiVersion, 'string', `${rel}: apiVersion`);
      t.is(typeof o.kind, 'string', `${rel}: kind`);
      t.is(typeof o.metadata?.name, 'string', `${rel}: metadata.name`);
    }
  }
  for (const f of ['namespace.yaml', 'postgres.yaml', 'secrets.example.yaml', 'cron-connector-values.yaml', 'migrate-job.yaml', 'README.md']) {
    t.true(fs.existsSync(path.join(root, 'k8s', f)), `k8s/${f}`);
  }
});

test('k8s: namespaces, Postgres StatefulSet, secret templates, cron-connector async, migration Job', (t) => {
  const k = (f: string) => docsOf(path.join(root, 'k8s', f));
  const ns = k('namespace.yaml').filter((d) => d.kind === 'Namespace').map((d) => d.metadata?.name);
  t.true(ns.includes('openfaas-fn') && ns.includes('financial-screener'));

  const pg = k('postgres.yaml');
  const sts = pg.find((d) => d.kind === 'StatefulSet') as Doc & {
    spec: { template: { spec: { containers: { image: string; resources?: { limits?: Resources }; env?: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[] }[] } }; volumeClaimTemplates?: unknown[] };
  };
  t.truthy(sts, 'a StatefulSet');
  t.is(sts.metadata?.namespace, 'financial-screener');
  const c = sts.spec.template.spec.containers[0];
  t.regex(c.image, /^postgres:16(\b|[.-])/);
  t.truthy(c.resources?.limits?.memory && c.resources.limits.cpu, 'postgres has memory and cpu limits');
  t.truthy(c.env?.find((e) => e.name === 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef?.name, 'the password comes from a Secret');
  t.true((sts.spec.volumeClaimTemplates ?? []).length > 0, 'a PVC');
  t.true(pg.some((d) => d.kind === 'Service' && d.metadata?.name === 'postgres'), 'Service postgres');

  const secrets = k('secrets.example.yaml').filter((d) => d.kind === 'Secret');
  for (const name of KNOWN_SECRETS) {
    const s = secrets.find((d) => d.metadata?.name === name) as (Doc & { stringData?: Record<string, string> }) | undefined;
    t.truthy(s, `Secret ${name}`);
    t.is(s?.metadata?.namespace, 'openfaas-fn');
    t.truthy(s?.stringData?.[name], `${name}: the key inside the secret is its name, as faas-cli creates it`);
  }
  const secretsText = fs.readFileSync(path.join(root, 'k8s', 'secrets.example.yaml'), 'utf8');
  t.regex(secretsText, /faas-cli secret create database-url/);
  t.regex(secretsText, /faas-cli secret create eodhd-api-key/);

  const cron = parse(fs.readFileSync(path.join(root, 'k8s', 'cron-connector-values.yaml'), 'utf8')) as Record<string, unknown>;
  t.is(cron.asyncInvocation, true);

  const { stack } = readStack();
  const repos = Object.keys(stack.functions).map((n) => `ghcr.io/financial-screener/${n}`);
  const job = k('migrate-job.yaml').find((d) => d.kind === 'Job') as Doc & {
    spec: { template: { spec: { containers: { image: string; command?: string[]; args?: string[] }[] } } };
  };
  t.truthy(job, 'a Job');
  t.is(job.metadata?.namespace, 'openfaas-fn', 'the Job runs where the database-url secret is');
  const jc = job.spec.template.spec.containers[0];
  t.true(repos.includes(jc.image.split(':')[0]), `the Job uses a function image (${jc.image})`);
  t.true([...(jc.command ?? []), ...(jc.args ?? [])].some((a) => /(^|\/)dist\/shared\/migrate-cli\.js$/.test(a)), 'the Job runs dist/shared/migrate-cli.js');
  t.regex(JSON.stringify(job), /"database-url"/);
});

test('the secret detector catches real-looking credentials (self-check)', (t) => {
  const fakeKey = ['6a1f0c9e2b7d', '40718215'].join('.');
  t.true(findSecretLike(`eodhd-api-key: ${fakeKey}`).length > 0);
  t.true(findSecretLike(`url: postgres://u:${'s3cr'}${'etPw'}@db:5432/x`).length > 0);
  t.true(findSecretLike(`POSTGRES_PASSWORD: ${'hunter'}${'2x'}`).length > 0);
  t.true(findSecretLike(`token ${'A1b2C3d4E5f6G7h8'}${'I9j0K1l2M3'}`).length > 0);
  t.deepEqual(findSecretLike('POSTGRES_PASSWORD: CHANGE_ME\neodhd-api-key: REPLACE_WITH_YOUR_EODHD_API_KEY\nurl: postgres://screener:<db-password>@h:5432/s'), []);
});

test('no real-looking API key or password in stack.yml, k8s/ or the template (placeholders only)', (t) => {
  const files = [path.join(root, 'stack.yml'), ...walk(path.join(root, 'k8s')).map((f) => path.join(root, 'k8s', f)), ...walk(templateDir).map((f) => path.join(templateDir, f))]
    .filter((f) => fs.statSync(f).isFile());
  for (const file of files) {
    t.deepEqual(findSecretLike(fs.readFileSync(file, 'utf8')), [], path.relative(root, file));
  }
});

// ---------------------------------------------------------------------------------------
// Tests: the build context and the image, simulated
// ---------------------------------------------------------------------------------------

function withTemp<T>(prefix: string, f: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return f(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("shrinkwrap layout: every file the Dockerfile COPYs exists in each function's build context", (t) => {
  const { stack } = readStack();
  const missingHandlers: string[] = [];
  for (const [name, fn] of Object.entries(stack.functions)) {
    if (!fs.existsSync(handlerFolder(fn))) {
      missingHandlers.push(`${name}: ${fn.handler}`);
      continue;
    }
    withTemp(`shrinkwrap-${name}-`, (dir) => {
      const ctx = shrinkwrap(stack, name, dir);
      // faas-cli's layout: the template at the root, handler + copy entries under function/.
      t.true(fs.existsSync(path.join(ctx, 'Dockerfile')), `${name}: Dockerfile at the context root`);
      t.true(fs.existsSync(path.join(ctx, 'function', 'handler.ts')), `${name}: function/handler.ts`);
      for (const p of stack.configuration?.copy ?? []) t.true(fs.existsSync(path.join(ctx, 'function', p)), `${name}: function/${p}`);
      const model = dockerfileModel(ctx);
      const buildRoot = path.join(dir, 'stage-build');
      const result = playStage(ctx, model.globalArgs, model.build, buildArgsOf(fn), buildRoot, new Map());
      t.deepEqual(result.problems, [], `${name}: COPY sources missing from the build context`);
      const handlerInImage = path.join(buildRoot, result.workdir, 'functions', buildArgsOf(fn).HANDLER_FOLDER ?? 'function', 'handler.ts');
      t.true(fs.existsSync(handlerInImage), `${name}: handler.ts lands in functions/<name>/ inside the image`);
      if (fs.existsSync(handlerInImage)) {
        t.is(
          fs.readFileSync(handlerInImage, 'utf8'),
          fs.readFileSync(path.join(handlerFolder(fn), 'handler.ts'), 'utf8'),
          `${name}: the function's own handler, not the template's sample`,
        );
      }
    });
  }
  t.deepEqual(missingHandlers, [], `handler folders missing:\n${missingHandlers.join('\n')}`);
});

test('image build simulated: the tree compiles like the repo, and the runtime stage has all it needs', (t) => {
  const { stack } = readStack();
  const preferred = ['collect-region', ...Object.keys(stack.functions)];
  const name = preferred.find((n) => stack.functions[n] && fs.existsSync(path.join(handlerFolder(stack.functions[n]), 'handler.ts')));
  if (!name) {
    t.fail('no function has a handler.ts yet');
    return;
  }
  const fn = stack.functions[name];
  const args = buildArgsOf(fn);
  const fnFolder = args.HANDLER_FOLDER ?? 'function';
  t.log(`simulating the image of ${name}`);
  withTemp(`image-${name}-`, (dir) => {
    const ctx = shrinkwrap(stack, name, dir);
    const model = dockerfileModel(ctx);

    // Build stage: the COPYs lay out the repository's tree.
    const buildRoot = path.join(dir, 'stage-build');
    const build = playStage(ctx, model.globalArgs, model.build, args, buildRoot, new Map());
    t.deepEqual(build.problems, [], 'COPY from the context');
    if (!build.tsc) {
      t.fail('the build stage runs no `tsc -p <config>`');
      return;
    }
    const app = path.join(buildRoot, build.tsc.workdir);
    for (const rel of ['package.json', 'package-lock.json', 'tsconfig.json', 'templates/node20-ts/index.ts', `functions/${fnFolder}/handler.ts`]) {
      t.true(fs.existsSync(path.join(app, rel)), `${rel} in the build stage`);
    }
    for (const folder of ['shared', 'sql']) {
      const repoFiles = walk(path.join(root, folder)).filter((f) => fs.statSync(path.join(root, folder, f)).isFile());
      const missing = repoFiles.filter((f) => !fs.existsSync(path.join(app, folder, f)));
      t.deepEqual(missing, [], `${folder}/ is complete in the build stage`);
    }

    // `npm ci` (the repository's node_modules stands in), then the image's own tsc command.
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(app, 'node_modules'), 'dir');
    try {
      execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', build.tsc.config], {
        cwd: app,
        stdio: 'pipe',
        timeout: 100_000,
      });
    } catch (err) {
      const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
      t.fail(`tsc failed in the image layout:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}${e.message}`);
      return;
    }
    t.true(fs.existsSync(path.join(app, 'dist', 'functions', fnFolder, 'handler.js')), 'compiled handler');

    // Runtime stage: only what it copies from the build stage.
    const runtimeRoot = path.join(dir, 'stage-runtime');
    const runtime = playStage(ctx, model.globalArgs, model.final, args, runtimeRoot, new Map([[model.build.name, buildRoot]]));
    t.deepEqual(runtime.problems, [], 'COPY --from=build sources exist after the build');
    const rt = (p: string) => path.join(runtimeRoot, p.startsWith('/') ? p : path.posix.join(runtime.workdir, p));
    const env = runtime.env;
    t.is(env.HANDLER_MODULE, `/home/app/dist/functions/${fnFolder}/handler.js`);
    t.true(fs.existsSync(rt(env.HANDLER_MODULE ?? '/nonexistent')), `HANDLER_MODULE ${env.HANDLER_MODULE} exists in the runtime image`);
    const entry = /^node\s+(\S+)$/.exec(env.fprocess ?? '')?.[1] ?? '';
    t.true(entry !== '' && fs.existsSync(rt(entry)), `fprocess entry "${entry}" exists in the runtime image`);
    if (!fs.existsSync(rt('package.json'))) {
      t.fail('the runtime image has no package.json beside dist/ (needed for "type": "module")');
      return;
    }
    const pkg = JSON.parse(fs.readFileSync(rt('package.json'), 'utf8')) as { type?: string; dependencies?: Record<string, string> };
    t.is(pkg.type, 'module', 'package.json beside dist/ makes the compiled files ES modules');
    const sqlFiles = fs.existsSync(rt('sql')) ? fs.readdirSync(rt('sql')).filter((f) => f.endsWith('.sql')) : [];
    t.deepEqual(sqlFiles.sort(), fs.readdirSync(path.join(root, 'sql')).filter((f) => f.endsWith('.sql')).sort(), 'all migrations are in <app>/sql');
    t.false(fs.existsSync(rt('functions')), 'no TypeScript sources in the runtime image');

    // The migration Job's command (k8s/migrate-job.yaml).
    const job = docsOf(path.join(root, 'k8s', 'migrate-job.yaml')).find((d) => d.kind === 'Job') as Doc & {
      spec: { template: { spec: { containers: { command?: string[]; workingDir?: string }[] } } };
    };
    const jc = job.spec.template.spec.containers[0];
    const script = (jc.command ?? []).find((a) => a.endsWith('migrate-cli.js')) ?? '';
    const scriptAbs = script.startsWith('/') ? script : path.posix.join(jc.workingDir ?? runtime.workdir, script);
    t.true(script !== '' && fs.existsSync(rt(scriptAbs)), `${scriptAbs} exists in the image (needs shared/migrate-cli.ts)`);

    // Node loads the compiled handler from the runtime tree as an ES module (importing it
    // has no side effects; the entrypoint and migrate-cli would start work, so they are
    // only followed statically below).
    try {
      const url = pathToFileURL(rt(env.HANDLER_MODULE ?? '')).href;
      const out = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(url)}); console.log(typeof m.default);`],
        { cwd: rt('.'), stdio: 'pipe', timeout: 30_000, env: { ...process.env, NODE_ENV: 'production' } },
      );
      t.is(out.toString().trim(), 'function', 'the handler module has a default export');
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      t.fail(`importing the handler from the runtime tree failed:\n${e.stderr?.toString() ?? ''}${e.message}`);
    }

    // Every module that the entrypoint, the handler and the migration CLI load is there.
    const entries = [rt(entry), rt(env.HANDLER_MODULE ?? '')];
    if (script && fs.existsSync(rt(scriptAbs))) entries.push(rt(scriptAbs));
    const closure = importClosure(entries, new Set(Object.keys(pkg.dependencies ?? {})));
    t.log(`${closure.visited} compiled modules reachable from the entrypoint, the handler and migrate-cli`);
    t.deepEqual(closure.missing, [], 'relative imports that do not exist in the image');
    t.deepEqual(closure.devStatic, [], 'static imports of packages that are not production dependencies (pruned from the image)');
    if (closure.devDynamic.length > 0) t.log(`dynamic imports of non-production packages (fail only if reached):\n${closure.devDynamic.join('\n')}`);
  });
});
