import { ActivityFailure, ApplicationFailure, log } from '@temporalio/workflow';

/**
 * Runs a periodic check's activity; when it exhausted its retries (a database down for longer
 * than the retry budget) the check is skipped and undefined returned: the workflow watches for
 * days, and the next check comes at the next interval. Final errors still end the workflow.
 */
export async function orSkipped<T>(what: string, context: Record<string, unknown>, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    const final = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable;
    if (final || !(err instanceof ActivityFailure)) throw err;
    log.warn(`${what} skipped: it kept failing; retrying at the next interval`, { ...context, error: err.message });
    return undefined;
  }
}
