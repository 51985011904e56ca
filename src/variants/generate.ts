/**
 * Runs a strategy and sorts its proposals into accepted and rejected, so the caller can count
 * and log rejections (by reason code) instead of losing them: a strategy that keeps dropping
 * variables is a bug, an LLM that keeps adding links is being steered.
 */
import type { RejectedCandidate } from '../domain/rejections';
import type { ConversationSample, GenerationInput, VariantCandidate } from '../domain/types';
import type { VariantStrategy } from './strategy';
import { inertText } from './text';
import { validateCandidate, type ValidationLimits } from './validate';

export type AcceptedVariant = VariantCandidate & { normalizedHash: string };

export interface GenerationResult {
  accepted: AcceptedVariant[];
  rejected: RejectedCandidate[];
}

/** Rationales are stored and shown; an LLM wrote them, so they are kept short and inert. */
export const RATIONALE_MAX = 600;

/** Every piece of conversation text the generator was handed: what a candidate may not repeat. */
export function sampleTexts(input: Pick<GenerationInput, 'best' | 'failures'>): string[] {
  const texts = (s: ConversationSample) => [s.topic, s.inputExcerpt, s.outputExcerpt];
  return [...input.best, ...input.failures].flatMap(texts).filter((t): t is string => typeof t === 'string' && t !== '');
}

export async function generateVariants(
  strategy: VariantStrategy,
  input: GenerationInput,
  earlier: string[],
  opts: { signal?: AbortSignal; limits?: ValidationLimits } = {},
): Promise<GenerationResult> {
  const candidates = await strategy.generate(input, opts.signal);
  const samples = sampleTexts(input);
  const accepted: AcceptedVariant[] = [];
  const rejected: RejectedCandidate[] = [];
  for (const candidate of candidates) {
    const rationale = inertText(candidate.rationale, RATIONALE_MAX);
    const verdict = validateCandidate(input.control.content, candidate.content, earlier, { ...opts.limits, samples });
    if (!verdict.ok) {
      rejected.push({ rationale, code: verdict.code, reason: verdict.reason });
    } else if (accepted.some((a) => a.normalizedHash === verdict.normalizedHash)) {
      rejected.push({
        rationale,
        code: 'duplicate_in_batch',
        reason: 'Candidate duplicates another candidate of the same batch (after normalization).',
      });
    } else {
      accepted.push({ ...candidate, rationale, normalizedHash: verdict.normalizedHash });
    }
  }
  return { accepted, rejected };
}
