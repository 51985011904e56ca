/**
 * Runs a strategy and sorts its proposals into accepted and rejected, so the caller can count
 * and log rejections instead of losing them (a strategy that keeps dropping variables is a bug).
 */
import type { GenerationInput, VariantCandidate } from '../domain/types';
import type { VariantStrategy } from './strategy';
import { validateCandidate, type ValidationLimits } from './validate';

export type AcceptedVariant = VariantCandidate & { normalizedHash: string };

export interface GenerationResult {
  accepted: AcceptedVariant[];
  rejected: Array<{ rationale: string; reason: string }>;
}

export async function generateVariants(
  strategy: VariantStrategy,
  input: GenerationInput,
  earlier: string[],
  opts: { signal?: AbortSignal; limits?: ValidationLimits } = {},
): Promise<GenerationResult> {
  const candidates = await strategy.generate(input, opts.signal);
  const accepted: AcceptedVariant[] = [];
  const rejected: GenerationResult['rejected'] = [];
  for (const candidate of candidates) {
    const verdict = validateCandidate(input.control.content, candidate.content, earlier, opts.limits);
    if (!verdict.ok) {
      rejected.push({ rationale: candidate.rationale, reason: verdict.reason });
    } else if (accepted.some((a) => a.normalizedHash === verdict.normalizedHash)) {
      rejected.push({
        rationale: candidate.rationale,
        reason: 'Candidate duplicates another candidate of the same batch (after normalization).',
      });
    } else {
      accepted.push({ ...candidate, normalizedHash: verdict.normalizedHash });
    }
  }
  return { accepted, rejected };
}
