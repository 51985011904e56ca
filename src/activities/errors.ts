import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { InvalidDecisionInput } from '../stats';
import { StoreError } from '../store';

/**
 * Runs an activity body and converts final errors into non-retryable ApplicationFailures named
 * after the error, so Temporal stops retrying what can never succeed and keeps retrying what can
 * (network, serialization, outages). Final: store errors for validation, not found or conflict,
 * and a decision input the engine refuses (a corrupt snapshot memory is refused on every retry).
 */
export async function finalOnBadInput<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StoreError && !err.retryable) {
      throw ApplicationFailure.create({
        type: err.name,
        message: err.message,
        nonRetryable: true,
        details: [{ kind: err.kind, code: err.code }],
      });
    }
    if (err instanceof InvalidDecisionInput) {
      throw ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: true, details: [{ field: err.field }] });
    }
    throw err;
  }
}

/** Heartbeats when called inside an activity; a no-op elsewhere (unit tests call activities directly). */
export function safeHeartbeat(): void {
  try {
    heartbeat();
  } catch {
    // Not inside an activity: nothing to report to.
  }
}

/** Heartbeats every `everyMs` while `work` runs, so long SQL or LLM calls keep their lease. */
export async function withHeartbeat<T>(work: Promise<T>, everyMs = 5_000): Promise<T> {
  const timer = setInterval(safeHeartbeat, everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
