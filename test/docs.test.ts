/**
 * The docs a newcomer follows stay true: every relative link and every project path they
 * name exists, nothing points outside a clone (../shared), and the figures they give are the
 * code's (the function count, the request-rate share, every setting and its default, the
 * same in the README, settings.ts and the migrated database).
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { RATE_SHARE } from '../shared/eodhd/client.js';
import { DEFAULT_SETTINGS, loadSettings } from '../shared/store/settings.js';
import { createTestDb } from './helpers/db.js';

const ROOT = process.cwd();
const DOCS = [
  'README.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  'dev/chaos/README.md',
  'dev/simulator/README.md',
  'k8s/README.md',
];
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');

test('every relative link in the README and docs resolves', (t) => {
  const broken: string[] = [];
  for (const doc of DOCS) {
    for (const m of read(doc).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!.split('#')[0]!;
      if (!target || /^[a-z]+:/i.test(target)) continue;
      if (!fs.existsSync(path.resolve(ROOT, path.dirname(doc), target))) broken.push(`${doc}: ${m[1]}`);
    }
  }
  t.deepEqual(broken, []);
});

test('every project path the docs name in backquotes exists, and none points outside a clone', (t) => {
  const missing: string[] = [];
  const outside: string[] = [];
  const TOP = /^(shared|dev|test|sql|k8s|docs|bench|functions|templates|scripts)\/[\w./-]+$/;
  for (const doc of DOCS) {
    const text = read(doc);
    for (const m of text.matchAll(/`([^`\s]+)`/g)) {
      // A path, not a pattern: no placeholders, wildcards or shell.
      const p = m[1]!.replace(/[.,:;]$/, '');
      if (!TOP.test(p) || /[<>*$]/.test(p)) continue;
      if (!fs.existsSync(path.join(ROOT, p))) missing.push(`${doc}: ${p}`);
    }
    if (/\.\.\/shared\/(DESIGN|reference)/.test(text)) outside.push(doc);
  }
  t.deepEqual(missing, []);
  t.deepEqual(outside, [], 'a clone has no ../shared: the map is docs/architecture.md');
});

const NUMBERS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven'];

test("the README's count of functions is stack.yml's, and the docs name each", (t) => {
  const stack = parse(read('stack.yml')) as { functions: Record<string, unknown> };
  const names = Object.keys(stack.functions);
  const readme = read('README.md');
  const said = /It is (\w+) stateless TypeScript functions/.exec(readme)?.[1];
  t.is(said, NUMBERS[names.length]);
  for (const doc of ['README.md', 'docs/architecture.md']) {
    const counts = [...read(doc).matchAll(/\b(\w+) (?:stateless )?(?:TypeScript )?functions\b/g)]
      .map((m) => m[1]!.toLowerCase())
      .filter((w) => NUMBERS.includes(w));
    t.deepEqual([...new Set(counts)], [NUMBERS[names.length]], doc);
  }
  for (const n of names) t.true(readme.includes(n), `README names ${n}`);
});

test("the README's request-rate share is the client's", (t) => {
  const m = /never faster than (\d+)% of the API's `X-RateLimit-Limit`/.exec(read('README.md'));
  t.is(Number(m?.[1]), Math.round(RATE_SHARE * 100));
});

test("every setting is in the README's table with the code's default, and the migrations write the same", async (t) => {
  const rows = new Map(
    [...read('README.md').matchAll(/^\| `([a-z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]),
  );
  const compact = (s: string) => s.replace(/\s+/g, '');
  for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
    t.true(rows.has(key), `README lists ${key}`);
    t.is(compact(rows.get(key) ?? ''), compact(JSON.stringify(value)), key);
  }
  const tdb = await createTestDb();
  try {
    const stored = await tdb.pool.query<{ key: string; value: unknown }>('SELECT key, value FROM pipeline_settings');
    for (const r of stored.rows) t.deepEqual(r.value, DEFAULT_SETTINGS[r.key as keyof typeof DEFAULT_SETTINGS], r.key);
    t.deepEqual(await loadSettings(tdb.pool), DEFAULT_SETTINGS);
  } finally {
    await tdb.drop();
  }
});
