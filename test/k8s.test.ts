/**
 * k8s/: every manifest against the Kubernetes API's schemas (kubernetes-models), what the
 * cluster must look like (least privilege, network policy, hardened workloads, pinned
 * images, secrets as files, backups), the Helm values against the keys the charts read,
 * and no real credential in anything committed.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parse, parseAllDocuments } from 'yaml';

const root = process.cwd();
const k8s = path.join(root, 'k8s');

/** The Kubernetes models of the kinds k8s/ uses: each validates against the API's own schema. */
const MODELS = {
  Namespace,
  Service,
  StatefulSet,
  Secret,
  Job,
  CronJob,
  ConfigMap,
  NetworkPolicy,
  PersistentVolumeClaim,
};
type Kind = keyof typeof MODELS;
type Model<K extends Kind> = InstanceType<(typeof MODELS)[K]>;

function manifests(file: string): { kind: Kind; model: Model<Kind> }[] {
  const docs = parseAllDocuments(fs.readFileSync(path.join(k8s, file), 'utf8'));
  for (const d of docs) if (d.errors.length > 0) throw new Error(`k8s/${file}: ${d.errors[0]!.message}`);
  return docs
    .map((d) => d.toJS() as { kind: Kind })
    .filter(Boolean)
    .map((raw) => {
      const M = MODELS[raw.kind];
      if (!M) throw new Error(`k8s/${file}: kind ${raw.kind} has no model here`);
      // biome-ignore lint/suspicious/noExplicitAny: each model class takes its own kind's object
      const model = new M(raw as any);
      model.validate();
      return { kind: raw.kind, model };
    });
}
function only<K extends Kind>(file: string, kind: K): Model<K>[] {
  return manifests(file)
    .filter((m) => m.kind === kind)
    .map((m) => m.model as Model<K>);
}

/** What `kubectl apply -f k8s/` applies: the folder's own .yaml files, not its subfolders. */
const applied = fs.readdirSync(k8s).filter((f) => f.endsWith('.yaml'));
const everyManifest = [...applied, 'jobs/migrate.yaml', 'jobs/restore.yaml', 'examples/secrets.yaml'];

/** The pod specs of every workload, with where they are. */
function podSpecs(): Array<{ where: string; spec: IPodSpec }> {
  const out: Array<{ where: string; spec: IPodSpec }> = [];
  for (const file of everyManifest) {
    for (const { kind, model } of manifests(file)) {
      const name = `${file} ${kind} ${model.metadata?.name}`;
      if (kind === 'StatefulSet' || kind === 'Job') {
        const spec = (model as StatefulSet | Job).spec?.template.spec;
        if (spec) out.push({ where: name, spec });
      }
      if (kind === 'CronJob') {
        const spec = (model as CronJob).spec?.jobTemplate.spec?.template.spec;
        if (spec) out.push({ where: name, spec });
      }
    }
  }
  return out;
}

test('every manifest is valid against the Kubernetes API schema of its kind', (t) => {
  t.deepEqual(applied.sort(), ['backup.yaml', 'namespace.yaml', 'network-policy.yaml', 'postgres.yaml']);
  for (const file of everyManifest) t.notThrows(() => manifests(file), `k8s/${file}`);
});

test('the Kubernetes schema check catches a broken manifest (self-check)', (t) => {
  const job = {
    metadata: { name: 'x' },
    spec: { backoffLimit: 'four', template: { spec: { containers: [{ name: 'm' }] } } },
  };
  t.throws(() => new Job(job as unknown as Job).validate(), { message: /backoffLimit must be integer/ });
});

test('kubectl apply -f k8s/ applies no Secret: the placeholders are in k8s/examples/ only', (t) => {
  for (const file of applied) t.deepEqual(only(file, 'Secret'), [], file);
  t.is(only('examples/secrets.yaml', 'Secret').length, 6);
});

