import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { obtainTemporalCli } from '../src/temporal/cli';
import { provisionTestTools, type TestTools } from './helpers/provision-tools';

/**
 * Once per run: the system tools the tests need (found, else installed: see helpers/provision-tools.ts), one
 * real Temporal dev server (the `temporal` CLI found or installed like the worker's, started
 * through @temporalio/testing) for the whole run, and a loud word about the PostgreSQL half of
 * the store tests.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCli: string;
    /** Namespaces registered at server start; each test file claims one (see helpers/temporal.ts). */
    temporalNamespaces: string[];
    namespaceClaimDir: string;
    tools: TestTools;
  }
}

let env: TestWorkflowEnvironment | undefined;
// Test files run in parallel against one server; each gets a namespace so that workflow ids
// derived from database ids (job-1, ...) never collide between files.
const NAMESPACES = Array.from({ length: 24 }, (_, i) => `pow-test-${i}`);
const log = (line: string) => console.info(`[test setup] ${line}`);

function warnWithoutPostgres(): void {
  if (process.env.DATABASE_URL) return;
  const banner = '!'.repeat(78);
  const msg = `${banner}\n!! DATABASE_URL is not set: the PostgreSQL half of the store tests is NOT RUN.\n!! Only embedded PGlite is tested. Set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test\n${banner}`;
  if (process.env.CI) throw new Error(`DATABASE_URL must be set in CI.\n${msg}`);
  console.warn(msg);
}

export async function setup(project: TestProject): Promise<void> {
  warnWithoutPostgres();
  const pathVar = process.env.PATH ?? '';
  const [cli, tools] = await Promise.all([
    obtainTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH?.trim() || undefined, pathVar, log }),
    provisionTestTools({ pathVar, chromiumPath: process.env.CHROMIUM_PATH?.trim() || undefined, log }),
  ]);
  log(
    `temporal: ${cli.path} (${cli.source}); ${Object.entries(tools)
      .map(([name, t]) => `${name}: ${'path' in t ? `${t.path} (${t.source})` : `MISSING, ${t.missing}`}`)
      .join('; ')}`,
  );
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli.path },
      // Monitors must continue-as-new when the server suggests it; make the suggestion come early.
      extraArgs: [
        '--dynamic-config-value',
        'limit.historyCount.suggestContinueAsNew=60',
        '--log-level',
        'error',
        ...NAMESPACES.flatMap((ns) => ['--namespace', ns]),
      ],
    },
  });
  project.provide('temporalAddress', env.address);
  project.provide('temporalCli', cli.path);
  project.provide('temporalNamespaces', NAMESPACES);
  project.provide('namespaceClaimDir', mkdtempSync(path.join(tmpdir(), 'pow-ns-')));
  project.provide('tools', tools);
}

export async function teardown(): Promise<void> {
  await env?.teardown();
}
