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
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const workflowsPath = path.join(__dirname, '../../src/workflows/index.ts');

describe('replay of recorded workflow histories', () => {
  it('has recorded histories for every workflow that runs for long', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'experiment-monitor-approval.json',
        'experiment-monitor-continued.json',
        'experiment-monitor-promoted.json',
        'experiment-monitor-promoted-rollout.json',
        'experiment-monitor-stopped.json',
        'optimization-cycle-promoted.json',
        'optimization-cycle-reviewed.json',
        'rollout-watch-completed.json',
        'rollout-watch-rolled-back.json',
        'run-job-pattern-analysis.json',
      ]),
    );
  });

  it.each(files)(
    '%s replays deterministically',
    async (file) => {
      const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
      await Worker.runReplayHistory({ workflowsPath, replayName: file }, history);
    },
    60_000,
  );
});

/**
 * A cycle started before review existed, whose variants came from the LLM: the recorded promoted
 * cycle with its generateVariants result rewritten to say `strategy: "llm"` (exactly what such a
 * cycle's history holds). Today's code would wait for review there; the `patched()` guard must
 * keep the old commands on replay, or every in-flight LLM cycle would fail after a deploy.
 */
describe('replay of an LLM cycle recorded before review before exposure', () => {
  interface HistoryEvent {
    eventId: string;
    eventType: string;
    activityTaskScheduledEventAttributes?: { activityType: { name: string } };
    activityTaskCompletedEventAttributes?: { scheduledEventId: string; result: { payloads: Array<{ data: string }> } };
  }

  function asLlmCycle(raw: { events: HistoryEvent[] }): { events: HistoryEvent[] } {
    const copy = structuredClone(raw);
    const scheduled = copy.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType.name === 'generateVariants')!;
    const completed = copy.events.find((e) => e.activityTaskCompletedEventAttributes?.scheduledEventId === scheduled.eventId)!;
    const payload = completed.activityTaskCompletedEventAttributes!.result.payloads[0]!;
    const result = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as { strategy: string };
    expect(result.strategy).toBe('rules');
    payload.data = Buffer.from(JSON.stringify({ ...result, strategy: 'llm' })).toString('base64');
    return copy;
  }

  it('replays without waiting for review', async () => {
    const raw = JSON.parse(readFileSync(path.join(dir, 'optimization-cycle-promoted.json'), 'utf8')) as { events: HistoryEvent[] };
    await Worker.runReplayHistory({ workflowsPath, replayName: 'optimization-cycle-promoted-as-llm' }, historyFromJSON(asLlmCycle(raw)));
  }, 60_000);
});
