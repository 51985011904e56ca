/**
 * The deployment files, checked without a Docker engine (none on this machine or in CI):
 *
 * - Dockerfile.prompt-worker: hadolint (must pass clean) and the facts production depends on
 *   (Debian base, non-root, exec-form CMD, HEALTHCHECK, production dependencies only, the dist and
 *   migrations layout the compiled code expects);
 * - docker-compose.yml: `docker-compose config` with .env.example (must be valid), then its parsed
 *   output: services, health checks, start order, the worker's environment accepted by loadConfig
 *   and free of literal secrets (every secret is a sentinel handed in by interpolation);
 * - railway.json: the documented config-as-code fields, draining longer than SHUTDOWN_GRACE;
 * - .env.example: lists every variable the code reads, and loads;
 * - scripts/build-workflow-bundle.ts: the prebuilt bundle replays the committed histories with
 *   `workflowBundle: { codePath }`, exactly as the image's worker loads it;
 * - docker/: the local-secrets generator and the Supabase-like database init (run on PGlite,
 *   followed by the real migrations).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config';
import { createPglite } from '../../src/store/adapters/pglite';
import { loadMigrations, migrate, MIGRATIONS_DIR } from '../../src/store/migrate';
import { requireTool } from '../helpers/tools';

// Replays log every worker state change at INFO; keep the output to warnings.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process: keep its logger
}

const ROOT = path.resolve(__dirname, '../..');
const rootFile = (...parts: string[]) => path.join(ROOT, ...parts);
const read = (...parts: string[]) => readFileSync(rootFile(...parts), 'utf8');

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

/** Go-style durations as docker-compose prints them: 45s, 1m, 1m30s, 500ms. */
function composeDurationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a duration: ${text}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

/** KEY=value lines of a .env file (comments and blanks skipped). */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------

interface Instruction {
  cmd: string;
  args: string;
  /** Index of the FROM stage it belongs to. */
  stage: number;
}

function parseDockerfile(text: string): { instructions: Instruction[]; stages: Array<{ image: string; name?: string }> } {
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const instructions: Instruction[] = [];
  const stages: Array<{ image: string; name?: string }> = [];
  for (const line of logical) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`cannot parse Dockerfile line: ${line}`);
    const cmd = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (cmd === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ image: f[1]!, name: f[2] });
    }
    instructions.push({ cmd, args, stage: stages.length - 1 });
  }
  return { instructions, stages };
}

