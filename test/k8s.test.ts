/**
 * k8s/: the manifests a cluster applies beside the functions (namespaces, PostgreSQL, the
 * secrets' templates, the migration Job, the Helm values of OpenFaaS and the
 * cron-connector), and no real credential in anything that is committed.
 */

import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';

const root = process.cwd();
const k8s = path.join(root, 'k8s');

/** The Kubernetes models of the kinds k8s/ uses: each validates against the API's own schema. */
const MODELS = { Namespace, Service, StatefulSet, Secret, Job } as const;
type Kind = keyof typeof MODELS;

function manifests(file: string): { kind: Kind; model: InstanceType<(typeof MODELS)[Kind]> }[] {
  const docs = parseAllDocuments(fs.readFileSync(path.join(k8s, file), 'utf8'));
  for (const d of docs) if (d.errors.length > 0) throw new Error(`k8s/${file}: ${d.errors[0]!.message}`);
  return docs
    .map((d) => d.toJS() as { kind: Kind })
    .filter(Boolean)
    .map((raw) => {
      const Model = MODELS[raw.kind];
      if (!Model) throw new Error(`k8s/${file}: kind ${raw.kind} has no model here`);
      // biome-ignore lint/suspicious/noExplicitAny: each model class takes its own kind's object
      const model = new Model(raw as any);
      model.validate();
      return { kind: raw.kind, model };
    });
}
function only<K extends Kind>(file: string, kind: K): InstanceType<(typeof MODELS)[K]>[] {
  return manifests(file)
    .filter((m) => m.kind === kind)
    .map((m) => m.model as InstanceType<(typeof MODELS)[K]>);
}

const manifestFiles = fs.readdirSync(k8s).filter((f) => f.endsWith('.yaml') && !f.endsWith('-values.yaml'));

test('every manifest is valid against the Kubernetes API schema of its kind', (t) => {
  t.deepEqual(manifestFiles.sort(), ['migrate-job.yaml', 'namespace.yaml', 'postgres.yaml', 'secrets.example.yaml']);
  for (const file of manifestFiles) t.notThrows(() => manifests(file), `k8s/${file}`);
});

test('the Kubernetes schema check catches a broken manifest (self-check)', (t) => {
  const job = {
    metadata: { name: 'x' },
    spec: { backoffLimit: 'four', template: { spec: { containers: [{ name: 'm' }] } } },
  };
  t.throws(() => new Job(job as unknown as Job).validate(), { message: /backoffLimit must be integer/ });
});

