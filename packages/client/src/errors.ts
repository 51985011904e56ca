/**
 * Typed errors of the SDK. The hot path (getPrompt, logConversation, recordFeedback) never
 * throws: problems it meets are counted in stats() and reported through `onError`. Only
 * createPromptClient (bad options) and ready() (nothing fetched in time) throw.
 */
export type PromptClientErrorCode =
  /** createPromptClient was given an option it cannot use. */
  | 'config'
  /** ready(): no snapshot was fetched before the timeout. */
  | 'not_ready'
  /** The worker could not be reached, or did not answer in time. */
  | 'network'
  | 'timeout'
  /** The worker answered with an HTTP error status. */
  | 'http'
  /** The worker's answer was not what this SDK understands (a version mismatch?). */
  | 'bad_response'
  /** Rows or feedback items the worker refused (each with its reason), or that this SDK refused before sending. */
  | 'rejected'
  /** Rows or feedback items dropped: the queue was full, the client was closed, or the worker refuses the whole batch. */
  | 'dropped';

export class PromptClientError extends Error {
  override readonly name: string = 'PromptClientError';
  readonly code: PromptClientErrorCode;
  /** HTTP status, for code 'http'. */
  readonly status?: number;
  /** Per-item reasons, for 'rejected' and 'dropped' (at most the first few). */
  readonly details?: readonly string[];

  constructor(code: PromptClientErrorCode, message: string, extra: { status?: number; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.status = extra.status;
    this.details = extra.details;
  }

  /** Worth another try later: the network, a timeout, or a status that says "not now". */
  get retryable(): boolean {
    if (this.code === 'network' || this.code === 'timeout' || this.code === 'bad_response') return true;
    return this.code === 'http' && this.status !== undefined && isRetryableStatus(this.status);
  }
}

/** ready() timed out before the first snapshot arrived; `cause` holds the last failure, if any. */
export class NotReadyError extends PromptClientError {
  override readonly name = 'NotReadyError';

  constructor(timeoutMs: number, cause?: unknown) {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    super('not_ready', `no serving snapshot within ${timeoutMs} ms${why}`, { cause });
  }
}

/**
 * Statuses retried with backoff. 401/403/404 are included on purpose: they come from a token
 * being rotated or a worker not yet upgraded, both fixed by operators while the rows wait in the
 * bounded queue (overflow is counted as dropped). Other 4xx mean the request itself is wrong.
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || [401, 403, 404, 408, 409, 425, 429].includes(status);
}
