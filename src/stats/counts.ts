/**
 * Arithmetic on outcome counts (an arm, a topic within it, a time window) and the key under which
 * SQL's pooled topics (null: no topic, or beyond the most frequent ones) are grouped.
 */
import type { OutcomeCounts } from '../domain/types';

export function emptyOutcome(): OutcomeCounts {
  return { n: 0, successes: 0, ratingN: 0, ratingSum: 0, ratingSumSq: 0, errors: 0 };
}

/** into += sign x from, field by field (mutates `into`). */
export function addOutcome(into: OutcomeCounts, from: OutcomeCounts, sign = 1): void {
  into.n += sign * from.n;
  into.successes += sign * from.successes;
  into.ratingN += sign * from.ratingN;
  into.ratingSum += sign * from.ratingSum;
  into.ratingSumSq += sign * from.ratingSumSq;
  into.errors += sign * from.errors;
}

/** a - b, never below 0 in any field (a window can never hold more than its whole). */
export function subtractOutcome(a: OutcomeCounts, b: OutcomeCounts): OutcomeCounts {
  const out = emptyOutcome();
  addOutcome(out, a);
  addOutcome(out, b, -1);
  for (const key of Object.keys(out) as (keyof OutcomeCounts)[]) out[key] = Math.max(0, out[key]);
  return out;
}

/** The map key of a topic; the pooled (null) topic gets one no logged topic can collide with. */
export function topicKey(topic: string | null): string {
  return topic ?? '\u0000pooled';
}