describe('Dockerfile.prompt-worker', () => {
  const text = read('Dockerfile.prompt-worker');
  const { instructions, stages } = parseDockerfile(text);
  const finalStage = stages.length - 1;
  const final = instructions.filter((i) => i.stage === finalStage);

  it('passes hadolint with no finding at any level', () => {
    const hadolint = requireTool('hadolint');
    const res = run(hadolint, ['Dockerfile.prompt-worker']);
    expect(res.error).toBeUndefined();
    expect(`${res.stdout}${res.stderr}`).toBe('');
    expect(res.status).toBe(0);
  });

  it('builds on a pinned Debian Node 24 image, never Alpine (the Temporal core bridge needs glibc)', () => {
    expect(text).not.toMatch(/^FROM\s+\S*alpine/im);
    const stageNames = new Set(stages.map((s) => s.name?.toLowerCase()).filter(Boolean));
    const baseImages = stages.map((s) => s.image).filter((img) => !stageNames.has(img.toLowerCase()));
    expect(baseImages.length).toBeGreaterThan(0);
    for (const img of baseImages) {
      expect(img).toMatch(/^node:24\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
      expect(img).not.toMatch(/alpine/i);
    }
    expect(stages.length).toBeGreaterThanOrEqual(3); // base, build, runtime
  });

  it('compiles and bundles in the build stage', () => {
    const build = stages.findIndex((s) => s.name === 'build');
    expect(build).toBeGreaterThanOrEqual(0);
    const runs = instructions
      .filter((i) => i.stage === build && i.cmd === 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/tsc -p tsconfig\.build\.json/);
    expect(runs).toMatch(/scripts\/build-workflow-bundle\.ts --out dist\/workflow-bundle\.js/);
    // tsc emits only .js: files the code reads beside its own module (src/dashboard/public/...)
    // must reach dist/ at the same relative path.
    expect(runs).toContain("tar -C src --exclude='*.ts' -cf - . | tar -C dist -xf -");
    const shell = instructions.find((i) => i.stage === build && i.cmd === 'SHELL');
    expect(JSON.parse(shell!.args)).toEqual(['/bin/bash', '-o', 'pipefail', '-c']);
  });

  it('runtime stage: production dependencies only, dist from the build stage, migrations beside it', () => {
    const runs = final
      .filter((i) => i.cmd === 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(runs).toMatch(/npm ci [^\n]*--omit=dev/);
    expect(runs).not.toMatch(/npm (ci|install)(?![^\n]*--omit=dev)/);
    const copies = final.filter((i) => i.cmd === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(copies).toContain('supabase/migrations ./supabase/migrations');
    expect(final.find((i) => i.cmd === 'WORKDIR')?.args ?? instructions.find((i) => i.cmd === 'WORKDIR')?.args).toBe('/app');
  });

  it('the compiled layout matches what the code resolves at run time', () => {
    // tsconfig.build.json: rootDir src, outDir dist -> src/x/y.ts is dist/x/y.js.
    const build = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    // src/store/migrate.ts: path.resolve(__dirname, '../../supabase/migrations') from dist/store.
    expect(path.relative(rootFile('src/store'), MIGRATIONS_DIR)).toBe(path.join('..', '..', 'supabase', 'migrations'));
    expect(path.posix.resolve('/app/dist/store', '../../supabase/migrations')).toBe('/app/supabase/migrations');
    // CMD and the migrate one-shot point at the compiled entry points.
    expect(existsSync(rootFile('src/worker/main.ts'))).toBe(true);
    expect(existsSync(rootFile('src/store/cli.ts'))).toBe(true);
  });

  it('sets NODE_ENV and the prebuilt bundle path', () => {
    const env = final
      .filter((i) => i.cmd === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/\bNODE_ENV=production\b/);
    expect(env).toMatch(/\bWORKFLOW_BUNDLE_PATH=\/app\/dist\/workflow-bundle\.js\b/);
  });

  it('runs as a non-root user, with a HEALTHCHECK on /health and an exec-form CMD (SIGTERM reaches node)', () => {
    const userAt = final.findIndex((i) => i.cmd === 'USER');
    const cmdAt = final.findIndex((i) => i.cmd === 'CMD');
    expect(userAt).toBeGreaterThanOrEqual(0);
    expect(cmdAt).toBeGreaterThan(userAt);
    expect(final.filter((i) => i.cmd === 'USER').at(-1)!.args).not.toMatch(/^(root|0)(:|$)/);
    expect(JSON.parse(final[cmdAt]!.args)).toEqual(['node', 'dist/worker/main.js']);
    expect(final.some((i) => i.cmd === 'ENTRYPOINT')).toBe(false);

    const health = final.find((i) => i.cmd === 'HEALTHCHECK');
    expect(health).toBeDefined();
    const exec = /\bCMD\s+(\[.*\])$/.exec(health!.args);
    expect(exec).not.toBeNull();
    const argv = JSON.parse(exec![1]!) as string[];
    expect(argv[0]).toBe('node');
    expect(argv.join(' ')).toContain('/health');
    expect(argv.join(' ')).toContain('process.env.PORT');
  });

  it('copies only files that the .dockerignore lets into the build context', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore).toEqual(expect.arrayContaining(['.env', '.env.*', '**/node_modules', 'dist', '.git']));
    const excluded = ignore.filter((p) => !p.startsWith('!'));
    const sources = instructions
      .filter((i) => i.cmd === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) =>
        i.args
          .replace(/--\S+\s+/g, '')
          .split(/\s+/)
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      expect(existsSync(rootFile(src)), `${src} exists`).toBe(true);
      const segments = src.split('/');
      for (const pattern of excluded) {
        const p = pattern.replace(/^\*\*\//, '');
        expect(
          segments.some((_, n) => segments.slice(0, n + 1).join('/') === p),
          `${src} excluded by ${pattern}`,
        ).toBe(false);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml
// ---------------------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string; start_period?: string };
  ports?: string[];
  volumes?: string[];
  restart?: string;
  stop_grace_period?: string;
}

/** Secrets handed to compose as sentinels: whatever carries them must have come from .env. */
const SENTINELS = {
  POSTGRES_PASSWORD: 'sentinelPostgresPassword',
  AUTHENTICATOR_PASSWORD: 'sentinelAuthenticatorPassword',
  JWT_SECRET: 'sentinel-jwt-secret-0123456789abcdef-0123456789',
  SUPABASE_SERVICE_ROLE_KEY: 'sentinel.service-role.jwt',
  ADMIN_API_TOKEN: 'sentinel-admin-api-token',
  INGEST_API_TOKEN: 'sentinel-ingest-api-token',
  LLM_API_KEY: 'sentinel-llm-api-key',
};

function composeConfig(
  envFile: string,
  extraEnv: Record<string, string> = {},
): { res: SpawnSyncReturns<string>; services?: Record<string, ComposeService>; volumes?: Record<string, unknown> } {
  const compose = requireTool('docker-compose');
  // A bare environment: only the env file and the given values decide the result.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...extraEnv };
  const res = run(compose, ['--env-file', envFile, '-f', rootFile('docker-compose.yml'), 'config'], { env });
  if (res.status !== 0) return { res };
  // docker-compose (v1) prints YAML; its own Python has PyYAML, so let it convert to JSON.
  const shebang = /^#!\s*(\S*python\S*)/.exec(readFileSync(compose, 'latin1').slice(0, 200))?.[1] ?? 'python3';
  const json = run(shebang, ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: res.stdout });
  if (json.status !== 0) throw new Error(`could not convert docker-compose config to JSON: ${json.stderr}`);
  const parsed = JSON.parse(json.stdout) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
  return { res, services: parsed.services, volumes: parsed.volumes };
}

describe('docker-compose.yml', () => {
  let services: Record<string, ComposeService>;
  let volumes: Record<string, unknown>;
  const LONG_RUNNING = ['temporal', 'postgres', 'rest', 'gateway', 'worker'];
  const ONE_SHOT = ['temporal-data-init', 'migrate'];

  beforeAll(() => {
    const plain = composeConfig(rootFile('.env.example'));
    if (plain.res.status !== 0) throw new Error(`docker-compose config failed with .env.example:\n${plain.res.stderr}`);
    const withSentinels = composeConfig(rootFile('.env.example'), SENTINELS);
    if (withSentinels.res.status !== 0) throw new Error(`docker-compose config failed:\n${withSentinels.res.stderr}`);
    services = withSentinels.services!;
    volumes = withSentinels.volumes ?? {};
  });

  it('is valid for docker-compose config with .env.example and has the expected services', () => {
    expect(Object.keys(services).sort()).toEqual([...LONG_RUNNING, ...ONE_SHOT].sort());
    expect(Object.keys(volumes).sort()).toEqual(['postgres-data', 'temporal-data']);
  });

  it('refuses to start without the secrets, naming the variable', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pow-compose-'));
    try {
      writeFileSync(path.join(dir, 'empty.env'), '');
      const { res } = composeConfig(path.join(dir, 'empty.env'));
      expect(res.status).not.toBe(0);
      expect(res.stderr).toMatch(
        /POSTGRES_PASSWORD|AUTHENTICATOR_PASSWORD|JWT_SECRET|SUPABASE_SERVICE_ROLE_KEY|ADMIN_API_TOKEN|INGEST_API_TOKEN/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pins every image', () => {
    for (const [name, svc] of Object.entries(services)) {
      expect(svc.image, name).toBeDefined();
      if (svc.build) {
        expect(svc.build.dockerfile, name).toBe('Dockerfile.prompt-worker');
        expect(path.resolve(svc.build.context)).toBe(ROOT);
        continue;
      }
      expect(svc.image, name).toMatch(/^[a-z0-9/._-]+:v?\d+(\.\d+)+(-[a-z0-9.]+)?$/);
    }
    expect(services.temporal!.image).toMatch(/^temporalio\/temporal:/);
    expect(services.postgres!.image).toMatch(/^postgres:15\./);
    expect(services.rest!.image).toMatch(/^postgrest\/postgrest:/);
  });

  it('has a health check on every long-running service, and none on the one-shots', () => {
    for (const name of LONG_RUNNING) {
      const test = services[name]!.healthcheck?.test;
      expect(test, name).toBeDefined();
      expect(['CMD', 'CMD-SHELL'], name).toContain(test![0]);
      expect(services[name]!.restart, name).toBe('unless-stopped');
    }
    for (const name of ONE_SHOT) {
      expect(services[name]!.restart, name).toBe('no');
    }
    expect(services.migrate!.healthcheck?.test).toEqual(['NONE']);
    // Images without a shell get exec-form checks of their own binaries.
    expect(services.temporal!.healthcheck!.test).toEqual([
      'CMD',
      '/temporal',
      'operator',
      'cluster',
      'health',
      '--address',
      '127.0.0.1:7233',
    ]);
    expect(services.rest!.healthcheck!.test).toEqual(['CMD', 'postgrest', '--ready']);
    expect(services.worker!.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:8081/health');
  });

  it('starts in order: migrations before PostgREST and the worker, the worker after every dependency is healthy', () => {
    const deps = (name: string) => Object.fromEntries(Object.entries(services[name]!.depends_on ?? {}).map(([k, v]) => [k, v.condition]));
    expect(deps('temporal')).toEqual({ 'temporal-data-init': 'service_completed_successfully' });
    expect(deps('migrate')).toEqual({ postgres: 'service_healthy' });
    expect(deps('rest')).toEqual({ postgres: 'service_healthy', migrate: 'service_completed_successfully' });
    expect(deps('gateway')).toEqual({ rest: 'service_healthy' });
    expect(deps('worker')).toEqual({ temporal: 'service_healthy', gateway: 'service_healthy', migrate: 'service_completed_successfully' });
  });

  it('runs the dev server on a named volume with its UI published', () => {
    const t = services.temporal!;
    expect(t.command).toEqual(
      expect.arrayContaining(['server', 'start-dev', '--ip', '0.0.0.0', '--db-filename', '/data/temporal.db', '--ui-port', '8233']),
    );
    expect(t.volumes).toContain('temporal-data:/data:rw');
    expect(t.ports).toEqual(expect.arrayContaining(['127.0.0.1:8233:8233/tcp', '127.0.0.1:7233:7233/tcp']));
    expect(services['temporal-data-init']!.command).toEqual(['chown', '1000:1000', '/data']);
  });

  it('publishes ports on 127.0.0.1 only', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const port of svc.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('wires PostgREST like Supabase: authenticator login, anon role, JWT secret from .env, schema public', () => {
    const env = services.rest!.environment!;
    expect(env.PGRST_DB_URI).toBe(`postgres://authenticator:${SENTINELS.AUTHENTICATOR_PASSWORD}@postgres:5432/postgres`);
    expect(env.PGRST_DB_ANON_ROLE).toBe('anon');
    expect(env.PGRST_DB_SCHEMAS).toBe('public');
    expect(env.PGRST_JWT_SECRET).toBe(SENTINELS.JWT_SECRET);
    expect(env.PGRST_ADMIN_SERVER_PORT).toBeDefined(); // `postgrest --ready` needs the admin server
    const pg = services.postgres!;
    expect(pg.environment).toEqual({
      POSTGRES_PASSWORD: SENTINELS.POSTGRES_PASSWORD,
      AUTHENTICATOR_PASSWORD: SENTINELS.AUTHENTICATOR_PASSWORD,
    });
    expect(pg.volumes).toContain(`${rootFile('docker/postgres/init')}:/docker-entrypoint-initdb.d:ro`);
    expect(services.gateway!.volumes).toContain(`${rootFile('docker/gateway/nginx.conf')}:/etc/nginx/conf.d/default.conf:ro`);
  });

  it('the gateway serves PostgREST under /rest/v1 and requires an apikey header', () => {
    const conf = read('docker/gateway/nginx.conf');
    expect(conf).toMatch(/listen 8000;/);
    expect(conf).toMatch(/location \/rest\/v1\/ \{[^}]*\$http_apikey[\s\S]*?proxy_pass http:\/\/rest:3000\/;/);
    expect(conf).toMatch(/location = \/healthz/);
    // nginx refuses default_type inside an if block (found by `nginx -t`).
    expect(conf).not.toMatch(/if \([^)]*\) \{[^}]*default_type/);
  });

  it('migrate is a one-shot of the worker image with a direct DATABASE_URL', () => {
    const m = services.migrate!;
    expect(m.image).toBe(services.worker!.image);
    expect(m.command).toEqual(['node', 'dist/store/cli.js']);
    const config = loadConfig(m.environment!);
    expect(config.store).toMatchObject({
      kind: 'postgres',
      connectionString: `postgres://postgres:${SENTINELS.POSTGRES_PASSWORD}@postgres:5432/postgres`,
    });
  });

  it("the worker's environment loads, talks to Temporal and the gateway, and carries no literal secret", () => {
    const env = services.worker!.environment!;
    const config = loadConfig(env);
    expect(config.store).toEqual({ kind: 'supabase', url: 'http://gateway:8000', serviceRoleKey: SENTINELS.SUPABASE_SERVICE_ROLE_KEY });
    expect(config.temporal).toMatchObject({ kind: 'remote', address: 'temporal:7233', tls: false });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.JWT_SECRET).toBeUndefined();
    expect(env.POSTGRES_PASSWORD).toBeUndefined();
    // Every secret the worker gets is the sentinel: it came from .env, not from the file.
    expect(env.SUPABASE_SERVICE_ROLE_KEY).toBe(SENTINELS.SUPABASE_SERVICE_ROLE_KEY);
    expect(env.ADMIN_API_TOKEN).toBe(SENTINELS.ADMIN_API_TOKEN);
    expect(env.INGEST_API_TOKEN).toBe(SENTINELS.INGEST_API_TOKEN);
    expect(env.LLM_API_KEY).toBe(SENTINELS.LLM_API_KEY);
    // And the file itself holds no value for a secret key: only ${...} references.
    const raw = read('docker-compose.yml');
    for (const key of [
      'SUPABASE_SERVICE_ROLE_KEY',
      'ADMIN_API_TOKEN',
      'INGEST_API_TOKEN',
      'LLM_API_KEY',
      'OPENAI_API_KEY',
      'TEMPORAL_API_KEY',
      'PGRST_JWT_SECRET',
      'POSTGRES_PASSWORD',
      'AUTHENTICATOR_PASSWORD',
    ]) {
      for (const m of raw.matchAll(new RegExp(`^\\s*${key}:\\s*(.*)$`, 'gm'))) expect(m[1], key).toMatch(/^\$\{[A-Z_]+(:[?-][^}]*)?\}$/);
    }
    expect(raw).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // no JWT anywhere
  });

  it('gives the worker longer than SHUTDOWN_GRACE to drain before SIGKILL', () => {
    const grace = loadConfig(services.worker!.environment!).shutdownGraceMs;
    expect(grace).toBe(loadConfig({}).shutdownGraceMs);
    expect(composeDurationMs(services.worker!.stop_grace_period!)).toBeGreaterThan(grace);
  });
});

// ---------------------------------------------------------------------------------------------
// railway.json
// ---------------------------------------------------------------------------------------------

describe('railway.json', () => {
  const railway = JSON.parse(read('railway.json')) as {
    $schema: string;
    build: { builder: string; dockerfilePath: string; watchPatterns?: string[] };
    deploy: Record<string, unknown>;
  };

  it('builds Dockerfile.prompt-worker', () => {
    expect(railway.$schema).toBe('https://railway.com/railway.schema.json');
    expect(railway.build.builder).toBe('DOCKERFILE');
    expect(railway.build.dockerfilePath).toBe('Dockerfile.prompt-worker');
    expect(existsSync(rootFile(railway.build.dockerfilePath))).toBe(true);
  });

  it('redeploys on every file the image is built from', () => {
    const patterns = railway.build.watchPatterns ?? [];
    const { instructions } = parseDockerfile(read('Dockerfile.prompt-worker'));
    const sources = instructions
      .filter((i) => i.cmd === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const src of sources) {
      expect(
        patterns.some((p) => p === src || p === `${src}/**` || (p.endsWith('/**') && src.startsWith(p.slice(0, -2)))),
        src,
      ).toBe(true);
    }
    expect(patterns).toEqual(expect.arrayContaining(['Dockerfile.prompt-worker', 'railway.json']));
  });

  it('checks /health, restarts on failure up to 10 times, drains longer than SHUTDOWN_GRACE', () => {
    const d = railway.deploy;
    expect(d.healthcheckPath).toBe('/health');
    expect(typeof d.healthcheckTimeout).toBe('number');
    expect(d.healthcheckTimeout as number).toBeGreaterThanOrEqual(60);
    expect(d.restartPolicyType).toBe('ON_FAILURE');
    expect(d.restartPolicyMaxRetries).toBe(10);
    // Railway's parser wants a number here (a string fails the deploy).
    expect(typeof d.drainingSeconds).toBe('number');
    const graceS = loadConfig({}).shutdownGraceMs / 1000;
    expect(d.drainingSeconds as number).toBeGreaterThan(graceS);
    // No start command: the image's exec-form CMD is what runs (and receives SIGTERM).
    expect(d.startCommand).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// .env.example and the variables the code reads
// ---------------------------------------------------------------------------------------------

/** The keys of EnvSchema in src/config/config.ts, plus process.env.X read by the worker process (src/worker). */
function envVarsReadByCode(): string[] {
  const source = read('src/config/config.ts');
  const block = /const EnvSchema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(source);
  if (!block) throw new Error('EnvSchema = z.object({...}) not found in src/config/config.ts');
  const keys = [...block[1]!.matchAll(/^\s+([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
  const others: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        for (const m of readFileSync(full, 'utf8').matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g)) others.push(m[1]!);
      }
    }
  };
  walk(rootFile('src/worker'));
  return [...new Set([...keys, ...others])].sort();
}

describe('.env.example', () => {
  const text = read('.env.example');
  const listed = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));

  it('lists every variable the code reads (set or commented out)', () => {
    const vars = envVarsReadByCode();
    expect(vars.length).toBeGreaterThan(35);
    expect(vars).toEqual(
      expect.arrayContaining(['SUPABASE_SERVICE_ROLE_KEY', 'TEMPORAL_ADDRESS', 'SHUTDOWN_GRACE', 'WORKFLOW_BUNDLE_PATH']),
    );
    expect(vars.filter((v) => !listed.has(v))).toEqual([]);
  });

  it('lists every variable docker-compose.yml interpolates', () => {
    const used = new Set([...read('docker-compose.yml').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    expect([...used].filter((v) => !listed.has(v))).toEqual([]);
  });

  it('loads as it is (node --env-file=.env), with placeholders instead of secrets', () => {
    const env = parseEnvFile(text);
    expect(() => loadConfig(env)).not.toThrow();
    for (const key of [
      'POSTGRES_PASSWORD',
      'AUTHENTICATOR_PASSWORD',
      'JWT_SECRET',
      'SUPABASE_SERVICE_ROLE_KEY',
      'ADMIN_API_TOKEN',
      'INGEST_API_TOKEN',
    ]) {
      expect(env[key], key).toMatch(/^change-me/);
    }
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  });

  it('is documented variable by variable in docs/deployment.md', () => {
    const docs = read('docs/deployment.md');
    expect(envVarsReadByCode().filter((v) => !docs.includes(`\`${v}\``))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// docker/init-env.mjs: fresh local secrets and a service_role JWT PostgREST accepts
// ---------------------------------------------------------------------------------------------

describe('docker/init-env.mjs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pow-init-env-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const verifyJwt = (jwt: string, secret: string) => {
    const [header, payload, signature] = jwt.split('.');
    expect(createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')).toBe(signature);
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    return JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { role: string; exp: number; iat: number };
  };

  it('writes a .env with random secrets and a service_role JWT signed with its JWT_SECRET, which compose accepts', () => {
    const out = path.join(dir, '.env');
    const res = run(process.execPath, [rootFile('docker/init-env.mjs'), '--out', out]);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const env = parseEnvFile(readFileSync(out, 'utf8'));
    for (const [key, value] of Object.entries(env)) expect(value, key).not.toMatch(/change-me/);
    expect(env.JWT_SECRET!.length).toBeGreaterThanOrEqual(32);
    const claims = verifyJwt(env.SUPABASE_SERVICE_ROLE_KEY!, env.JWT_SECRET!);
    expect(claims.role).toBe('service_role');
    expect(claims.exp).toBeGreaterThan(Date.now() / 1000 + 365 * 24 * 3600);
    // Passwords go into postgres:// URLs unescaped.
    expect(env.POSTGRES_PASSWORD).toMatch(/^[A-Za-z0-9_-]{24,}$/);
    expect(() => loadConfig(env)).not.toThrow();
    // Everything else is .env.example unchanged.
    expect(Object.keys(env)).toEqual(Object.keys(parseEnvFile(read('.env.example'))));

    const { res: compose, services } = composeConfig(out);
    expect(compose.stderr).not.toMatch(/ERROR/);
    expect(services!.worker!.environment!.SUPABASE_SERVICE_ROLE_KEY).toBe(env.SUPABASE_SERVICE_ROLE_KEY);
    expect(services!.rest!.environment!.PGRST_JWT_SECRET).toBe(env.JWT_SECRET);

    // Never overwrites an existing file by accident.
    const again = run(process.execPath, [rootFile('docker/init-env.mjs'), '--out', out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists; pass --force/);
  });

  it('--jwt prints a key for an existing JWT_SECRET', () => {
    const secret = 'a-local-secret-that-is-long-enough-0123456789';
    const res = run(process.execPath, [rootFile('docker/init-env.mjs'), '--jwt', 'anon'], {
      env: { PATH: process.env.PATH, JWT_SECRET: secret },
    });
    expect(res.status).toBe(0);
    expect(verifyJwt(res.stdout.trim(), secret).role).toBe('anon');
    const short = run(process.execPath, [rootFile('docker/init-env.mjs'), '--jwt'], {
      env: { PATH: process.env.PATH, JWT_SECRET: 'short' },
    });
    expect(short.status).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// docker/postgres/init: the Supabase-like database the compose stack migrates
// ---------------------------------------------------------------------------------------------

describe('docker/postgres/init on a fresh database, then the real migrations', () => {
  it('creates the API roles like Supabase, the migrations revoke its defaults, and DDL notifies PostgREST', async () => {
    const initDir = rootFile('docker/postgres/init');
    expect(readdirSync(initDir).sort()).toEqual(['00-supabase-roles.sql', '01-authenticator-password.sh']);
    const sh = read('docker/postgres/init/01-authenticator-password.sh');
    expect(sh).toMatch(/alter role authenticator with login password :'authenticator_password'/);
    const code = sh
      .split('\n')
      .filter((l) => !l.trim().startsWith('#'))
      .join('\n');
    expect(code).not.toMatch(/password '/); // the password only ever comes from the environment

    const { db, migrationTarget } = await createPglite();
    try {
      const initSql = read('docker/postgres/init/00-supabase-roles.sql');
      await db.exec(initSql);
      await db.exec(initSql); // idempotent
      const roles = await db.query<{ rolname: string; rolbypassrls: boolean; rolinherit: boolean }>(
        `select rolname, rolbypassrls, rolinherit from pg_roles where rolname in ('anon', 'authenticated', 'service_role', 'authenticator') order by rolname`,
      );
      expect(roles.rows).toEqual([
        { rolname: 'anon', rolbypassrls: false, rolinherit: false },
        { rolname: 'authenticated', rolbypassrls: false, rolinherit: false },
        { rolname: 'authenticator', rolbypassrls: false, rolinherit: false },
        { rolname: 'service_role', rolbypassrls: true, rolinherit: false },
      ]);
      const members = await db.query<{ role: string }>(
        `select r.rolname as role from pg_auth_members m join pg_roles r on r.oid = m.roleid
         join pg_roles u on u.oid = m.member where u.rolname = 'authenticator' order by 1`,
      );
      expect(members.rows.map((r) => r.role)).toEqual(['anon', 'authenticated', 'service_role']);

      const report = await migrate(migrationTarget);
      expect(report.applied).toHaveLength((await loadMigrations()).length);

      // Supabase's default grants to anon/authenticated are gone; service_role keeps what it needs.
      const privileges = await db.query<{ role: string; can_execute: boolean; can_select: boolean }>(
        `select r as role,
                has_function_privilege(r, 'public.list_prompt_keys()', 'execute') as can_execute,
                has_table_privilege(r, 'public.ai_prompt_versions', 'select') as can_select
         from unnest(array['anon', 'authenticated', 'service_role']) r order by r`,
      );
      expect(privileges.rows).toEqual([
        { role: 'anon', can_execute: false, can_select: false },
        { role: 'authenticated', can_execute: false, can_select: false },
        { role: 'service_role', can_execute: true, can_select: true },
      ]);

      // The event trigger tells PostgREST to reload its schema cache after DDL.
      const payloads: string[] = [];
      const unlisten = await db.listen('pgrst', (payload) => payloads.push(payload));
      await db.exec('create table public.zz_deploy_probe (id int); drop table public.zz_deploy_probe;');
      await new Promise((resolve) => setTimeout(resolve, 50));
      await unlisten();
      expect(payloads).toContain('reload schema');
    } finally {
      await db.close();
    }
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// scripts/build-workflow-bundle.ts: the bundle the image's worker loads
// ---------------------------------------------------------------------------------------------

describe('scripts/build-workflow-bundle.ts', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pow-bundle-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a bundle that replays every committed workflow history (workflowBundle: { codePath })', async () => {
    const codePath = path.join(dir, 'nested', 'workflow-bundle.js');
    // As the Dockerfile runs it.
    const res = run(rootFile('node_modules/.bin/tsx'), ['scripts/build-workflow-bundle.ts', '--out', codePath]);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain(`workflow bundle written: ${codePath}`);
    expect(readFileSync(codePath, 'utf8').length).toBeGreaterThan(100_000);

    const histories = readdirSync(rootFile('test/histories'))
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(histories.length).toBeGreaterThanOrEqual(6);
    for (const file of histories) {
      const history = historyFromJSON(JSON.parse(read('test/histories', file)));
      await Worker.runReplayHistory({ workflowBundle: { codePath }, replayName: file }, history);
    }
  }, 120_000);

  it('rejects unknown arguments', () => {
    const res = run(rootFile('node_modules/.bin/tsx'), ['scripts/build-workflow-bundle.ts', '--nope']);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/unknown argument --nope/);
  });
});
