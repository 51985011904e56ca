/**
 * Ordering and describing insights, shared by every strategy so rationales read the same way
 * whether rules or an LLM produced the variant.
 */
import type { Insight, InsightKind, Severity } from '../domain/types';
import { segmentLabel, UNNAMED_SEGMENT } from './label';

const SEVERITY_RANK: Record<Severity, number> = { high: 0, medium: 1, low: 2 };

/**
 * Tie-break between equally severe insights: outright breakage first, then whole-segment
 * failures, then softer quality signals.
 */
const KIND_RANK: Record<InsightKind, number> = {
  regression: 0,
  error_rate: 1,
  low_success_segment: 2,
  low_rating: 3,
  verbosity: 4,
  latency: 5,
};

/** Code-unit order: unlike localeCompare it cannot vary with the ICU build. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Actionable insights, most severe first. The sort is total over the fields we look at and
 * falls back to input order, so the same input always yields the same ranking.
 */
export function rankInsights(insights: readonly Insight[]): Insight[] {
  return insights
    .map((insight, index) => ({ insight, index }))
    .filter(({ insight }) => insight.isActionable)
    .sort(
      (a, b) =>
        SEVERITY_RANK[a.insight.severity] - SEVERITY_RANK[b.insight.severity] ||
        KIND_RANK[a.insight.kind] - KIND_RANK[b.insight.kind] ||
        compareStrings(a.insight.segment ?? '', b.insight.segment ?? '') ||
        a.index - b.index,
    )
    .map(({ insight }) => insight);
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
}

/** Evidence keys are written by our SQL; anything else is not shown rather than escaped. */
const EVIDENCE_KEY_RE = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

/**
 * The numeric evidence as `key=value` pairs, in the order the analysis wrote them (it puts the
 * telling numbers first); non-numeric evidence is left to the LLM meta-prompt, which gets it all.
 */
export function evidenceSummary(evidence: Record<string, unknown>, limit = 4): string {
  return Object.entries(evidence)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1]))
    .filter(([key]) => EVIDENCE_KEY_RE.test(key))
    .slice(0, limit)
    .map(([key, value]) => `${key}=${formatNumber(value)}`)
    .join(', ');
}

/** How a segment is shown: its label, or a neutral description when it cannot be named safely. */
export function segmentName(segment: string | null): string | null {
  if (!segment) return null;
  return segmentLabel(segment) ?? `${UNNAMED_SEGMENT} (name withheld)`;
}

/** e.g. `low_success_segment [billing] (high; successRate=0.41, n=120)`. */
export function describeInsight(insight: Insight): string {
  const name = segmentName(insight.segment);
  const segment = name ? ` [${name}]` : '';
  const evidence = evidenceSummary(insight.evidence);
  return `${insight.kind}${segment} (${insight.severity}${evidence ? `; ${evidence}` : ''})`;
}
