import { createHash } from 'node:crypto';

/**
 * Canonical form used to decide whether two prompts are "the same": NFKC (so full-width or
 * ligature look-alikes collapse), lowercase, whitespace runs collapsed to one space, trimmed.
 * A variant that differs from an earlier one only in casing or spacing would waste an arm.
 */
export function normalizePrompt(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** sha256 hex of the normalized prompt; only for in-process dedupe (the SQL side has its own). */
export function promptHash(text: string): string {
  return createHash('sha256').update(normalizePrompt(text), 'utf8').digest('hex');
}
