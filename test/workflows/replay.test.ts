import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { describe, expect, it } from 'vitest';

/**
 * Histories recorded from real runs (RECORD_HISTORIES=1 npx vitest run test/workflows/cycle.test.ts)
 * replayed against today's workflow code: a change that would break running workflows
 * (non-determinism) fails here, before it reaches a worker with week-long monitors in flight.
 */
const dir = path.join(__dirname, '../histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const workflowsPath = path.join(__dirname, '../../src/workflows/index.ts');

describe('replay of recorded workflow histories', () => {
  it('has recorded histories for every workflow that runs for long', () => {
    expect(files).toEqual(expect.arrayContaining([
      'experiment-monitor-approval.json', 'experiment-monitor-continued.json', 'experiment-monitor-promoted.json',
      'experiment-monitor-stopped.json', 'optimization-cycle-promoted.json', 'run-job-pattern-analysis.json',
    ]));
  });

  it.each(files)('%s replays deterministically', async (file) => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowsPath, replayName: file }, history);
  }, 60_000);
});
