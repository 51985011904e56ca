import { describe, expect, it } from 'vitest';
import type { Decision, VariantAssessment } from '../../src/domain/types';
import {
  bestVariant,
  firstLines,
  formatAnalysis,
  formatCheck,
  formatClock,
  formatEvidence,
  formatExperimentCreated,
  formatGenerated,
  formatSummary,
  stamp,
  verdict,
  type SummaryView,
} from '../../src/demo/progress';

function assessment(arm: number, estimate: number, over: Partial<VariantAssessment> = {}): VariantAssessment {
  return {
    arm,
    versionId: `ver-${arm}`,
    estimate,
    ci: [estimate - 0.07, estimate + 0.07],
    pValue: 0.0219,
    adjustedPValue: 0.0439,
    probBeatControl: 0.9995,
    expectedLoss: 0.0001,
    guardrailViolations: [],
    eligible: true,
    ...over,
  };
}

function decision(action: Decision['action'], variants: VariantAssessment[], winnerArm?: number): Decision {
  return {
    action,
    variants,
    engine: 'msprt-v1',
    gatesMet: true,
    srm: { chiSquare: 1.02, pValue: 0.6, mismatch: false },
    reason: action === 'promote' ? 'Variant 1 beats control by +7.6 points; promoting.' : 'No significant difference yet; continuing.',
    ...(winnerArm !== undefined ? { winner: { arm: winnerArm, versionId: `ver-${winnerArm}` } } : {}),
  };
}

const promote = decision(
  'promote',
  [assessment(1, 0.076), assessment(2, 0.009, { pValue: 1, adjustedPValue: 1, probBeatControl: 0.64 })],
  1,
);

function summary(over: Partial<SummaryView> = {}): SummaryView {
  return {
    promptKey: 'support-assistant',
    elapsedMs: 32_900,
    outcome: 'promoted',
    analysis: { conversations: 600, successRate: 0.67, controlVersion: 1 },
    insights: [
      {
        kind: 'low_success_segment',
        segment: 'billing',
        severity: 'high',
        isActionable: true,
        evidence: { n: 264, successes: 106, rate: 0.4015, rate_ci: [0.3443, 0.4616], rest_n: 336, rest_rate: 0.881, z: -12.4 },
      },
    ],
    control: { version: 1, hash: '3155a3d8e45c', trueRate: 0.69 },
    variants: [
      {
        arm: 1,
        version: 2,
        hash: 'e33e484a45f9',
        rationale: 'Variant 1: addresses low_success_segment [billing].',
        added: '\n\n## Questions about "billing"\nWhen the user asks about "billing": do X.',
        trueRate: 0.77,
        trulyBetter: true,
      },
      {
        arm: 2,
        version: 3,
        hash: 'b50e2d3642d1',
        rationale: 'Variant 2: generic improvement.',
        added: '\n\n## Before you reply\nCheck your answer.',
        trueRate: 0.69,
        trulyBetter: false,
      },
    ],
    checks: 11,
    arms: [
      { arm: 0, n: 739, successes: 500 },
      { arm: 1, n: 778, successes: 590 },
      { arm: 2, n: 763, successes: 530 },
    ],
    decision: promote,
    alpha: 0.05,
    promotion: { fromVersion: 1, toVersion: 2, arm: 1, hash: 'e33e484a45f9', kind: 'auto', actor: 'optimizer' },
    links: {
      ui: 'http://localhost:8233',
      cycle: 'http://localhost:8233/namespaces/default/workflows/cycle-support-assistant',
      monitor: 'http://localhost:8233/namespaces/default/workflows/experiment-x',
    },
    weakTopic: 'billing',
    lift: 0.2,
    ...over,
  };
}