test('namespaces, and PostgreSQL 16 as a StatefulSet with limits, a volume and its password from a Secret', (t) => {
  t.deepEqual(
    only('namespace.yaml', 'Namespace')
      .map((m) => m.metadata?.name)
      .sort(),
    ['financial-screener', 'openfaas-fn'],
  );
  const [sts] = only('postgres.yaml', 'StatefulSet');
  t.is(sts?.metadata?.namespace, 'financial-screener');
  const c = sts?.spec?.template.spec?.containers[0];
  t.regex(c?.image ?? '', /^postgres:16(\b|[.-])/);
  t.truthy(c?.resources?.limits?.memory && c.resources.limits.cpu);
  t.truthy(c?.env?.find((e) => e.name === 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef?.name);
  t.true((sts?.spec?.volumeClaimTemplates ?? []).length > 0);
  t.true(only('postgres.yaml', 'Service').some((m) => m.metadata?.name === 'postgres'));
});

test('secret templates: database-url and eodhd-api-key in openfaas-fn, keyed by their names as faas-cli creates them', (t) => {
  const secrets = only('secrets.example.yaml', 'Secret');
  const text = fs.readFileSync(path.join(k8s, 'secrets.example.yaml'), 'utf8');
  for (const name of ['database-url', 'eodhd-api-key']) {
    const s = secrets.find((m) => m.metadata?.name === name);
    t.is(s?.metadata?.namespace, 'openfaas-fn', name);
    t.truthy(s?.stringData?.[name], name);
    t.true(text.includes(`faas-cli secret create ${name}`), name);
  }
});

test('the migration Job runs dist/shared/migrate-cli.js from a function image with the database-url secret', (t) => {
  const [job] = only('migrate-job.yaml', 'Job');
  t.is(job?.metadata?.namespace, 'openfaas-fn');
  const c = job?.spec?.template.spec?.containers[0];
  t.regex(c?.image ?? '', /^ghcr\.io\/financial-screener\/init-execution:/);
  t.deepEqual(c?.command, ['node', '/home/app/dist/shared/migrate-cli.js']);
  t.is(c?.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef?.name, 'database-url');
});

test('the cron-connector invokes asynchronously (a 10-minute step does not block the next tick)', (t) => {
  t.regex(fs.readFileSync(path.join(k8s, 'cron-connector-values.yaml'), 'utf8'), /^asyncInvocation:\s*true\s*$/m);
});

const PLACEHOLDER =
  /^(?:CHANGE_?ME|REPLACE[A-Z0-9_]*|<[^>]*>|\$\{?[A-Za-z_]\w*\}?|x{3,}|\*{3,}|placeholder|example|demo|changeme|\.{0,2}\/\S*)$/i;

/** Things that look like a real credential: URL passwords, key/password assignments, EODHD-style keys, long tokens. */
function findSecretLike(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]+:([^\s@'"]+)@/gi)) {
    if (!PLACEHOLDER.test(m[1]!)) found.push(`password in URL: ${m[0]}`);
  }
  const assign =
    /(?:^|[\s"'{,=-])([\w.-]*?(?:password|passwd|api[_-]?key|api[_-]?token|access[_-]?token|auth[_-]?token))["']?[ \t]*[:=][ \t]*["']?([^\s"',}#]*)/gim;
  for (const m of text.matchAll(assign)) if (m[2] && !PLACEHOLDER.test(m[2])) found.push(`${m[1]} = ${m[2]}`);
  for (const m of text.matchAll(/\b[0-9a-f]{10,}\.[0-9]{5,}\b/gi)) found.push(`EODHD-style key: ${m[0]}`);
  for (const m of text.matchAll(/\b[A-Za-z0-9]{24,}\b/g))
    if (/\d/.test(m[0]) && /[A-Za-z]/.test(m[0])) found.push(`token: ${m[0]}`);
  return found;
}

test('the credential detector catches real-looking credentials and passes placeholders (self-check)', (t) => {
  t.true(findSecretLike(`eodhd-api-key: ${['6a1f0c9e2b7d', '40718215'].join('.')}`).length > 0);
  t.true(findSecretLike(`url: postgres://u:${'s3cr'}${'etPw'}@db:5432/x`).length > 0);
  t.true(findSecretLike(`POSTGRES_PASSWORD: ${'hunter'}${'2x'}`).length > 0);
  t.true(findSecretLike(`token ${'A1b2C3d4E5f6G7h8'}${'I9j0K1l2M3'}`).length > 0);
  t.deepEqual(
    findSecretLike(
      'POSTGRES_PASSWORD: CHANGE_ME\neodhd-api-key: REPLACE_WITH_YOUR_EODHD_API_KEY\nurl: postgres://screener:<db-password>@h:5432/s',
    ),
    [],
  );
});

test('no real-looking API key or password in stack.yml, k8s/ or the template', (t) => {
  const template = path.join(root, 'templates', 'node20-ts');
  const files = [
    path.join(root, 'stack.yml'),
    ...fs.readdirSync(k8s).map((f) => path.join(k8s, f)),
    ...fs.readdirSync(template, { recursive: true, encoding: 'utf8' }).map((f) => path.join(template, f)),
  ].filter((f) => fs.statSync(f).isFile());
  for (const file of files) t.deepEqual(findSecretLike(fs.readFileSync(file, 'utf8')), [], path.relative(root, file));
});
