/**
 * Why a generated variant was refused. A closed list: it labels a Prometheus counter (bounded
 * cardinality), shows in the cycle's result and on the dashboard, and lets an operator tell a
 * strategy that keeps dropping variables from an LLM that keeps being talked into adding links.
 */
export const REJECTION_CODES = [
  'empty',
  'binary_character',
  'too_long',
  'too_short',
  'invisible_character',
  'missing_variable',
  'new_variable',
  'template_syntax',
  'locked_changed',
  'locked_markers',
  'new_url',
  'new_email',
  'new_phone',
  'copies_sample',
  'same_as_control',
  'duplicate_earlier',
  'duplicate_in_batch',
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];

export interface Rejection {
  code: RejectionCode;
  /** One sentence for an operator; it never quotes conversation text. */
  reason: string;
}

/** One refused candidate as the cycle reports it. */
export interface RejectedCandidate extends Rejection {
  /** The strategy's own explanation, made inert (an LLM wrote it). */
  rationale: string;
}

/** `{ new_url: 2, copies_sample: 1 }`: how a batch's rejections add up. */
export function countByCode(rejected: readonly Rejection[]): Partial<Record<RejectionCode, number>> {
  const counts: Partial<Record<RejectionCode, number>> = {};
  for (const r of rejected) counts[r.code] = (counts[r.code] ?? 0) + 1;
  return counts;
}