describe('demo progress formatting', () => {
  it('stamps lines with the time since start', () => {
    expect(formatClock(0)).toBe('00:00.0');
    expect(formatClock(12_345)).toBe('00:12.3');
    expect(formatClock(61_050)).toBe('01:01.0');
    expect(formatClock(-5)).toBe('00:00.0');
    expect(formatClock(Number.NaN)).toBe('00:00.0');
    expect(stamp(1_500, 'hello')).toBe('[00:01.5] hello');
  });

  it('describes the analysis, the generated variants and the experiment', () => {
    expect(
      formatAnalysis(
        {
          promptKey: 'k',
          versionId: 'v',
          conversations: 1_200,
          successRate: 0.67,
          insights: 1,
          actionable: 1,
          kinds: ['low_success_segment:billing'],
        },
        1,
      ),
    ).toBe('  analysis of v1: 1,200 conversations, success 67.0%; 1 insight, 1 actionable: low_success_segment:billing');
    expect(
      formatAnalysis({ promptKey: 'k', versionId: 'v', conversations: 0, successRate: null, insights: 0, actionable: 0, kinds: [] }, 3),
    ).toBe('  analysis of v3: 0 conversations, success n/a; 0 insights, 0 actionable');
    const generated = formatGenerated(
      'rules',
      [
        { arm: 1, version: 2, rationale: 'Variant 1: addresses billing.' },
        { arm: 2, version: 3, rationale: null },
      ],
      1,
    );
    expect(generated).toEqual([
      '  2 variants stored (strategy rules, 1 rejected by validation)',
      '    variant 1 = v2: Variant 1: addresses billing.',
      '    variant 2 = v3: (no rationale)',
    ]);
    const created = formatExperimentCreated(
      'exp-1',
      [
        { arm: 0, version: 1, weight: 1 / 3 },
        { arm: 1, version: 2, weight: 1 / 3 },
      ],
      { checkIntervalSeconds: 1, minSamplesPerArm: 150, maxDurationHours: 0.05, alpha: 0.05 },
    );
    expect(created[0]).toBe('  experiment exp-1: control v1 33%, variant 1 v2 33%');
    expect(created[1]).toBe('  policy: a check every 1 s, >= 150 conversations per arm, alpha 0.05, stop after 3 min');
  });

  it('prints one line per check: counts, best variant, always-valid p-value, action', () => {
    const line = formatCheck({
      checkNo: 11,
      minSamplesPerArm: 150,
      sent: 2_340,
      decision: promote,
      arms: [
        { arm: 2, n: 763, successes: 1 },
        { arm: 0, n: 739, successes: 1 },
        { arm: 1, n: 778, successes: 1 },
      ],
    });
    expect(line).toBe(
      '  check 11 │ n: control 739 · v1 778 · v2 763 │ best variant 1 +7.6 pts, always-valid p=0.0219 (Holm p=0.0439), ' +
        'P(beat) 100% │ PROMOTE variant 1 │ sent 2,340',
    );
    const early = formatCheck({
      checkNo: 1,
      minSamplesPerArm: 150,
      decision: decision('continue', [assessment(1, -0.01, { pValue: 1, adjustedPValue: 1, probBeatControl: 0.42 })]),
      arms: [
        { arm: 0, n: 73, successes: 1 },
        { arm: 1, n: 87, successes: 1 },
      ],
    });
    expect(early).toBe(
      '  check  1 │ n: control 73 · v1 87 │ best variant 1 -1.0 pts, always-valid p=1 (Holm p=1), P(beat) 42% (gathering >= 150/arm) │ continue',
    );
    expect(formatCheck({ checkNo: 2, minSamplesPerArm: 1, decision: null, arms: [] })).toBe(
      '  check  2 │ n:  │ no estimate yet │ no decision',
    );
    expect(formatCheck({ checkNo: 3, minSamplesPerArm: 1, decision: decision('keep_control', []), arms: [] })).toContain('KEEP CONTROL');
  });

  it('picks the best variant by estimate, lowest arm on ties', () => {
    expect(bestVariant(null)).toBeUndefined();
    expect(bestVariant(decision('continue', []))).toBeUndefined();
    expect(bestVariant(decision('continue', [assessment(2, 0.05), assessment(1, 0.05), assessment(3, 0.01)]))?.arm).toBe(1);
    expect(bestVariant(decision('continue', [assessment(1, -0.05), assessment(2, 0.01)]))?.arm).toBe(2);
  });

  it('puts insight evidence in words, and falls back to key=value', () => {
    expect(
      formatEvidence('low_success_segment', { n: 264, rate: 0.4015, rate_ci: [0.3443, 0.4616], rest_n: 336, rest_rate: 0.881, z: -12.4 }),
    ).toBe('success 40.2% (95% CI 34.4%–46.2%, n=264) vs 88.1% on the other topics (n=336), z=-12.4');
    expect(formatEvidence('verbosity', { ratio: 1.5, failed_n: 40, ci: [1, 2], note: 'text', t: '3.5' })).toBe(
      'ratio=1.5, failed_n=40, ci=[1, 2], t=3.5',
    );
    expect(formatEvidence('low_success_segment', { n: 10 })).toBe('n=10');
  });

  it('shows the first added lines of a variant, trimmed and truncated', () => {
    expect(firstLines('\n\n## Title\n  body line  \n\nthird\nfourth')).toEqual(['## Title', 'body line', 'third']);
    expect(firstLines(`x${'y'.repeat(200)}`, 1, 10)).toEqual(['xyyyyyyyy…']);
  });

  it('summarizes insights, variants, the decision with its numbers, the promotion and the links', () => {
    const text = formatSummary(summary()).join('\n');
    expect(text).toContain('Summary: support-assistant, outcome PROMOTED after 00:32.9');
    expect(text).toContain('• low_success_segment [billing], severity high, actionable');
    expect(text).toContain('evidence: success 40.2% (95% CI 34.4%–46.2%, n=264) vs 88.1% on the other topics (n=336), z=-12.4');
    expect(text).toContain('• variant 1 = v2, e33e484a45f9, TRUE success 77.0% (truly better: +20 points on "billing")');
    expect(text).toContain('• variant 2 = v3, b50e2d3642d1, TRUE success 69.0% (truly neutral)');
    expect(text).toContain('    + ## Questions about "billing"');
    expect(text).toContain('Decision after 11 checks (control 739, variant 1 778, variant 2 763):');
    expect(text).toContain('action: promote variant 1 (v2)');
    expect(text).toContain(
      '→ variant 1: estimate +7.6 points, 95% always-valid CI [+0.6, +14.6], always-valid p=0.0219, Holm-adjusted p=0.0439, P(beat control) 100.0%',
    );
    expect(text).toContain('reason: Variant 1 beats control by +7.6 points; promoting.');
    expect(text).toContain('Promotion: support-assistant v1 → v2 (variant 1, content e33e484a45f9), auto by optimizer');
    expect(text).toContain(
      'Truth check: the simulator made variant 1 (v2, e33e484a45f9) truly better (+20 points on "billing"); the optimizer promoted variant 1 (v2, e33e484a45f9) (correct).',
    );
    expect(text).toContain('Temporal Web UI: http://localhost:8233');
    expect(text).toContain('cycle workflow:   http://localhost:8233/namespaces/default/workflows/cycle-support-assistant');
    expect(text).toContain('monitor workflow: http://localhost:8233/namespaces/default/workflows/experiment-x');
  });

  it('says so when nothing was promoted or the wrong variant was', () => {
    const none = summary({
      outcome: 'timed_out',
      promotion: null,
      decision: null,
      checks: 0,
      arms: [],
      links: { ui: 'u', cycle: 'c', monitor: null },
    });
    const text = formatSummary(none).join('\n');
    expect(text).toContain('Promotion: none, v1 stays active (timed_out).');
    expect(text).toContain('(no decision recorded)');
    expect(text).not.toContain('monitor workflow');
    expect(verdict(none)).toEqual({ ok: false, text: expect.stringContaining('nothing was promoted (missed it).') });

    const wrong = summary({ promotion: { fromVersion: 1, toVersion: 3, arm: 2, hash: 'b50e2d3642d1', kind: 'auto', actor: 'optimizer' } });
    expect(verdict(wrong)).toEqual({ ok: false, text: expect.stringContaining('promoted variant 2 (v3, b50e2d3642d1) (WRONG).') });
    expect(verdict(summary()).ok).toBe(true);

    const neutral = summary({ variants: summary().variants.map((v) => ({ ...v, trulyBetter: false })), promotion: null });
    expect(verdict(neutral)).toEqual({ ok: true, text: 'the simulator made no variant truly better; nothing was promoted (correct).' });
  });
});
