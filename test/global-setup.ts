import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { findTemporalCli } from '../src/temporal/cli';

/**
 * One real Temporal dev server (the `temporal` CLI, started through @temporalio/testing) for
 * the whole run, and a loud word about the PostgreSQL half of the store tests.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCli: string;
    /** Namespaces registered at server start; each test file claims one (see helpers/temporal.ts). */
    temporalNamespaces: string[];
    namespaceClaimDir: string;
  }
}

let env: TestWorkflowEnvironment | undefined;
// Test files run in parallel against one server; each gets a namespace so that workflow ids
// derived from database ids (job-1, ...) never collide between files.
const NAMESPACES = Array.from({ length: 24 }, (_, i) => `pow-test-${i}`);

export async function setup(project: TestProject): Promise<void> {
  if (!process.env.DATABASE_URL) {
    const banner = '!'.repeat(78);
    const msg = `${banner}\n!! DATABASE_URL is not set: the PostgreSQL half of the store tests is NOT RUN.\n!! Only embedded PGlite is tested. Set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test\n${banner}`;
    if (process.env.CI) throw new Error(`DATABASE_URL must be set in CI.\n${msg}`);
    console.warn(msg);
  }

  const cli = findTemporalCli();
  if (!cli) console.warn('temporal CLI not found on PATH or TEMPORAL_CLI_PATH: the SDK will try to download one.');
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli ? { type: 'existing-path', path: cli } : { type: 'cached-download' },
      // Monitors must continue-as-new when the server suggests it; make the suggestion come early.
      extraArgs: [
        '--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=60', '--log-level', 'error',
        ...NAMESPACES.flatMap((ns) => ['--namespace', ns]),
      ],
    },
  });
  project.provide('temporalAddress', env.address);
  project.provide('temporalCli', cli ?? 'sdk-download');
  project.provide('temporalNamespaces', NAMESPACES);
  project.provide('namespaceClaimDir', mkdtempSync(path.join(tmpdir(), 'pow-ns-')));
}

export async function teardown(): Promise<void> {
  await env?.teardown();
}
