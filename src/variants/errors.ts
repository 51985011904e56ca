/**
 * Typed failures of the LLM strategy. `retryable` tells the activity whether another attempt
 * can help (mapped to a non-retryable ApplicationFailure otherwise). Messages name the endpoint
 * host so an operator knows where to look, and never carry the API key.
 */

export abstract class LlmError extends Error {
  abstract readonly retryable: boolean;
  /** `host[:port]` of the configured base URL. */
  readonly host: string;

  constructor(message: string, host: string) {
    super(message);
    this.name = new.target.name;
    this.host = host;
  }
}

/**
 * The endpoint could not give an answer: unreachable, timed out, a server error after the
 * client's own retries (retryable), or it refused the request, e.g. a bad key or unknown model
 * (not retryable: the configuration has to change first).
 */
export class LlmUnavailableError extends LlmError {
  readonly retryable: boolean;
  /** HTTP status, when the endpoint answered at all. */
  readonly status: number | undefined;

  constructor(message: string, host: string, opts: { retryable: boolean; status?: number }) {
    super(message, host);
    this.retryable = opts.retryable;
    this.status = opts.status;
  }
}

/**
 * The endpoint answered but not with the variants JSON we asked for. Retryable: sampling is not
 * deterministic, so another attempt often parses; the activity's maximumAttempts bounds it.
 */
export class LlmResponseError extends LlmError {
  readonly retryable = true;
  /** The start of the offending answer, for the log. */
  readonly excerpt: string;

  constructor(message: string, host: string, excerpt: string) {
    super(message, host);
    this.excerpt = excerpt;
  }
}