test('every workload: non-root, read-only root, no capabilities, no privilege escalation, seccomp, limits', (t) => {
  const pods = podSpecs();
  t.is(pods.length, 4, 'postgres, the backup, the migration and the restore');
  for (const { where, spec } of pods) {
    t.true(spec.securityContext?.runAsNonRoot, `${where}: runAsNonRoot`);
    t.true((spec.securityContext?.runAsUser ?? 0) > 0, `${where}: a numeric user`);
    t.is(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp`);
    t.false(spec.automountServiceAccountToken ?? true, `${where}: no API token it does not use`);
    for (const c of spec.containers) {
      t.true(c.securityContext?.readOnlyRootFilesystem, `${where}/${c.name}: read-only root`);
      t.false(c.securityContext?.allowPrivilegeEscalation ?? true, `${where}/${c.name}: no escalation`);
      t.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${where}/${c.name}: capabilities`);
      t.truthy(c.resources?.limits?.memory && c.resources.limits.cpu, `${where}/${c.name}: limits`);
    }
  }
});

test('images pinned to a version, here and in stack.yml; no secret in an environment variable', (t) => {
  for (const { where, spec } of podSpecs()) {
    for (const c of spec.containers) {
      t.regex(c.image ?? '', /:\d+\.\d+(\.\d+)?(-[a-z0-9]+)?$/, `${where}/${c.name}: ${c.image}`);
      for (const e of c.env ?? []) t.falsy(e.valueFrom?.secretKeyRef, `${where}/${c.name}: ${e.name} from a secret`);
    }
  }
  t.notRegex(fs.readFileSync(path.join(root, 'stack.yml'), 'utf8'), /:latest\b|TAG:-latest/);
});

test('PostgreSQL: 16, pinned, its logins made once (migration owner, functions in screener_functions), passwords as files', (t) => {
  const [sts] = only('postgres.yaml', 'StatefulSet');
  const c = sts?.spec?.template.spec?.containers[0];
  t.regex(c?.image ?? '', /^postgres:16\.\d+/);
  t.deepEqual(
    c?.env?.map((e) => e.name),
    ['POSTGRES_USER', 'POSTGRES_PASSWORD_FILE', 'PGDATA'],
  );
  t.true((sts?.spec?.volumeClaimTemplates ?? []).length > 0);
  const [init] = only('postgres.yaml', 'ConfigMap');
  const script = init?.data?.['10-screener-roles.sh'] ?? '';
  t.regex(script, /CREATE ROLE screener_migrate LOGIN/);
  t.regex(script, /CREATE ROLE screener_functions NOLOGIN/);
  t.regex(script, /CREATE ROLE screener_fn LOGIN PASSWORD :'functions_pw' IN ROLE screener_functions/);
  t.regex(script, /CREATE ROLE screener_readers NOLOGIN/);
  t.regex(script, /CREATE ROLE screener_screen LOGIN PASSWORD :'screen_pw' IN ROLE screener_readers/);
  t.regex(script, /GRANT CONNECT ON DATABASE screener TO screener_readers;/);
  t.regex(script, /CREATE DATABASE screener OWNER screener_migrate/);
  t.notRegex(script, /SUPERUSER|CREATEROLE|CREATEDB/, 'no login gets more than it needs');
  t.true(only('postgres.yaml', 'Service').some((m) => m.metadata?.name === 'postgres'));
});

