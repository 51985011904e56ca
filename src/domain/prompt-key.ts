import { z } from 'zod';

/**
 * A prompt key names one system prompt of the host app. The same rule is a CHECK constraint and
 * an argument check in SQL (supabase/migrations); here it is the one TypeScript copy.
 */
export const PROMPT_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export const PROMPT_KEY_RULE = 'must be 1-128 letters, digits, "_", ".", ":" or "-", starting with a letter or digit';

export const PromptKey = z.string().regex(PROMPT_KEY_PATTERN, PROMPT_KEY_RULE);

export function isPromptKey(value: string): boolean {
  return PROMPT_KEY_PATTERN.test(value);
}
