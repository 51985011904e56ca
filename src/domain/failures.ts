import { ApplicationFailure } from '@temporalio/common';

/**
 * Names of the typed failures that cross layers: activities raise them as non-retryable
 * ApplicationFailures, workflows and the HTTP API branch on them. One constant per name, so a
 * rename cannot silently turn a handled case into a crash.
 */
export const FAILURE = {
  LiveExperimentExists: 'LiveExperimentExists',
  ApprovalSuperseded: 'ApprovalSuperseded',
  InvalidPolicy: 'InvalidPolicy',
  InvalidJobParams: 'InvalidJobParams',
  UnknownStrategy: 'UnknownStrategy',
} as const;

export type FailureType = (typeof FAILURE)[keyof typeof FAILURE];

/** The error and its causes, outermost first (Temporal wraps: ActivityFailure -> ApplicationFailure). */
export function* causeChain(err: unknown, max = 8): Generator<unknown> {
  let e: unknown = err;
  for (let i = 0; i < max && e !== undefined && e !== null; i++) {
    yield e;
    e = typeof e === 'object' ? (e as { cause?: unknown }).cause : undefined;
  }
}

/** The `type` of the first ApplicationFailure in the chain, if any. */
export function failureType(err: unknown): string | undefined {
  for (const e of causeChain(err)) {
    if (e instanceof ApplicationFailure) return e.type ?? undefined;
  }
  return undefined;
}

/** SDK wrappers whose message says nothing about what went wrong. */
const WRAPPER_MESSAGES = new Set(['Activity task failed', 'Child Workflow execution failed']);

/** The distinct, meaningful messages of the chain joined by ": " (what a job row shows). */
export function describeFailure(err: unknown, maxParts = 4): string {
  const parts: string[] = [];
  for (const e of causeChain(err)) {
    if (!(e instanceof Error) || parts.length >= maxParts) break;
    if (!parts.includes(e.message) && !WRAPPER_MESSAGES.has(e.message)) parts.push(e.message);
  }
  return parts.join(': ') || String(err);
}
