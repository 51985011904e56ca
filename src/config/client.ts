import { ConfigError, EnvSchema, parseEnv, remoteTemporal, type TemporalTarget } from './config';

/**
 * The settings of the programs that talk to a running worker (the starter CLI), read from the same
 * variables, with the same rules, as the worker's own (`loadConfig`). With nothing set, they point
 * at the worker's embedded defaults: its HTTP API on PORT and its dev server on TEMPORAL_DEV_PORT,
 * so a shell that started `npm start` with PORT=9090 TEMPORAL_DEV_PORT=7300 finds it as it is.
 * Only these variables are read: a client never fails on a store or LLM setting it does not use.
 */
const ClientEnvSchema = EnvSchema.pick({
  PORT: true,
  WORKER_URL: true,
  ADMIN_API_TOKEN: true,
  TEMPORAL_ADDRESS: true,
  TEMPORAL_DEV_PORT: true,
  TEMPORAL_NAMESPACE: true,
  TEMPORAL_API_KEY: true,
  TEMPORAL_TLS: true,
  TEMPORAL_TLS_CERT_PATH: true,
  TEMPORAL_TLS_KEY_PATH: true,
});

export interface ClientConfig {
  /** The worker's HTTP API: WORKER_URL, else http://localhost:<PORT>. */
  workerUrl: string;
  adminToken?: string;
  /** TEMPORAL_ADDRESS, else the embedded worker's dev server on 127.0.0.1:<TEMPORAL_DEV_PORT>. */
  temporal: Extract<TemporalTarget, { kind: 'remote' }> & { namespace: string; embedded: boolean };
  /** Values to redact from anything printed. */
  secrets: string[];
}

export function loadClientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const e = parseEnv(ClientEnvSchema, env);
  const problems: string[] = [];
  // The embedded dev server listens on 127.0.0.1 only (src/temporal/dev-server.ts).
  const address = e.TEMPORAL_ADDRESS ?? `127.0.0.1:${e.TEMPORAL_DEV_PORT}`;
  const temporal = remoteTemporal({ ...e, TEMPORAL_ADDRESS: address }, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    workerUrl: (e.WORKER_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    adminToken: e.ADMIN_API_TOKEN,
    temporal: { ...temporal, namespace: e.TEMPORAL_NAMESPACE, embedded: !e.TEMPORAL_ADDRESS },
    secrets: [e.ADMIN_API_TOKEN, e.TEMPORAL_API_KEY].filter((s): s is string => Boolean(s)),
  };
}