test('network policy: ingress denied in the namespace, PostgreSQL open only to function pods, the migration and the backup', (t) => {
  const policies = only('network-policy.yaml', 'NetworkPolicy');
  const deny = policies.find((p) => p.metadata?.name === 'default-deny-ingress');
  t.deepEqual(deny?.spec?.podSelector, {});
  t.deepEqual(deny?.spec?.ingress, undefined);
  const pg = policies.find((p) => p.metadata?.name === 'postgres-clients');
  const from = pg?.spec?.ingress?.[0]?.from ?? [];
  t.deepEqual(pg?.spec?.ingress?.[0]?.ports, [{ protocol: 'TCP', port: 5432 }]);
  t.is(from.length, 3);
  t.deepEqual(from[0]?.podSelector?.matchExpressions, [{ key: 'faas_function', operator: 'Exists' }]);
  t.is(from[1]?.podSelector?.matchLabels?.['app.kubernetes.io/name'], 'screener-migrate');
  t.is(from[2]?.podSelector?.matchLabels?.['app.kubernetes.io/name'], 'screener-backup');
  // The pods the policy names carry those labels.
  const [migrate] = only('jobs/migrate.yaml', 'Job');
  t.is(migrate?.spec?.template.metadata?.labels?.['app.kubernetes.io/name'], 'screener-migrate');
  const [backup] = only('backup.yaml', 'CronJob');
  t.is(backup?.spec?.jobTemplate.spec?.template.metadata?.labels?.['app.kubernetes.io/name'], 'screener-backup');
});

test('the migration Job runs migrate-cli as the schema owner, its URL a mounted file', (t) => {
  const [job] = only('jobs/migrate.yaml', 'Job');
  t.is(job?.metadata?.namespace, 'openfaas-fn');
  const spec = job?.spec?.template.spec;
  const c = spec?.containers[0];
  t.regex(c?.image ?? '', /^ghcr\.io\/financial-screener\/init-execution:\d/);
  t.deepEqual(c?.command, ['node', '/home/app/dist/shared/store/migrate-cli.js']);
  const dir = c?.env?.find((e) => e.name === 'SECRETS_DIR')?.value;
  const mount = c?.volumeMounts?.find((m) => m.mountPath === dir);
  const volume = spec?.volumes?.find((v) => v.name === mount?.name);
  t.is(volume?.secret?.secretName, 'database-url-migrate');
  t.deepEqual(volume?.secret?.items, [{ key: 'database-url', path: 'database-url' }]);
});

test('backups: a nightly pg_dump with retention on its own volume, and a restore Job for one dump', (t) => {
  const [cron] = only('backup.yaml', 'CronJob');
  t.regex(cron?.spec?.schedule ?? '', /^\d+ \d+ \* \* \*$/);
  t.is(cron?.spec?.concurrencyPolicy, 'Forbid');
  const c = cron?.spec?.jobTemplate.spec?.template.spec?.containers[0];
  const script = c?.args?.join('\n') ?? '';
  t.regex(script, /pg_dump --format=custom/);
  t.regex(script, /-mtime "\+\$RETENTION_DAYS" -print -delete/);
  t.true(Number(c?.env?.find((e) => e.name === 'RETENTION_DAYS')?.value) > 0);
  t.is(only('backup.yaml', 'PersistentVolumeClaim')[0]?.metadata?.name, 'screener-backups');
  const [restore] = only('jobs/restore.yaml', 'Job');
  t.regex(restore?.spec?.template.spec?.containers[0]?.args?.join('\n') ?? '', /pg_restore --clean --if-exists/);
});

test('secret templates: the function, migration and API-key secrets keyed as the readers expect', (t) => {
  const secrets = only('examples/secrets.yaml', 'Secret');
  const text = fs.readFileSync(path.join(k8s, 'examples', 'secrets.yaml'), 'utf8');
  for (const [name, key] of [
    ['database-url', 'database-url'],
    ['database-url-migrate', 'database-url'],
    ['eodhd-api-key', 'eodhd-api-key'],
    ['screen-database-url', 'screen-database-url'],
    ['screener-admin-token', 'screener-admin-token'],
  ] as const) {
    const s = secrets.find((m) => m.metadata?.name === name);
    t.is(s?.metadata?.namespace, 'openfaas-fn', name);
    t.truthy(s?.stringData?.[key], name);
  }
  t.regex(
    secrets.find((m) => m.metadata?.name === 'database-url')?.stringData?.['database-url'] ?? '',
    /\/\/screener_fn:/,
  );
  t.true(text.includes('faas-cli secret create database-url'));
  t.true(text.includes('faas-cli secret create eodhd-api-key'));
  t.true(text.includes('faas-cli secret create screen-database-url'));
  t.regex(
    secrets.find((m) => m.metadata?.name === 'screen-database-url')?.stringData?.['screen-database-url'] ?? '',
    /\/\/screener_screen:/,
    'the screen reads as its read-only login',
  );
  for (const name of ['screener-admin-token', 'basic-auth-user', 'basic-auth-password'])
    t.true(text.includes(`faas-cli secret create ${name}`), name);
});

