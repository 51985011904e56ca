import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadClientConfig } from '../../src/config/client';
import { ConfigError, describeStore, loadConfig, secretValues } from '../../src/config/config';

/**
 * loadConfig on plain env objects (never process.env): defaults, aliases, and every kind of bad
 * value stops with a ConfigError that names the variable and never echoes a secret.
 */

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.message).toBe(`invalid configuration:\n  - ${e.problems.join('\n  - ')}`);
    return e.problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/** The problems mention exactly these variables (each problem starts with one). */
function expectNamed(env: Record<string, string>, ...vars: string[]) {
  const problems = problemsOf(env);
  for (const v of vars)
    expect(
      problems.some((p) => p.startsWith(`${v}:`) || p.startsWith(`${v} `)),
      `${v} in ${JSON.stringify(problems)}`,
    ).toBe(true);
  return problems;
}

const REMOTE = { TEMPORAL_ADDRESS: 'temporal.example.com:7233' };

describe('loadConfig', () => {
  it('defaults: port 8081, embedded Temporal dev server and PGlite when nothing is set', () => {
    const c = loadConfig({});
    expect(c).toEqual({
      logLevel: 'info',
      port: 8081,
      temporal: {
        kind: 'embedded',
        cliPath: undefined,
        dbFile: '.data/temporal.db',
        port: 7233,
        uiPort: 8233,
        namespace: 'default',
        taskQueue: 'prompt-optimization',
        uiUrl: 'http://localhost:8233',
      },
      temporalMetricsAddress: '127.0.0.1:9464',
      workflowBundlePath: undefined,
      store: { kind: 'pglite', dataDir: '.data/pglite' },
      migrateOnStart: true,
      adminToken: undefined,
      ingestToken: undefined,
      variants: { strategy: 'rules' },
      schedules: { enabled: true, analysisEveryMs: 3_600_000, reconcileEveryMs: 900_000, intakeEveryMs: 60_000, catchupWindowMs: 600_000 },
      analysisWindowHours: 24,
      shutdownGraceMs: 30_000,
      http: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 },
      feedbackWindowMs: 604_800_000,
    });
    expect(secretValues(c)).toEqual([]);
  });

  it('blank values mean "not set" for every variable', () => {
    const blank = Object.fromEntries(
      [
        'PORT',
        'LOG_LEVEL',
        'TEMPORAL_ADDRESS',
        'TEMPORAL_NAMESPACE',
        'DATABASE_URL',
        'SUPABASE_URL',
        'DATABASE_POOL_MAX',
        'ADMIN_API_TOKEN',
        'VARIANT_STRATEGY',
        'LLM_TIMEOUT',
        'SCHEDULES_ENABLED',
        'ANALYSIS_WINDOW_HOURS',
        'SHUTDOWN_GRACE',
        'MIGRATE_ON_START',
        'HTTP_HEADERS_TIMEOUT',
        'FEEDBACK_WINDOW',
      ].map((k) => [k, k === 'LOG_LEVEL' ? '' : '  ']),
    );
    expect(loadConfig(blank)).toEqual(loadConfig({}));
  });

  it('reads every setting', () => {
    const c = loadConfig({
      PORT: '9000',
      LOG_LEVEL: 'debug',
      ...REMOTE,
      TEMPORAL_NAMESPACE: 'prod.acct',
      TEMPORAL_TASK_QUEUE: 'q',
      TEMPORAL_API_KEY: 'tk-0123456789',
      TEMPORAL_UI_URL: 'https://cloud.temporal.io/',
      DATABASE_URL: 'postgresql://u:pw@db:6543/app',
      DATABASE_POOL_MAX: '7',
      MIGRATE_ON_START: 'no',
      ADMIN_API_TOKEN: 'a'.repeat(16),
      INGEST_API_TOKEN: 'i'.repeat(20),
      VARIANT_STRATEGY: 'llm',
      LLM_BASE_URL: 'http://ollama:11434/v1',
      OPENAI_API_KEY: 'sk-openai',
      LLM_MODEL: 'llama3',
      LLM_TIMEOUT: '90s',
      SCHEDULES_ENABLED: 'off',
      SCHEDULE_ANALYSIS_EVERY: '2h',
      SCHEDULE_RECONCILE_EVERY: '5m',
      SCHEDULE_INTAKE_EVERY: '30s',
      SCHEDULE_CATCHUP_WINDOW: '1d',
      ANALYSIS_WINDOW_HOURS: '48',
      SHUTDOWN_GRACE: '1500ms',
      TEMPORAL_METRICS_ADDRESS: '127.0.0.1:9500',
      WORKFLOW_BUNDLE_PATH: 'dist/workflow-bundle.js',
      HTTP_HEADERS_TIMEOUT: '2s',
      HTTP_REQUEST_TIMEOUT: '1m',
      HTTP_KEEP_ALIVE_TIMEOUT: '750ms',
      FEEDBACK_WINDOW: '3d',
    });
    expect(c).toEqual({
      logLevel: 'debug',
      port: 9000,
      temporal: {
        kind: 'remote',
        address: 'temporal.example.com:7233',
        apiKey: 'tk-0123456789',
        tls: true,
        namespace: 'prod.acct',
        taskQueue: 'q',
        uiUrl: 'https://cloud.temporal.io',
      },
      temporalMetricsAddress: '127.0.0.1:9500',
      workflowBundlePath: 'dist/workflow-bundle.js',
      store: { kind: 'postgres', connectionString: 'postgresql://u:pw@db:6543/app', poolMax: 7 },
      migrateOnStart: false,
      adminToken: 'a'.repeat(16),
      ingestToken: 'i'.repeat(20),
      variants: { strategy: 'llm', llm: { baseURL: 'http://ollama:11434/v1', apiKey: 'sk-openai', model: 'llama3', timeoutMs: 90_000 } },
      schedules: {
        enabled: false,
        analysisEveryMs: 7_200_000,
        reconcileEveryMs: 300_000,
        intakeEveryMs: 30_000,
        catchupWindowMs: 86_400_000,
      },
      analysisWindowHours: 48,
      shutdownGraceMs: 1500,
      http: { headersTimeoutMs: 2_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 750 },
      feedbackWindowMs: 259_200_000,
    });
    expect(secretValues(c).sort()).toEqual(['a'.repeat(16), 'i'.repeat(20), 'pw', 'sk-openai', 'tk-0123456789'].sort());
    expect(describeStore(c.store)).toBe('PostgreSQL at db:6543/app');
    expect(
      loadConfig({
        ...REMOTE,
        LLM_API_KEY: 'primary',
        OPENAI_API_KEY: 'fallback',
        VARIANT_STRATEGY: 'llm',
        LLM_BASE_URL: 'https://api.openai.com/v1',
      }).variants.llm?.apiKey,
    ).toBe('primary');
    expect(loadConfig({ ...REMOTE, TEMPORAL_TLS_CERT_PATH: '/c.pem', TEMPORAL_TLS_KEY_PATH: '/k.pem' }).temporal).toMatchObject({
      tls: { certPath: '/c.pem', keyPath: '/k.pem' },
    });
    expect(loadConfig({ ...REMOTE, TEMPORAL_TLS: 'true' }).temporal).toMatchObject({ tls: true });
    expect(loadConfig({ ...REMOTE }).temporal).toMatchObject({ tls: false, uiUrl: 'http://localhost:8233' });
    expect(loadConfig({ TEMPORAL_UI_PORT: '9233' }).temporal.uiUrl).toBe('http://localhost:9233');
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
    expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
  });

  it('Supabase: SUPABASE_URL or NEXT_PUBLIC_SUPABASE_URL, with the service role key', () => {
    const viaAlias = loadConfig({ NEXT_PUBLIC_SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'srk' });
    expect(viaAlias.store).toEqual({ kind: 'supabase', url: 'https://abc.supabase.co', serviceRoleKey: 'srk' });
    expect(describeStore(viaAlias.store)).toBe('Supabase at abc.supabase.co');
    expect(secretValues(viaAlias)).toEqual(['srk']);
    const both = loadConfig({
      SUPABASE_URL: 'https://main.supabase.co',
      NEXT_PUBLIC_SUPABASE_URL: 'https://other.supabase.co',
      SUPABASE_SERVICE_ROLE_KEY: 'srk',
    });
    expect(both.store).toMatchObject({ url: 'https://main.supabase.co' });

    expect(expectNamed({ SUPABASE_URL: 'https://abc.supabase.co' }, 'SUPABASE_SERVICE_ROLE_KEY')).toEqual([
      'SUPABASE_SERVICE_ROLE_KEY: required with SUPABASE_URL',
    ]);
    expectNamed({ NEXT_PUBLIC_SUPABASE_URL: 'https://abc.supabase.co' }, 'SUPABASE_SERVICE_ROLE_KEY');
    expectNamed({ SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY: '   ' }, 'SUPABASE_SERVICE_ROLE_KEY');
    expectNamed(
      { SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'k', DATABASE_URL: 'postgres://h/db' },
      'DATABASE_URL and SUPABASE_URL',
    );
    expectNamed({ SUPABASE_URL: 'abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'k' }, 'SUPABASE_URL');
    expectNamed({ SUPABASE_URL: 'https://', SUPABASE_SERVICE_ROLE_KEY: 'k' }, 'SUPABASE_URL');
    expectNamed({ NEXT_PUBLIC_SUPABASE_URL: 'nope', SUPABASE_SERVICE_ROLE_KEY: 'k' }, 'NEXT_PUBLIC_SUPABASE_URL');
  });

  it('bad HTTP timeouts name the variable', () => {
    expectNamed({ HTTP_HEADERS_TIMEOUT: 'soon' }, 'HTTP_HEADERS_TIMEOUT');
    expectNamed({ HTTP_REQUEST_TIMEOUT: '0s' }, 'HTTP_REQUEST_TIMEOUT');
    expectNamed({ HTTP_KEEP_ALIVE_TIMEOUT: '-5s' }, 'HTTP_KEEP_ALIVE_TIMEOUT');
    expect(expectNamed({ HTTP_HEADERS_TIMEOUT: '1m', HTTP_REQUEST_TIMEOUT: '30s' }, 'HTTP_HEADERS_TIMEOUT')).toEqual([
      'HTTP_HEADERS_TIMEOUT: must not be longer than HTTP_REQUEST_TIMEOUT',
    ]);
  });

  it('bad ports name the variable', () => {
    for (const v of ['abc', '-1', '65536', '80.5', '0x1F90', '1e3', '8O81', '99999999999999999999']) {
      expect(expectNamed({ PORT: v }, 'PORT'), v).toEqual(['PORT: must be a port number from 0 to 65535']);
    }
    expectNamed({ TEMPORAL_DEV_PORT: 'x' }, 'TEMPORAL_DEV_PORT');
    expectNamed({ TEMPORAL_UI_PORT: '70000' }, 'TEMPORAL_UI_PORT');
    const several = expectNamed({ PORT: 'x', TEMPORAL_DEV_PORT: 'y' }, 'PORT', 'TEMPORAL_DEV_PORT');
    expect(several).toHaveLength(2);
  });

  it('bad durations, booleans, numbers and enums name the variable', () => {
    for (const name of [
      'SHUTDOWN_GRACE',
      'LLM_TIMEOUT',
      'SCHEDULE_ANALYSIS_EVERY',
      'SCHEDULE_RECONCILE_EVERY',
      'SCHEDULE_INTAKE_EVERY',
      'SCHEDULE_CATCHUP_WINDOW',
    ]) {
      for (const v of ['soon', '0', '0s', '-5m', '5 minutes', '1w', 'Infinity']) expectNamed({ [name]: v }, name);
    }
    expect(loadConfig({ SHUTDOWN_GRACE: '2.5s' }).shutdownGraceMs).toBe(2500);
    expect(loadConfig({ SHUTDOWN_GRACE: '750' }).shutdownGraceMs).toBe(750);
    expectNamed({ SCHEDULES_ENABLED: 'maybe' }, 'SCHEDULES_ENABLED');
    expectNamed({ MIGRATE_ON_START: '2' }, 'MIGRATE_ON_START');
    expectNamed({ TEMPORAL_TLS: 'tls' }, 'TEMPORAL_TLS');
    expectNamed({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL');
    expectNamed({ DATABASE_POOL_MAX: '0' }, 'DATABASE_POOL_MAX');
    expectNamed({ DATABASE_POOL_MAX: 'ten' }, 'DATABASE_POOL_MAX');
    expectNamed({ ANALYSIS_WINDOW_HOURS: '8761' }, 'ANALYSIS_WINDOW_HOURS');
    expectNamed({ ANALYSIS_WINDOW_HOURS: '1.5' }, 'ANALYSIS_WINDOW_HOURS');
    expectNamed({ TEMPORAL_UI_URL: 'localhost:8233' }, 'TEMPORAL_UI_URL');
    for (const v of ['soon', '30s', '366d']) expectNamed({ FEEDBACK_WINDOW: v }, 'FEEDBACK_WINDOW');
  });

  it('bad Temporal settings name the variable', () => {
    for (const v of [
      'localhost',
      'http://localhost:7233',
      'localhost:',
      ':7233',
      'host:port',
      'a b:7233',
      'host:70000',
      'host:0',
      '[::1]:7233x',
    ]) {
      expect(expectNamed({ TEMPORAL_ADDRESS: v }, 'TEMPORAL_ADDRESS'), v).toEqual(['TEMPORAL_ADDRESS: must be host:port']);
    }
    expectNamed({ ...REMOTE, TEMPORAL_TLS_CERT_PATH: '/c.pem' }, 'TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH');
    expectNamed({ ...REMOTE, TEMPORAL_TLS_KEY_PATH: '/k.pem' }, 'TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH');
  });

  it('bad LLM settings name the variable', () => {
    expect(expectNamed({ VARIANT_STRATEGY: 'llm' }, 'LLM_BASE_URL', 'LLM_API_KEY')).toHaveLength(2);
    expectNamed({ VARIANT_STRATEGY: 'llm', LLM_API_KEY: 'k' }, 'LLM_BASE_URL');
    expectNamed({ VARIANT_STRATEGY: 'llm', LLM_BASE_URL: 'https://api.openai.com/v1' }, 'LLM_API_KEY');
    expectNamed({ VARIANT_STRATEGY: 'llm', LLM_BASE_URL: 'api.openai.com', LLM_API_KEY: 'k' }, 'LLM_BASE_URL');
    expectNamed(
      { VARIANT_STRATEGY: 'llm', LLM_BASE_URL: 'https://api.openai.com/v1', LLM_API_KEY: 'k', LLM_TIMEOUT: 'forever' },
      'LLM_TIMEOUT',
    );
    expectNamed({ VARIANT_STRATEGY: 'gpt' }, 'VARIANT_STRATEGY');
    // LLM settings without the llm strategy are not used (and not required to be complete).
    expect(loadConfig({ LLM_BASE_URL: 'https://api.openai.com/v1' }).variants).toEqual({ strategy: 'rules' });
  });

  it('bad store settings name the variable', () => {
    expectNamed({ DATABASE_URL: 'mysql://u:p@h/db' }, 'DATABASE_URL');
    expectNamed({ DATABASE_URL: 'localhost:5432/db' }, 'DATABASE_URL');
    expectNamed({ DATABASE_URL: 'postgres://u:p@[::1/db' }, 'DATABASE_URL');
    expectNamed({ ADMIN_API_TOKEN: 'short' }, 'ADMIN_API_TOKEN');
    expectNamed({ INGEST_API_TOKEN: 'x'.repeat(15) }, 'INGEST_API_TOKEN');
  });

  it('secret values never appear in an error, however it is printed', () => {
    const S = 'SENTINEL7f3a';
    const cases: Array<Record<string, string>> = [
      { ADMIN_API_TOKEN: S },
      { INGEST_API_TOKEN: `${S}-x` },
      { DATABASE_URL: `mysql://u:${S}@h/db` },
      { DATABASE_URL: `postgres://u:${S}@[bad/db` },
      { DATABASE_URL: `${S}` },
      { DATABASE_URL: `postgres://u:${S}@h/db`, SUPABASE_URL: 'https://x.supabase.co', SUPABASE_SERVICE_ROLE_KEY: `${S}-srk` },
      { SUPABASE_URL: `https://${S}`, SUPABASE_SERVICE_ROLE_KEY: ' ' },
      { SUPABASE_URL: 'bad', SUPABASE_SERVICE_ROLE_KEY: `${S}-srk` },
      { VARIANT_STRATEGY: 'llm', LLM_API_KEY: `${S}-llm` },
      { VARIANT_STRATEGY: 'llm', OPENAI_API_KEY: `${S}-openai`, LLM_BASE_URL: `notaurl${S}` },
      { TEMPORAL_ADDRESS: 'nohost', TEMPORAL_API_KEY: `${S}-temporal` },
      { TEMPORAL_ADDRESS: `${S}`, TEMPORAL_API_KEY: `${S}-temporal` },
      { PORT: 'x', ADMIN_API_TOKEN: `${S}-0123456789-long-enough`, INGEST_API_TOKEN: `${S}-short` },
    ];
    for (const env of cases) {
      let caught: unknown;
      try {
        loadConfig(env);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      const e = caught as ConfigError;
      for (const printed of [e.message, String(e), e.stack ?? '', inspect(e, { depth: 10 }), JSON.stringify(e), e.problems.join('\n')]) {
        expect(printed, JSON.stringify(env)).not.toContain(S);
      }
    }
  });
});

describe('the variables the worker process used to read itself', () => {
  it('TEMPORAL_METRICS_ADDRESS and WORKFLOW_BUNDLE_PATH are parsed here like every other', () => {
    const c = loadConfig({ TEMPORAL_METRICS_ADDRESS: '0.0.0.0:9999', WORKFLOW_BUNDLE_PATH: ' /app/dist/workflow-bundle.js ' });
    expect(c.temporalMetricsAddress).toBe('0.0.0.0:9999');
    expect(c.workflowBundlePath).toBe('/app/dist/workflow-bundle.js');
    expectNamed({ TEMPORAL_METRICS_ADDRESS: '9464' }, 'TEMPORAL_METRICS_ADDRESS');
    expectNamed({ TEMPORAL_METRICS_ADDRESS: 'host:99999' }, 'TEMPORAL_METRICS_ADDRESS');
    expect(loadConfig({ TEMPORAL_CLI_PATH: ' /opt/temporal ' }).temporal).toMatchObject({ kind: 'embedded', cliPath: '/opt/temporal' });
  });
});

describe('loadClientConfig (the starter CLI)', () => {
  it("with nothing set, points at the embedded worker's defaults", () => {
    expect(loadClientConfig({})).toEqual({
      workerUrl: 'http://localhost:8081',
      adminToken: undefined,
      temporal: { kind: 'remote', address: '127.0.0.1:7233', apiKey: undefined, tls: false, namespace: 'default', embedded: true },
      secrets: [],
    });
  });

  it("follows the worker's PORT and TEMPORAL_DEV_PORT; WORKER_URL and TEMPORAL_ADDRESS win when set", () => {
    const embedded = loadClientConfig({ PORT: '9090', TEMPORAL_DEV_PORT: '7300', TEMPORAL_NAMESPACE: 'ns' });
    expect(embedded.workerUrl).toBe('http://localhost:9090');
    expect(embedded.temporal).toMatchObject({ address: '127.0.0.1:7300', namespace: 'ns', embedded: true });
    const remote = loadClientConfig({
      PORT: '9090',
      WORKER_URL: 'https://worker.example.com/',
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_API_KEY: 'key-0123456789',
    });
    expect(remote.workerUrl).toBe('https://worker.example.com');
    expect(remote.temporal).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', tls: true, apiKey: 'key-0123456789', embedded: false });
    expect(remote.secrets).toEqual(['key-0123456789']);
  });

  it("applies the worker's rules, naming the variable, and ignores settings a client does not use", () => {
    for (const [env, name] of [
      [{ PORT: 'x' }, 'PORT'],
      [{ WORKER_URL: 'localhost:8081' }, 'WORKER_URL'],
      [{ TEMPORAL_ADDRESS: 'nohost' }, 'TEMPORAL_ADDRESS'],
      [{ ADMIN_API_TOKEN: 'short' }, 'ADMIN_API_TOKEN'],
      [{ TEMPORAL_DEV_PORT: '70000' }, 'TEMPORAL_DEV_PORT'],
    ] as const) {
      let caught: unknown;
      try {
        loadClientConfig(env);
      } catch (err) {
        caught = err;
      }
      expect(caught, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect(
        (caught as ConfigError).problems.some((p) => p.startsWith(`${name}:`)),
        JSON.stringify((caught as ConfigError).problems),
      ).toBe(true);
    }
    // A store or LLM setting the worker would refuse does not stop the CLI.
    expect(() => loadClientConfig({ VARIANT_STRATEGY: 'llm', SUPABASE_URL: 'https://x.supabase.co' })).not.toThrow();
  });
});
