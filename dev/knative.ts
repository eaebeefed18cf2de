/**
 * The Knative variant, generated from stack.yml so that the two never drift: a Knative
 * Service per function (the same image, environment, secrets as files, limits, scale,
 * timeout and hardening), a PingSource per schedule, and the Broker with a Trigger per
 * chained function (the chain's asynchronous calls become CloudEvents: shared/platform/invoke.ts
 * sends them when BROKER_URL is set). `npm run knative` writes k8s/knative/; a test checks
 * that the files there are what this produces and that each object fits Knative's schema.
 */
import path from 'node:path';
import YAML from 'yaml';
import { FUNCTION_NAMES } from '../shared/platform/invoke.js';
import { OPERATOR_SECRETS } from '../shared/platform/operator.js';
import { goDuration, loadYaml, StackFile, substitute } from './gateway/stack.js';

export const KNATIVE_NAMESPACE = 'openfaas-fn';
const BROKER = 'screener';
export const BROKER_URL = `http://broker-ingress.knative-eventing.svc.cluster.local/${KNATIVE_NAMESPACE}/${BROKER}`;
/** Environment that only means something behind the OpenFaaS gateway and watchdog config. */
const OPENFAAS_ONLY = new Set(['gateway_url', 'write_debug']);
const HEADER = (what: string) =>
  `# Generated from stack.yml by \`npm run knative\` (dev/knative.ts): do not edit by hand.\n# ${what}\n`;

type Obj = Record<string, unknown>;

const isOperatorSecret = (name: string) => (OPERATOR_SECRETS as readonly string[]).includes(name);

function service(name: string, f: StackFile['functions'][string]): Obj {
  const env = Object.entries(f.environment ?? {})
    .filter(([k]) => !OPENFAAS_ONLY.has(k))
    .map(([k, v]) => ({ name: k, value: v }));
  env.push({ name: 'BROKER_URL', value: BROKER_URL });
  const labels = f.labels ?? {};
  const secrets = f.secrets ?? [];
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: KNATIVE_NAMESPACE,
      labels: { 'app.kubernetes.io/part-of': 'financial-screener' },
    },
    spec: {
      template: {
        metadata: {
          // The NetworkPolicy lets pods with faas_function reach PostgreSQL.
          labels: { faas_function: name },
          annotations: {
            'autoscaling.knative.dev/min-scale': labels['com.openfaas.scale.min'] ?? '1',
            'autoscaling.knative.dev/max-scale': labels['com.openfaas.scale.max'] ?? '1',
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': '8080',
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          timeoutSeconds: Math.ceil(goDuration(f.environment?.exec_timeout ?? '30s') / 1000),
          automountServiceAccountToken: false,
          containers: [
            {
              image: substitute(f.image, {}),
              ports: [{ containerPort: 8080 }],
              env,
              resources: { limits: f.limits ?? {}, requests: f.requests ?? {} },
              readinessProbe: { httpGet: { path: '/_/health' } },
              securityContext: {
                runAsNonRoot: true,
                readOnlyRootFilesystem: f.readonly_root_filesystem ?? true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [
                // Where OpenFaaS mounts secrets, so the code reads them the same way.
                ...(secrets.length > 0
                  ? [{ name: 'secrets', mountPath: '/var/openfaas/secrets', readOnly: true }]
                  : []),
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            ...(secrets.length > 0
              ? [
                  {
                    name: 'secrets',
                    // The operator credentials are optional here: Knative has no OpenFaaS gateway
                    // whose basic-auth pair exists, and a function without any refuses every write.
                    projected: {
                      sources: secrets.map((s) => ({
                        secret: {
                          name: s,
                          items: [{ key: s, path: s }],
                          ...(isOperatorSecret(s) ? { optional: true } : {}),
                        },
                      })),
                    },
                  },
                ]
              : []),
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}

function pingSource(name: string, f: StackFile['functions'][string]): Obj | null {
  const a = f.annotations ?? {};
  if (a.topic !== 'cron-function' || !a.schedule) return null;
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'PingSource',
    metadata: { name: `${name}-schedule`, namespace: KNATIVE_NAMESPACE },
    spec: {
      schedule: a.schedule,
      timezone: 'Etc/UTC',
      contentType: 'application/json',
      // What the cron-connector's empty body means for each (resume-runs: DEFAULT_MODE=resume).
      data: f.environment?.DEFAULT_MODE === 'resume' ? '{"mode":"resume"}' : '{}',
      sink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name } },
    },
  };
}

function broker(): Obj[] {
  return [
    { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: BROKER, namespace: KNATIVE_NAMESPACE } },
    ...FUNCTION_NAMES.map((fn) => ({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: `invoke-${fn}`, namespace: KNATIVE_NAMESPACE },
      spec: {
        broker: BROKER,
        filter: { attributes: { type: `screener.invoke.${fn}` } },
        subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: fn } },
        // A lost or failed delivery is also re-driven by resume-runs; the steps are idempotent.
        delivery: { retry: 2, backoffPolicy: 'exponential', backoffDelay: 'PT10S' },
      },
    })),
  ];
}

const yamlOf = (docs: Obj[]) => docs.map((d) => YAML.stringify(d, { lineWidth: 0 })).join('---\n');

/** File name -> content of k8s/knative/. */
export function knativeFiles(stackFile = path.resolve('stack.yml')): Record<string, string> {
  const stack = loadYaml(stackFile, StackFile);
  const fns = Object.entries(stack.functions);
  return {
    'services.yaml':
      HEADER('One Knative Service per function of stack.yml: the same images, environment, secrets and limits.') +
      yamlOf(fns.map(([n, f]) => service(n, f))),
    'schedules.yaml':
      HEADER("The cron-connector's schedules as PingSources (UTC).") +
      yamlOf(fns.map(([n, f]) => pingSource(n, f)).filter((x): x is Obj => x !== null)),
    'broker.yaml':
      HEADER("The chain's asynchronous calls: CloudEvents to this Broker, a Trigger per step.") + yamlOf(broker()),
  };
}
