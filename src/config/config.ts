import { z } from 'zod';
import type { StoreTarget } from '../store';
import { parseDuration } from './duration';

/**
 * Every environment variable the service reads, parsed once at start-up. A bad value stops the
 * process with a message that names the variable; secret values are never echoed back.
 */

const SECRET_KEYS = new Set([
  'SUPABASE_SERVICE_ROLE_KEY',
  'ADMIN_API_TOKEN',
  'INGEST_API_TOKEN',
  'LLM_API_KEY',
  'TEMPORAL_API_KEY',
  'DATABASE_URL',
]);

/** A blank value means "not set" for every variable (platforms often define empty variables). */
const blankAsUnset = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema);

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const duration = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseDuration(v && v.trim() !== '' ? v : fallback);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    });

const bool = (fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      if (/^(1|true|yes|on)$/i.test(v)) return true;
      if (/^(0|false|no|off)$/i.test(v)) return false;
      ctx.addIssue({ code: 'custom', message: 'must be true or false' });
      return z.NEVER;
    });

const port = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      // Decimal digits only: Number() would also take "0x1F90", "1e3" or "8081.0".
      const n = v === undefined || v.trim() === '' ? fallback : /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
      if (!Number.isInteger(n) || n < 0 || n > 65535) {
        ctx.addIssue({ code: 'custom', message: 'must be a port number from 0 to 65535' });
        return z.NEVER;
      }
      return n;
    });

const token = optionalString.refine((v) => v === undefined || v.length >= 16, 'must be at least 16 characters');

// Parsed here, not only shaped: an unparsable URL would otherwise fail later, without the variable's name.
const url = optionalString.refine((v) => v === undefined || (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) && URL.canParse(v)), 'must be a URL');

const hostPort = (fallback: string) =>
  optionalString
    .transform((v) => v ?? fallback)
    .refine((v) => /^[^\s:/]+:\d{1,5}$/.test(v) && Number(v.split(':')[1]) <= 65535, 'must be host:port');

export const EnvSchema = z.object({
  NODE_ENV: optionalString,
  LOG_LEVEL: blankAsUnset(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default('info')),
  PORT: port(8081),

  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: optionalString.transform((v) => v ?? 'default'),
  TEMPORAL_TASK_QUEUE: optionalString.transform((v) => v ?? 'prompt-optimization'),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: bool(false),
  TEMPORAL_TLS_CERT_PATH: optionalString,
  TEMPORAL_TLS_KEY_PATH: optionalString,
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_DEV_DB_FILE: optionalString.transform((v) => v ?? '.data/temporal.db'),
  TEMPORAL_DEV_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_UI_URL: url,
  TEMPORAL_METRICS_ADDRESS: hostPort('127.0.0.1:9464'),
  WORKFLOW_BUNDLE_PATH: optionalString,
  WORKER_URL: url,

  DATABASE_URL: url,
  SUPABASE_URL: url,
  NEXT_PUBLIC_SUPABASE_URL: url,
  SUPABASE_SERVICE_ROLE_KEY: optionalString,
  PGLITE_DATA_DIR: optionalString.transform((v) => v ?? '.data/pglite'),
  DATABASE_POOL_MAX: blankAsUnset(z.coerce.number().int().min(1).max(100).optional().default(10)),
  MIGRATE_ON_START: bool(true),

  ADMIN_API_TOKEN: token,
  INGEST_API_TOKEN: token,

  VARIANT_STRATEGY: blankAsUnset(z.enum(['rules', 'llm']).optional().default('rules')),
  LLM_BASE_URL: url,
  LLM_API_KEY: optionalString,
  OPENAI_API_KEY: optionalString,
  LLM_MODEL: optionalString.transform((v) => v ?? 'gpt-4o-mini'),
  LLM_TIMEOUT: duration('60s'),

  SCHEDULES_ENABLED: bool(true),
  SCHEDULE_ANALYSIS_EVERY: duration('1h'),
  SCHEDULE_RECONCILE_EVERY: duration('15m'),
  SCHEDULE_INTAKE_EVERY: duration('1m'),
  SCHEDULE_CATCHUP_WINDOW: duration('10m'),
  ANALYSIS_WINDOW_HOURS: blankAsUnset(z.coerce.number().int().min(1).max(8760).optional().default(24)),
  SHUTDOWN_GRACE: duration('30s'),

  // Slow clients must not hold connections open (Node's own defaults: 60 s for headers, 5 min per request).
  HTTP_HEADERS_TIMEOUT: duration('10s'),
  HTTP_REQUEST_TIMEOUT: duration('30s'),
  HTTP_KEEP_ALIVE_TIMEOUT: duration('5s'),

  // Late feedback (POST /v1/feedback) changes conversations logged at most this long ago.
  FEEDBACK_WINDOW: duration('7d').refine((ms) => ms >= 60_000 && ms <= 365 * 86_400_000, 'must be from 1m to 365d'),
});

