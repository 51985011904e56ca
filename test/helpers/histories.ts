import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { inject } from 'vitest';

/**
 * With RECORD_HISTORIES=1, writes the workflow's history to test/histories/<name>.json for the
 * replay test (test/workflows/replay.test.ts), in the CLI's JSON format (what `temporal workflow
 * show -o json` and the Web UI download give); otherwise does nothing.
 */
export async function recordHistory(handle: WorkflowHandle, name: string, namespace: string, runId?: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const args = [
    'workflow',
    'show',
    '--address',
    inject('temporalAddress'),
    '--namespace',
    namespace,
    '-w',
    handle.workflowId,
    '-o',
    'json',
  ];
  if (runId) args.push('-r', runId);
  const { stdout } = await promisify(execFile)(inject('temporalCli'), args, { maxBuffer: 64 * 1024 * 1024 });
  writeFileSync(path.join(__dirname, '../histories', `${name}.json`), stdout);
}
