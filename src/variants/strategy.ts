import type { GenerationInput, VariantCandidate } from '../domain/types';

/**
 * Something that proposes prompt variants. Candidates are proposals only: `generateVariants`
 * validates them, so a strategy may return fewer than `input.count`, or some that get rejected.
 */
export interface VariantStrategy {
  readonly name: string;
  generate(input: GenerationInput, signal?: AbortSignal): Promise<VariantCandidate[]>;
}
