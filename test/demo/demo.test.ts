import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm run demo` end to end, as a user runs it: a real child process on a machine with no
 * Temporal and no database configured (its own dev server, PGlite, worker, HTTP API). Run once
 * to completion, then again with the same seed and --keep-running, stopped with SIGINT after the
 * summary: same promoted variant, clean exit, every port free again.
 */
const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const RUN_LIMIT_MS = 180_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function portFree(port: number, host?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** The environment of a fresh machine: no Temporal or database settings (the CLI path may stay). */
function freshEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(TEMPORAL_|DATABASE_|SUPABASE_|NEXT_PUBLIC_SUPABASE_|PGLITE_)/.test(key) && key !== 'TEMPORAL_CLI_PATH') delete env[key];
  }
  return env;
}

interface Ports {
  port: number;
  uiPort: number;
  temporalPort: number;
}

async function ports(): Promise<Ports> {
  // Distinct free ports (asked for one at a time, they could repeat).
  const out = new Set<number>();
  while (out.size < 3) out.add(await freePort());
  const [port, uiPort, temporalPort] = [...out] as [number, number, number];
  return { port, uiPort, temporalPort };
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  ms: number;
  /** Time from SIGINT to exit. */
  stopMs?: number;
}

function runDemo(args: string[], opts: { interruptWhen?: RegExp } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(TSX, ['src/demo/main.ts', ...args], { cwd: ROOT, env: freshEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let interruptedAt: number | undefined;
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (opts.interruptWhen && interruptedAt === undefined && opts.interruptWhen.test(output)) {
        interruptedAt = Date.now();
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(
      () => {
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      },
      RUN_LIMIT_MS + (opts.interruptWhen ? 30_000 : 0),
    );
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const now = Date.now();
      resolve({ code, signal, output, ms: now - started, stopMs: interruptedAt === undefined ? undefined : now - interruptedAt });
    });
  });
}

/** "Promotion: support-assistant v1 → v2 (variant 1, content e33e484a45f9), auto by optimizer" */
function promoted(output: string): { from: string; to: string; arm: string; hash: string } | undefined {
  const m = /Promotion: support-assistant v(\d+) → v(\d+) \(variant (\d+), content ([0-9a-f]{12})\)/.exec(output);
  return m ? { from: m[1]!, to: m[2]!, arm: m[3]!, hash: m[4]! } : undefined;
}

/** The variants the simulator made truly better, as "variant N ... hash". */
function trulyBetter(output: string): Array<{ arm: string; hash: string }> {
  return [...output.matchAll(/• variant (\d+) = v\d+, ([0-9a-f]{12}), TRUE success [\d.]+% \(truly better/g)].map((m) => ({
    arm: m[1]!,
    hash: m[2]!,
  }));
}

describe('npm run demo', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pow-demo-'));
    dirs.push(dir);
    return path.join(dir, 'data');
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  let first: ReturnType<typeof promoted>;

  it(
    'runs a full cycle to the promotion of the truly better variant, in under 3 minutes',
    async () => {
      const p = await ports();
      const run = await runDemo([
        '--seed',
        '42',
        '--port',
        String(p.port),
        '--ui-port',
        String(p.uiPort),
        '--temporal-port',
        String(p.temporalPort),
        '--data-dir',
        dataDir(),
      ]);
      const context = `exit ${run.code}/${run.signal} after ${run.ms} ms; output:\n${run.output}`;
      expect(run.code, context).toBe(0);
      expect(run.ms, context).toBeLessThan(RUN_LIMIT_MS);

      const out = run.output;
      expect(out).toContain('seed 42');
      expect(out).toContain(`Temporal Web UI: http://localhost:${p.uiPort}`);
      expect(out).toMatch(/admin token \S{16,}\s+ingest token \S{16,}/);
      for (const step of ['1/4 analyzing patterns', '2/4 generating variants', '3/4 creating the experiment', '4/4 monitoring'])
        expect(out).toContain(step);
      expect(out).toContain('analysis of v1: 600 conversations');
      expect(out).toContain('low_success_segment:billing');
      expect(out).toMatch(/check +1 │ n: control \d+ · v1 \d+ · v2 \d+ │/);
      expect(out).toMatch(/always-valid p=/);
      expect(out).toMatch(/│ PROMOTE variant 1 │/);

      // Summary: insights, variants, decision numbers, promotion of the truly better one, links.
      expect(out).toContain('• low_success_segment [billing], severity high, actionable');
      expect(out).toMatch(/rationale: Variant 1: addresses low_success_segment \[billing\]/);
      expect(out).toMatch(
        /→ variant 1: estimate \+[\d.]+ points, 95% always-valid CI \[[+-][\d.]+, \+[\d.]+\], always-valid p=[\d.e-]+, Holm-adjusted p=[\d.e-]+, P\(beat control\) [\d.]+%/,
      );
      expect(out).toMatch(/reason: v\d+ \(variant 1\) beats control v1 by/);
      const better = trulyBetter(out);
      expect(better).toHaveLength(1);
      first = promoted(out);
      expect(first, context).toEqual({ from: '1', to: '2', arm: better[0]!.arm, hash: better[0]!.hash });
      expect(out).toContain('(correct).');
      // The promotion started a guarded rollout (the demo's compressed plan), not a switch.
      expect(out).toMatch(/Rollout: v2 serves 80%, holdback v1 20%, watched for 3 min \((watching|ramping)\)/);
      expect(out).not.toContain('Regression (simulated)');
      expect(out).toContain(`cycle workflow:   http://localhost:${p.uiPort}/namespaces/default/workflows/cycle-support-assistant`);
      expect(out).toMatch(
        new RegExp(`monitor workflow: http://localhost:${p.uiPort}/namespaces/default/workflows/experiment-[0-9a-f-]{36}`),
      );
      expect(out).toContain('stopped cleanly');
      for (const port of [p.port, p.uiPort, p.temporalPort]) expect(await portFree(port, '127.0.0.1'), `port ${port}`).toBe(true);
    },
    RUN_LIMIT_MS + 30_000,
  );

  it(
    'promotes the same variant with the same seed; with --keep-running it stays up until SIGINT, then exits cleanly',
    async () => {
      const p = await ports();
      const run = await runDemo(
        [
          '--seed',
          '42',
          '--keep-running',
          '--port',
          String(p.port),
          '--ui-port',
          String(p.uiPort),
          '--temporal-port',
          String(p.temporalPort),
          '--data-dir',
          dataDir(),
        ],
        { interruptWhen: /Press Ctrl-C to stop/ },
      );
      const context = `exit ${run.code}/${run.signal} after ${run.ms} ms; output:\n${run.output}`;
      expect(run.output, context).toContain('Press Ctrl-C to stop');
      expect([0, 130], context).toContain(run.code);
      expect(run.stopMs, context).toBeLessThan(30_000);
      expect(run.output).toContain('SIGINT received: shutting down');
      expect(run.output).toContain('stopped cleanly');
      expect(promoted(run.output), context).toEqual(first ?? promoted(run.output));
      expect(promoted(run.output)?.hash).toBe(trulyBetter(run.output)[0]?.hash);
      for (const port of [p.port, p.uiPort, p.temporalPort]) {
        expect(await portFree(port, '127.0.0.1'), `port ${port}`).toBe(true);
        expect(await portFree(port), `port ${port}`).toBe(true);
      }
    },
    RUN_LIMIT_MS + 60_000,
  );

  it(
    '--scenario regression: the promoted version turns worse after the promotion and the watch rolls it back, once',
    async () => {
      const p = await ports();
      const args = ['--scenario', 'regression', '--seed', '42', '--port', String(p.port), '--ui-port', String(p.uiPort)];
      const run = await runDemo([...args, '--temporal-port', String(p.temporalPort), '--data-dir', dataDir()]);
      const context = `exit ${run.code}/${run.signal} after ${run.ms} ms; output:\n${run.output}`;
      expect(run.code, context).toBe(0);
      const out = run.output;
      expect(promoted(out)?.hash, context).toBe(trulyBetter(out)[0]?.hash);
      expect(out).toMatch(/simulating a regression: the model behind v2 changes/);
      expect(out).toMatch(/watch check \d+: -[\d.]+ points \[-[\d.]+, [+-]?[\d.]+\], p[=<][\d.e-]+ → rollback/);
      expect(out).toMatch(/Regression \(simulated\): after the promotion v2 lost 25\.0 points on every topic/);
      expect(out).toMatch(/Rollback: auto by optimizer, [\d.]+ s after the change: v2 → v1/);
      expect(out).toMatch(/reason: v2 is worse than the holdback v1 by -[\d.]+ points \(always-valid p[=<]/);
      expect(out).toContain('it was rolled back automatically, once, and v1 is active again (correct).');
      expect(out).toContain('stopped cleanly');
    },
    RUN_LIMIT_MS + 30_000,
  );
});
