import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { isExecutableFile } from '../tools/find';

/**
 * The Temporal SDK's own download of the CLI (needs internet access to Temporal's download host).
 * The SDK offers no download-only call: it downloads while starting a server, so this starts a
 * throw-away headless server on a free port, stops it at once and keeps the executable, which this
 * project then runs under its own supervision (pidfile, ports checked first).
 */
export async function downloadWithSdk(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'cached-download', downloadDir: dir }, ui: false, log: { format: 'pretty', level: 'error' } },
  });
  await env.teardown();
  const newest = readdirSync(dir)
    .map((name) => path.join(dir, name))
    .filter(isExecutableFile)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) throw new Error(`the SDK started a server but left no executable in ${dir}`);
  return newest;
}