/** Every key path of a values file (a.b.c for nested maps). */
function keyPaths(o: unknown, prefix = ''): string[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return [prefix];
  return Object.entries(o).flatMap(([k, v]) => keyPaths(v, prefix ? `${prefix}.${k}` : k));
}

test('the Helm values use only keys the charts read (a misspelt key would be ignored silently)', (t) => {
  for (const [file, chart] of [
    ['openfaas-values.yaml', 'openfaas'],
    ['cron-connector-values.yaml', 'cron-connector'],
  ]) {
    const fixture = JSON.parse(
      fs.readFileSync(path.join(root, 'test', 'fixtures', 'helm', `${chart}-chart-keys.json`), 'utf8'),
    );
    const known = new Set<string>(fixture.keys);
    const used = keyPaths(parse(fs.readFileSync(path.join(k8s, 'helm', file), 'utf8')));
    t.deepEqual(
      used.filter((k) => !known.has(k)),
      [],
      `${file}: keys the ${chart} chart ${fixture.version} does not read`,
    );
  }
  // (Self-check: a misspelling is not among the keys.)
  const openfaas = JSON.parse(
    fs.readFileSync(path.join(root, 'test', 'fixtures', 'helm', 'openfaas-chart-keys.json'), 'utf8'),
  );
  t.false(openfaas.keys.includes(keyPaths({ gateway: { upstreamTimeOut: '1m' } })[0]));
  t.true(openfaas.keys.includes(keyPaths({ gateway: { upstreamTimeout: '1m' } })[0]));
});

test('the cron-connector invokes asynchronously (a 10-minute step does not block the next tick)', (t) => {
  t.regex(
    fs.readFileSync(path.join(k8s, 'helm', 'cron-connector-values.yaml'), 'utf8'),
    /^asyncInvocation:\s*true\s*$/m,
  );
});

const PLACEHOLDER =
  /^(?:\$\(\S*|CHANGE_?ME|REPLACE[A-Z0-9_]*|<[^>]*>|\$\{?[A-Za-z_]\w*\}?|x{3,}|\*{3,}|placeholder|example|demo|changeme|\.{0,2}\/\S*)$/i;

/** Things that look like a real credential: URL passwords, key/password assignments, EODHD-style keys, long tokens. */
function findSecretLike(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]+:([^\s@'"]+)@/gi)) {
    if (!PLACEHOLDER.test(m[1]!)) found.push(`password in URL: ${m[0]}`);
  }
  const assign =
    /(?:^|[\s"'{,=-])([\w.-]*?(?:password|passwd|api[_-]?key|api[_-]?token|access[_-]?token|auth[_-]?token))["']?[ \t]*[:=](?!')[ \t]*["']?([^\s"',}#]*)/gim;
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
  t.deepEqual(findSecretLike('PGPASSWORD="$(cat /etc/screener/MIGRATE_PASSWORD)"'), [], 'read from a file');
  t.deepEqual(findSecretLike("LOGIN PASSWORD :'migrate_pw'"), [], "psql's variable");
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
    ...fs.readdirSync(k8s, { recursive: true, encoding: 'utf8' }).map((f) => path.join(k8s, f)),
    ...fs.readdirSync(template, { recursive: true, encoding: 'utf8' }).map((f) => path.join(template, f)),
  ].filter((f) => fs.statSync(f).isFile());
  for (const file of files) t.deepEqual(findSecretLike(fs.readFileSync(file, 'utf8')), [], path.relative(root, file));
});
