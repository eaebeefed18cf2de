/**
 * stack.yml, read the way faas-cli reads it: the one description of the functions. The
 * local gateway serves exactly these functions (resume-runs included), with their
 * handlers, environment, secrets, labels, annotations, limits and timeouts; it runs the
 * cron-connector's schedules from their annotations.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';

const stringMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));
const resources = z.strictObject({ memory: z.string().optional(), cpu: z.string().optional() });

/**
 * A function of the stack: every key of faas-cli's stack format (stack/schema.go `Function`),
 * no other, so that a misspelt key is an error here as it would be silently ignored there.
 */
const StackFunction = z.strictObject({
  lang: z.string().min(1),
  handler: z.string().min(1),
  image: z.string().min(1),
  fprocess: z.string().optional(),
  skip_build: z.boolean().optional(),
  platforms: z.string().optional(),
  build_options: z.array(z.string()).optional(),
  build_secrets: stringMap.optional(),
  namespace: z.string().optional(),
  build_args: stringMap.optional(),
  environment: stringMap.optional(),
  environment_file: z.array(z.string()).optional(),
  secrets: z.array(z.string().min(1)).optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  limits: resources.optional(),
  requests: resources.optional(),
  constraints: z.array(z.string()).optional(),
  readonly_root_filesystem: z.boolean().optional(),
});

export const StackFile = z.strictObject({
  version: z.union([z.literal(1.0), z.literal('1.0')]),
  provider: z.strictObject({ name: z.literal('openfaas'), gateway: z.string().url().optional() }),
  configuration: z
    .strictObject({
      copy: z.array(z.string()).optional(),
      templates: z.array(z.strictObject({ name: z.string(), source: z.string().optional() })).optional(),
    })
    .optional(),
  functions: z.record(
    z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'a function name is lower case letters, digits and dashes'),
    StackFunction,
  ),
});
export type StackFile = z.infer<typeof StackFile>;

/** A template's template.yml (faas-cli stack/schema.go `LanguageTemplate`). */
export const TemplateFile = z.strictObject({
  language: z.string().min(1),
  fprocess: z.string().min(1),
  welcome_message: z.string().optional(),
  handler_folder: z.string().optional(),
  mount_ssh: z.boolean().optional(),
  build_options: z.array(z.strictObject({ name: z.string(), packages: z.array(z.string()) })).optional(),
});
export type TemplateFile = z.infer<typeof TemplateFile>;

export const FUNCTION_NAMESPACE = 'openfaas-fn';

export interface FunctionSpec {
  name: string;
  /** The handler's folder under functions/ (resume-runs: init-execution). */
  handlerFolder: string;
  image: string;
  namespace: string;
  environment: Record<string, string>;
  secrets: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  limits: { memory?: string; cpu?: string } | null;
  requests: { memory?: string; cpu?: string } | null;
  readOnlyRootFilesystem: boolean;
  /** exec_timeout of the watchdog: a call past it gets 504. */
  execTimeoutMs: number;
  /** The cron-connector's schedule (annotations topic: cron-function, schedule), if any. */
  schedule: string | null;
}

/** faas-cli substitutes ${VAR} and ${VAR:-default} from the environment. */
export function substitute(s: string, env: NodeJS.ProcessEnv = process.env): string {
  return s.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (_, name: string, dflt: string | undefined) => env[name] || dflt || '',
  );
}

/** A Go duration (30s, 1m5s, 10m, 1h) in milliseconds. */
export function goDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let matched = '';
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    matched += m[0];
  }
  if (!matched || matched !== s.trim()) throw new Error(`"${s}" is not a duration like 30s, 1m5s or 10m`);
  return total;
}

/** Reads and checks a YAML file against a schema; an error names the file and what is wrong, in one line. */
export function loadYaml<T>(file: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${file}: ${i.path.join('.')}: ${i.message}`);
  }
  return r.data;
}

/** Reads and checks stack.yml: the functions the local gateway serves. */
export function readStack(file: string): FunctionSpec[] {
  const stack = loadYaml(file, StackFile);
  return Object.entries(stack.functions).map(([name, f]) => {
    const environment = f.environment ?? {};
    const annotations = f.annotations ?? {};
    return {
      name,
      handlerFolder: path.basename(f.handler),
      image: substitute(f.image),
      namespace: f.namespace ?? FUNCTION_NAMESPACE,
      environment,
      secrets: f.secrets ?? [],
      labels: f.labels ?? {},
      annotations,
      limits: f.limits ?? null,
      requests: f.requests ?? null,
      readOnlyRootFilesystem: f.readonly_root_filesystem ?? false,
      execTimeoutMs: goDuration(environment.exec_timeout ?? '10s'),
      schedule: annotations.topic === 'cron-function' && annotations.schedule ? annotations.schedule : null,
    };
  });
}
