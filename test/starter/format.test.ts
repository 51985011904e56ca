import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/domain/types';
import type { ExperimentWithArms, JobRow } from '../../src/store/rows';
import type { ExperimentDetail } from '../../src/starter/api';
import {
  experimentDetailLines,
  formatAge,
  formatInterval,
  jobResultSummary,
  liveLine,
  schedulesTable,
  table,
} from '../../src/starter/format';

const NOW = new Date('2026-11-29T12:00:00Z');
const CONTROL = '11111111-1111-4111-8111-111111111111';
const VARIANT = '22222222-2222-4222-8222-222222222222';

const experiment = (over: Partial<ExperimentWithArms> = {}): ExperimentWithArms => ({
  id: '33333333-3333-4333-8333-333333333333',
  prompt_key: 'support',
  control_version_id: CONTROL,
  metric: 'success',
  status: 'running',
  outcome: null,
  winner_version_id: null,
  decision: null,
  policy: {},
  idempotency_key: null,
  workflow_id: 'job-1',
  stale_since: null,
  created_at: '2026-11-29T11:58:00Z',
  concluded_at: null,
  arms: [
    { arm: 0, version_id: CONTROL, weight: 0.5, version: 1 },
    { arm: 1, version_id: VARIANT, weight: 0.5, version: 2 },
  ],
  ...over,
});

const decision: Decision = {
  action: 'continue',
  reason: 'not enough data yet',
  engine: 'msprt',
  gatesMet: false,
  srm: { chiSquare: 0.1, pValue: 0.75, mismatch: false },
  variants: [
    {
      arm: 1,
      versionId: VARIANT,
      estimate: 0.123,
      ci: [-0.1, 0.3],
      pValue: 0.0412,
      adjustedPValue: 0.0412,
      probBeatControl: 0.974,
      expectedLoss: 0.001,
      guardrailViolations: [],
      eligible: false,
    },
  ],
};

const job = (over: Partial<JobRow>): Pick<JobRow, 'type' | 'status' | 'result' | 'error'> => ({
  type: 'full_cycle',
  status: 'completed',
  result: null,
  error: null,
  ...over,
});

describe('starter CLI formatting', () => {
  it('aligns table columns and formats intervals and ages', () => {
    expect(
      table(
        ['ID', 'NAME'],
        [
          ['1', 'a'],
          ['100', 'bb'],
        ],
      ),
    ).toBe('ID   NAME\n1    a\n100  bb');
    expect([3_600_000, 900_000, 90_000, 1_500, 500, 86_400_000].map(formatInterval)).toEqual(['1h', '15m', '1m30s', '1.5s', '500ms', '1d']);
    expect(formatAge('2026-11-29T11:59:48Z', NOW)).toBe('12s ago');
    expect(formatAge(new Date('2026-11-29T12:04:00Z'), NOW)).toBe('in 4m');
    expect(formatAge(null, NOW)).toBe('-');
  });

  it('shows the live monitor status on one line, with version labels', () => {
    const line = liveLine(
      { experimentId: 'x', phase: 'monitoring', checks: 3, lastDecision: decision, pendingWinner: null, outcome: null },
      experiment(),
    );
    expect(line).toBe('check 3 · monitoring · continue · v2 +12.3 points p=0.0412 P(beat)=97% · min samples not reached');
    const waiting = liveLine(
      {
        experimentId: 'x',
        phase: 'awaiting_approval',
        checks: 5,
        lastDecision: { ...decision, action: 'promote', gatesMet: true },
        pendingWinner: { arm: 1, versionId: VARIANT },
        outcome: null,
      },
      experiment(),
    );
    expect(waiting).toMatch(/^check 5 · awaiting_approval · promote · v2 .* · awaiting approval of v2$/);
  });

  it('summarizes job results per type', () => {
    const promoted = {
      outcome: 'promoted',
      monitor: {
        outcome: 'promoted',
        checks: 4,
        promotion: { fromVersionId: CONTROL, toVersionId: VARIANT, kind: 'auto', actor: 'optimizer' },
      },
    };
    const labels = (id: string | null | undefined) => (id === VARIANT ? 'v2' : id === CONTROL ? 'v1' : '-');
    expect(jobResultSummary(job({ result: promoted }), labels)).toBe('promoted v2 over v1 (auto by optimizer) after 4 check(s)');
    expect(jobResultSummary(job({ result: { outcome: 'no_action', analysis: { conversations: 50, actionable: 0 } } }))).toBe(
      'no action: 0 actionable insights in 50 conversations (use --force to run anyway)',
    );
    expect(
      jobResultSummary(
        job({
          type: 'pattern_analysis',
          result: { conversations: 400, successRate: 0.7251, insights: 3, actionable: 1, kinds: ['low_success_segment'] },
        }),
      ),
    ).toBe('analyzed 400 conversations, success 72.5%: 3 insights, 1 actionable (low_success_segment)');
    expect(jobResultSummary(job({ status: 'failed', error: 'prompt key x has no active version' }))).toBe(
      'failed: prompt key x has no active version',
    );
    expect(jobResultSummary(job({ status: 'running' }))).toBe('running');
  });

  it('shows an experiment stopped before any check (decision is only a reason)', () => {
    const detail: ExperimentDetail = {
      experiment: experiment({
        status: 'concluded',
        outcome: 'stopped',
        decision: { reason: 'wrong audience' },
        concluded_at: '2026-11-29T11:59:00Z',
      }),
      live: null,
      snapshots: [],
      workflowUrl: 'http://ui/namespaces/default/workflows/experiment-3',
    };
    const text = experimentDetailLines(detail, NOW).join('\n');
    expect(text).toContain('status     concluded (stopped)');
    expect(text).toMatch(/control\s+v1\s+1111.*\s+0\.5\s+-\s+-/);
    expect(text).toContain('decision   stopped: wrong audience');
    expect(text).toContain('snapshots  0');
    expect(text).toContain('web ui     http://ui/namespaces/default/workflows/experiment-3');
  });

  it('lists schedules with their interval, pause note and next run', () => {
    const text = schedulesTable(
      [
        {
          id: 'job-intake',
          workflowType: 'jobIntake',
          everyMs: [60_000],
          paused: false,
          note: null,
          nextRun: new Date('2026-11-29T12:00:30Z'),
          recentActions: [{ at: new Date('2026-11-29T11:59:30Z'), workflowId: 'job-intake-run' }],
        },
        {
          id: 'experiment-reconcile',
          workflowType: 'experimentReconcile',
          everyMs: [900_000],
          paused: true,
          note: 'maintenance',
          nextRun: null,
          recentActions: [],
        },
      ],
      NOW,
    );
    expect(text.split('\n')).toEqual([
      'ID                    WORKFLOW             EVERY  PAUSED             NEXT RUN  RECENT ACTIONS',
      'job-intake            jobIntake            1m     no                 in 30s    30s ago',
      'experiment-reconcile  experimentReconcile  15m    yes (maintenance)  -         -',
    ]);
    expect(schedulesTable([], NOW)).toMatch(/^no schedules/);
  });
});