export type TemporalTarget =
  | { kind: 'embedded'; cliPath?: string; dbFile: string; port: number; uiPort: number }
  | { kind: 'remote'; address: string; apiKey?: string; tls: boolean | { certPath: string; keyPath: string } };

export type { StoreTarget };

export interface Config {
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  port: number;
  temporal: TemporalTarget & { namespace: string; taskQueue: string; uiUrl: string };
  /** Where the Temporal core runtime serves its Prometheus metrics (merged into /metrics). */
  temporalMetricsAddress: string;
  /** A prebuilt workflow bundle (the image's); unset: bundle src/workflows at start. */
  workflowBundlePath?: string;
  store: StoreTarget;
  migrateOnStart: boolean;
  adminToken?: string;
  ingestToken?: string;
  variants: { strategy: 'rules' | 'llm'; llm?: { baseURL: string; apiKey: string; model: string; timeoutMs: number } };
  schedules: { enabled: boolean; analysisEveryMs: number; reconcileEveryMs: number; intakeEveryMs: number; catchupWindowMs: number };
  analysisWindowHours: number;
  shutdownGraceMs: number;
  http: HttpServerLimits;
  feedbackWindowMs: number;
}

/** Socket limits of the HTTP server (see src/worker/http-server.ts). */
export interface HttpServerLimits {
  /** Time to receive the request headers. */
  headersTimeoutMs: number;
  /** Time to receive the whole request (headers and body); the response may take longer. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** Parses `env` with `schema`; a bad value throws a ConfigError naming the variable, never echoing a secret. */
export function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map(
      (i) => `${i.path.join('.')}: ${SECRET_KEYS.has(String(i.path[0])) ? i.message.replace(/"[^"]*"/g, '"***"') : i.message}`,
    ),
  );
}

type Env = z.infer<typeof EnvSchema>;
type TemporalEnv = Pick<Env, 'TEMPORAL_ADDRESS' | 'TEMPORAL_API_KEY' | 'TEMPORAL_TLS' | 'TEMPORAL_TLS_CERT_PATH' | 'TEMPORAL_TLS_KEY_PATH'>;

