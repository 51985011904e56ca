/**
 * Exponential backoff with "equal jitter": half of the capped exponential delay for sure, the
 * other half at random. Many host-app instances that lost the worker at the same moment then
 * come back spread out instead of in one wave, and none retries at once.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  random: () => number;
}

/** Delay before retry number `attempt` (1 = the first retry). */
export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  const cap = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + policy.random() * (cap / 2));
}

/** Retry-After in milliseconds (delta-seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
