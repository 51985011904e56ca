/**
 * Gatekeeper for generated variants. Whatever produced a candidate (rules or an LLM), it must
 * pass here before it may become a prompt version, so every check reports a sentence an operator
 * can act on.
 */
import { normalizePrompt, promptHash } from './normalize';
import { countOccurrences, extractLockedBlocks, extractVariables, FORBIDDEN_CHAR_RE } from './template';

export interface ValidationLimits {
  /** Maximum length in characters (code points). Default 20,000. */
  maxLength?: number;
  /** Minimum length in characters (code points), after trimming. Default 10. */
  minLength?: number;
}

export type ValidationResult = { ok: true; normalizedHash: string } | { ok: false; reason: string };

export const DEFAULT_MAX_LENGTH = 20_000;
/** Shorter than this cannot be a meaningful system prompt; it is almost surely a truncated answer. */
export const DEFAULT_MIN_LENGTH = 10;

/** Code points rather than UTF-16 units, matching Postgres `char_length`. */
function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

function describeChar(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

export function validateCandidate(
  control: string,
  candidate: string,
  earlier: string[],
  limits: ValidationLimits = {},
): ValidationResult {
  const maxLength = limits.maxLength ?? DEFAULT_MAX_LENGTH;
  const minLength = limits.minLength ?? DEFAULT_MIN_LENGTH;

  if (candidate.trim() === '') return { ok: false, reason: 'Candidate is empty.' };

  const bad = FORBIDDEN_CHAR_RE.exec(candidate);
  if (bad) {
    return {
      ok: false,
      reason: `Candidate contains a binary or control character (${describeChar(bad[0])} at index ${bad.index}).`,
    };
  }

  const length = charLength(candidate);
  if (length > maxLength) {
    return { ok: false, reason: `Candidate is too long (${length} characters, maximum ${maxLength}).` };
  }
  const trimmedLength = charLength(candidate.trim());
  if (trimmedLength < minLength) {
    return { ok: false, reason: `Candidate is too short (${trimmedLength} characters, minimum ${minLength}).` };
  }

  const present = new Set(extractVariables(candidate));
  const missing = extractVariables(control).filter((name) => !present.has(name));
  if (missing.length > 0) {
    const list = missing.map((name) => `{{${name}}}`).join(', ');
    return { ok: false, reason: `Candidate is missing template variable${missing.length > 1 ? 's' : ''} ${list}.` };
  }

  const locked = extractLockedBlocks(control);
  for (const [i, block] of locked.entries()) {
    // A block repeated in the control must be repeated in the candidate too.
    if (countOccurrences(candidate, block) < countOccurrences(control, block)) {
      return {
        ok: false,
        reason: `Locked section ${i + 1} of ${locked.length} was changed or removed; locked sections must be kept byte-for-byte.`,
      };
    }
  }

  const normalized = normalizePrompt(candidate);
  if (normalized === normalizePrompt(control)) {
    return { ok: false, reason: 'Candidate is identical to the control prompt (after normalization).' };
  }
  const hash = promptHash(candidate);
  const dup = earlier.findIndex((text) => promptHash(text) === hash);
  if (dup !== -1) {
    return { ok: false, reason: `Candidate duplicates earlier version #${dup + 1} (after normalization).` };
  }

  return { ok: true, normalizedHash: hash };
}
