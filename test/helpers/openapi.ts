// Minimal OpenAPI response-schema validation for tests.
//
// Why hand-written: the EODHD excerpts in test/fixtures/eodhd-openapi use a small
// subset of JSON Schema (type, including arrays of types and 'null'; properties; items;
// oneOf; required; enum; format: date; additionalProperties; $ref to files), and the
// project has no schema validator dependency. A `$ref` to a file that is not in the excerpt
// (e.g. FinancialStatementRow.yaml) resolves to "accept anything", as the excerpts' README
// implies: only what is published is checked.

import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export type Schema = { [k: string]: unknown } | boolean;

/** EODHD's published excerpts, copied into the project (test/fixtures/eodhd-openapi, MIT). */
export function openapiDir(): string {
  return path.resolve('test', 'fixtures', 'eodhd-openapi');
}

/** The OpenFaaS gateway's API document (test/fixtures/openfaas/gateway-openapi.yml, MIT). */
export const GATEWAY_OPENAPI = path.resolve('test', 'fixtures', 'openfaas', 'gateway-openapi.yml');

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

function operation(specFile: string, route: string, method: string): Operation {
  const doc = loadYaml(specFile) as { paths: Record<string, Record<string, Operation>> };
  const op = doc.paths[route]?.[method.toLowerCase()];
  if (!op) throw new Error(`${path.basename(specFile)} has no ${method} ${route}`);
  return op;
}

/** The statuses an operation of a single-file OpenAPI document documents. */
export function documentedStatuses(specFile: string, route: string, method: string): string[] {
  return Object.keys(operation(specFile, route, method).responses ?? {});
}

/** The schema of one response of an operation (its first content type's, or the given one's); true when it has none. */
export function operationResponseSchema(
  specFile: string,
  route: string,
  method: string,
  status: string,
  contentType?: string,
): Schema {
  const resp = operation(specFile, route, method).responses?.[status];
  if (!resp) throw new Error(`${method} ${route} documents no ${status}`);
  const content = resp.content ?? {};
  const schema = (contentType ? content[contentType] : Object.values(content)[0])?.schema;
  if (schema === undefined) return true;
  return resolveRefs(schema, specFile, loadYaml(specFile), new Set()) as Schema;
}

const fileCache = new Map<string, unknown>();

function loadYaml(file: string): unknown {
  let doc = fileCache.get(file);
  if (doc === undefined) {
    doc = parse(fs.readFileSync(file, 'utf8')) as unknown;
    fileCache.set(file, doc);
  }
  return doc;
}

