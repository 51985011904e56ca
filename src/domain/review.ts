/**
 * Review before exposure: generated variants can wait as candidates until an operator accepts or
 * rejects each one. Whether a cycle asks depends on who wrote the variants: an LLM can be talked
 * into a bad prompt that passes every mechanical check, the rules strategy only appends our own
 * fixed text (and never copies conversation text), so review is on for `llm` and off for `rules`
 * unless the cycle says otherwise.
 */
export type ReviewDecision = 'accepted' | 'rejected';

export const REVIEW_DEFAULT_BY_STRATEGY: Readonly<Record<string, boolean>> = { llm: true, rules: false };

/** Three days: a weekend, and then some. Undecided variants are then not exposed. */
export const DEFAULT_REVIEW_TIMEOUT_HOURS = 72;
export const MAX_REVIEW_TIMEOUT_HOURS = 30 * 24;

/** Whether a cycle waits for review: its own choice, else the strategy's default (on for anything unknown). */
export function reviewRequired(choice: boolean | undefined, strategy: string): boolean {
  return choice ?? REVIEW_DEFAULT_BY_STRATEGY[strategy] ?? true;
}