/** A remote Temporal (Cloud or a cluster) from its variables; problems are pushed, not thrown. */
export function remoteTemporal(
  e: TemporalEnv & { TEMPORAL_ADDRESS: string },
  problems: string[],
): Extract<TemporalTarget, { kind: 'remote' }> {
  const addressPort = /^[^\s:/]+:(\d+)$/.exec(e.TEMPORAL_ADDRESS)?.[1];
  if (addressPort === undefined || Number(addressPort) < 1 || Number(addressPort) > 65535)
    problems.push('TEMPORAL_ADDRESS: must be host:port');
  if (Boolean(e.TEMPORAL_TLS_CERT_PATH) !== Boolean(e.TEMPORAL_TLS_KEY_PATH))
    problems.push('TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together');
  return {
    kind: 'remote',
    address: e.TEMPORAL_ADDRESS,
    apiKey: e.TEMPORAL_API_KEY,
    tls:
      e.TEMPORAL_TLS_CERT_PATH && e.TEMPORAL_TLS_KEY_PATH
        ? { certPath: e.TEMPORAL_TLS_CERT_PATH, keyPath: e.TEMPORAL_TLS_KEY_PATH }
        : e.TEMPORAL_TLS || Boolean(e.TEMPORAL_API_KEY),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = parseEnv(EnvSchema, env);
  const problems: string[] = [];

  const supabaseUrl = e.SUPABASE_URL ?? e.NEXT_PUBLIC_SUPABASE_URL;
  let store: StoreTarget;
  if (e.DATABASE_URL && supabaseUrl) problems.push('DATABASE_URL and SUPABASE_URL are both set: choose one store');
  if (supabaseUrl) {
    if (!e.SUPABASE_SERVICE_ROLE_KEY) problems.push('SUPABASE_SERVICE_ROLE_KEY: required with SUPABASE_URL');
    store = { kind: 'supabase', url: supabaseUrl, serviceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY ?? '' };
  } else if (e.DATABASE_URL) {
    if (!/^postgres(ql)?:\/\//.test(e.DATABASE_URL)) problems.push('DATABASE_URL: must start with postgres:// or postgresql://');
    store = { kind: 'postgres', connectionString: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX };
  } else {
    store = { kind: 'pglite', dataDir: e.PGLITE_DATA_DIR };
  }

  let temporal: TemporalTarget;
  if (e.TEMPORAL_ADDRESS) {
    temporal = remoteTemporal({ ...e, TEMPORAL_ADDRESS: e.TEMPORAL_ADDRESS }, problems);
  } else {
    temporal = {
      kind: 'embedded',
      cliPath: e.TEMPORAL_CLI_PATH,
      dbFile: e.TEMPORAL_DEV_DB_FILE,
      port: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
    };
  }

  const llmKey = e.LLM_API_KEY ?? e.OPENAI_API_KEY;
  if (e.VARIANT_STRATEGY === 'llm') {
    if (!e.LLM_BASE_URL) problems.push('LLM_BASE_URL: required when VARIANT_STRATEGY=llm');
    if (!llmKey) problems.push('LLM_API_KEY (or OPENAI_API_KEY): required when VARIANT_STRATEGY=llm');
  }
  if (e.HTTP_HEADERS_TIMEOUT > e.HTTP_REQUEST_TIMEOUT) problems.push('HTTP_HEADERS_TIMEOUT: must not be longer than HTTP_REQUEST_TIMEOUT');
  if (problems.length > 0) throw new ConfigError(problems);

  const uiUrl = e.TEMPORAL_UI_URL ?? (temporal.kind === 'embedded' ? `http://localhost:${temporal.uiPort}` : 'http://localhost:8233');
  return {
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    temporal: { ...temporal, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.TEMPORAL_TASK_QUEUE, uiUrl: uiUrl.replace(/\/$/, '') },
    temporalMetricsAddress: e.TEMPORAL_METRICS_ADDRESS,
    workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
    store,
    migrateOnStart: e.MIGRATE_ON_START,
    adminToken: e.ADMIN_API_TOKEN,
    ingestToken: e.INGEST_API_TOKEN,
    variants:
      e.VARIANT_STRATEGY === 'llm'
        ? { strategy: 'llm', llm: { baseURL: e.LLM_BASE_URL!, apiKey: llmKey!, model: e.LLM_MODEL, timeoutMs: e.LLM_TIMEOUT } }
        : { strategy: 'rules' },
    schedules: {
      enabled: e.SCHEDULES_ENABLED,
      analysisEveryMs: e.SCHEDULE_ANALYSIS_EVERY,
      reconcileEveryMs: e.SCHEDULE_RECONCILE_EVERY,
      intakeEveryMs: e.SCHEDULE_INTAKE_EVERY,
      catchupWindowMs: e.SCHEDULE_CATCHUP_WINDOW,
    },
    analysisWindowHours: e.ANALYSIS_WINDOW_HOURS,
    shutdownGraceMs: e.SHUTDOWN_GRACE,
    http: {
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT,
    },
    feedbackWindowMs: e.FEEDBACK_WINDOW,
  };
}

/** Secret values of a config, for redaction in logs and for tests that hunt for leaks. */
export function secretValues(config: Config): string[] {
  const values = [config.adminToken, config.ingestToken, config.variants.llm?.apiKey];
  if (config.store.kind === 'supabase') values.push(config.store.serviceRoleKey);
  if (config.store.kind === 'postgres') {
    const pw = /:\/\/[^:/@]+:([^@]+)@/.exec(config.store.connectionString)?.[1];
    if (pw) values.push(pw);
  }
  if (config.temporal.kind === 'remote') values.push(config.temporal.apiKey);
  return values.filter((v): v is string => typeof v === 'string' && v.length > 0);
}

/** A description of where the store lives that is safe to print. */
export function describeStore(store: StoreTarget): string {
  switch (store.kind) {
    case 'pglite':
      return `embedded PGlite at ${store.dataDir}`;
    case 'postgres': {
      try {
        const u = new URL(store.connectionString);
        return `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`;
      } catch {
        return 'PostgreSQL (DATABASE_URL)';
      }
    }
    case 'supabase':
      return `Supabase at ${new URL(store.url).host}`;
  }
}