function pointer(doc: unknown, ptr: string): unknown {
  if (!ptr || ptr === '/') return doc;
  let cur: unknown = doc;
  for (const raw of ptr.replace(/^\//, '').split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur && typeof cur === 'object' && key in (cur as Record<string, unknown>))
      cur = (cur as Record<string, unknown>)[key];
    else return undefined;
  }
  return cur;
}

/** Inline every $ref (relative to `file`); a missing file or target accepts anything. */
function resolveRefs(node: unknown, file: string, root: unknown, seen: Set<string>): unknown {
  if (Array.isArray(node)) return node.map((n) => resolveRefs(n, file, root, seen));
  if (!node || typeof node !== 'object') return node;
  const obj = node as Record<string, unknown>;
  if (typeof obj.$ref === 'string') {
    const [filePart, ptr = ''] = obj.$ref.split('#');
    const target = filePart ? path.resolve(path.dirname(file), filePart) : file;
    const key = `${target}#${ptr}`;
    if (seen.has(key)) return {}; // recursive schema: stop, accept
    if (filePart && !fs.existsSync(target)) return {}; // not published: accept anything
    const doc = filePart ? loadYaml(target) : root;
    const sub = pointer(doc, ptr);
    if (sub === undefined) return {};
    return resolveRefs(sub, target, doc, new Set([...seen, key]));
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = resolveRefs(v, file, root, seen);
  return out;
}

function resolveFile(name: string, sub: 'paths' | 'schemas'): string {
  if (path.isAbsolute(name) && fs.existsSync(name)) return name;
  if (fs.existsSync(name)) return path.resolve(name);
  return path.join(openapiDir(), sub, name.endsWith('.yaml') ? name : `${name}.yaml`);
}

/**
 * The JSON response schema of the single operation in a paths/*.yaml file, e.g.
 * loadResponseSchema('eod_ticker.yaml') or ('calendar_dividends.yaml', '422').
 */
export function loadResponseSchema(pathFile: string, status = '200'): Schema {
  const file = resolveFile(pathFile, 'paths');
  const doc = loadYaml(file) as Record<string, Record<string, Record<string, unknown>>>;
  const [route] = Object.keys(doc);
  const op = doc[route].get ?? Object.values(doc[route])[0];
  const responses =
    (op as { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }).responses ?? {};
  const resp = responses[status];
  if (!resp) throw new Error(`${path.basename(file)} has no ${status} response`);
  const schema = resp.content?.['application/json']?.schema;
  if (schema === undefined) throw new Error(`${path.basename(file)} ${status} has no application/json schema`);
  return resolveRefs(schema, file, doc, new Set()) as Schema;
}

/** A named schema of schemas/*.yaml (the file's top-level key by default). */
export function loadSchema(schemaFile: string, name?: string): Schema {
  const file = resolveFile(schemaFile, 'schemas');
  const doc = loadYaml(file) as Record<string, unknown>;
  const key = name ?? Object.keys(doc)[0];
  return resolveRefs(doc[key], file, doc, new Set()) as Schema;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(v: unknown, t: string): boolean {
  switch (t) {
    case 'null':
      return v === null;
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'array':
      return Array.isArray(v);
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    default:
      return true;
  }
}

function isDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Violations of `schema` by `value`, as "path: message" strings (empty when valid). */
export function validate(schema: Schema, value: unknown, at = ''): string[] {
  if (schema === true || schema === undefined || schema === null) return [];
  if (schema === false) return [`${at || '/'}: no value is allowed here`];
  const s = schema as Record<string, unknown>;
  const where = at || '/';
  const errs: string[] = [];
  if (value === null && s.nullable === true) return [];

  if (s.type !== undefined) {
    const types = (Array.isArray(s.type) ? s.type : [s.type]) as string[];
    if (s.nullable === true) types.push('null');
    if (!types.some((t) => matchesType(value, t)))
      return [`${where}: expected ${types.join(' or ')}, got ${typeOf(value)}`];
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, value))) {
    errs.push(`${where}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  }
  if (s.format === 'date' && typeof value === 'string' && !isDate(value))
    errs.push(`${where}: "${value}" is not a date (YYYY-MM-DD)`);
  if (
    s.format === 'date-time' &&
    typeof value === 'string' &&
    (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) || Number.isNaN(Date.parse(value)))
  ) {
    errs.push(`${where}: "${value}" is not an RFC 3339 date-time`);
  }
  if (typeof value === 'number') {
    if (typeof s.minimum === 'number' && value < s.minimum) errs.push(`${where}: ${value} < minimum ${s.minimum}`);
    if (typeof s.maximum === 'number' && value > s.maximum) errs.push(`${where}: ${value} > maximum ${s.maximum}`);
  }

  if (matchesType(value, 'object')) {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[]) {
      if (obj[r] === undefined) errs.push(`${where}: missing required property "${r}"`);
    }
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) errs.push(...validate(props[k], v, `${at}/${k}`));
      else if (s.additionalProperties !== undefined)
        errs.push(...validate(s.additionalProperties as Schema, v, `${at}/${k}`));
    }
  }
  if (Array.isArray(value) && s.items !== undefined) {
    for (const [i, v] of value.entries()) errs.push(...validate(s.items as Schema, v, `${at}/${i}`));
  }
  if (Array.isArray(s.allOf)) for (const sub of s.allOf as Schema[]) errs.push(...validate(sub, value, at));
  if (Array.isArray(s.anyOf)) {
    const results = (s.anyOf as Schema[]).map((sub) => validate(sub, value, at));
    if (!results.some((r) => r.length === 0))
      errs.push(`${where}: matches none of anyOf (${results.map((r) => r[0]).join('; ')})`);
  }
  if (Array.isArray(s.oneOf)) {
    const results = (s.oneOf as Schema[]).map((sub) => validate(sub, value, at));
    const ok = results.filter((r) => r.length === 0).length;
    if (ok === 0) {
      // report the branch that came closest
      const best = results.reduce((a, b) => (b.length < a.length ? b : a));
      errs.push(`${where}: matches none of oneOf; closest branch: ${best.slice(0, 3).join('; ')}`);
    } else if (ok > 1) {
      errs.push(`${where}: matches ${ok} branches of oneOf (exactly one allowed)`);
    }
  }
  return errs;
}
