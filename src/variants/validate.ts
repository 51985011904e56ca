/**
 * Gatekeeper for generated variants. Whatever produced a candidate (rules or an LLM), it must
 * pass here before it may become a prompt version, so every check reports a reason code and a
 * sentence an operator can act on. The rules themselves are in `checks.ts`.
 */
import type { Rejection } from '../domain/rejections';
import { CHECKS } from './checks';
import { promptHash } from './normalize';

export interface ValidationLimits {
  /** Maximum length in characters (code points). Default 20,000. */
  maxLength?: number;
  /** Minimum length in characters (code points), after trimming. Default 10. */
  minLength?: number;
}

export interface ValidationOptions extends ValidationLimits {
  /**
   * Conversation text handed to the generator (excerpts, topics). A candidate may not repeat 8 or
   * more words in a row of any of it, unless the control has the same run.
   */
  samples?: readonly string[];
}

export type ValidationResult = { ok: true; normalizedHash: string } | ({ ok: false } & Rejection);

export const DEFAULT_MAX_LENGTH = 20_000;
/** Shorter than this cannot be a meaningful system prompt; it is almost surely a truncated answer. */
export const DEFAULT_MIN_LENGTH = 10;

export function validateCandidate(
  control: string,
  candidate: string,
  earlier: string[],
  options: ValidationOptions = {},
): ValidationResult {
  const context = {
    control,
    candidate,
    samples: options.samples ?? [],
    maxLength: options.maxLength ?? DEFAULT_MAX_LENGTH,
    minLength: options.minLength ?? DEFAULT_MIN_LENGTH,
  };
  for (const check of CHECKS) {
    const rejection = check(context);
    if (rejection) return { ok: false, ...rejection };
  }
  const hash = promptHash(candidate);
  const dup = earlier.findIndex((text) => promptHash(text) === hash);
  if (dup !== -1) {
    return { ok: false, code: 'duplicate_earlier', reason: `Candidate duplicates earlier version #${dup + 1} (after normalization).` };
  }
  return { ok: true, normalizedHash: hash };
}
