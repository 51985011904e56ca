/**
 * Typed store errors. Every adapter turns its failures into one of these so that callers (and
 * Temporal's retry policy, via the activities) know whether trying again can help.
 */
export type StoreErrorKind = 'validation' | 'not_found' | 'conflict' | 'unavailable' | 'permission' | 'internal';

export class StoreError extends Error {
  override readonly name: string = 'StoreError';
  constructor(
    message: string,
    readonly kind: StoreErrorKind,
    /** True when the same call may succeed later (network, serialization, server overload). */
    readonly retryable: boolean,
    /** SQLSTATE or transport code, when known. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export class StoreValidationError extends StoreError {
  override readonly name = 'StoreValidationError';
  constructor(message: string, code?: string) {
    super(message, 'validation', false, code);
  }
}

export class StoreNotFoundError extends StoreError {
  override readonly name = 'StoreNotFoundError';
  constructor(message: string, code?: string) {
    super(message, 'not_found', false, code);
  }
}

export class StoreConflictError extends StoreError {
  override readonly name = 'StoreConflictError';
  constructor(message: string, code?: string) {
    super(message, 'conflict', false, code);
  }
}

export class StoreUnavailableError extends StoreError {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, code?: string) {
    super(message, 'unavailable', true, code);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Maps a SQLSTATE (or a Node network error code) to a typed error. Retryable: connection
 * classes 08, serialization/deadlock 40001/40P01, resources 53, operator intervention 57P,
 * and network failures. Everything raised by our functions on purpose is final.
 */
export function errorFromCode(code: string | undefined, message: string): StoreError {
  const c = code ?? '';
  if (NETWORK_CODES.has(c) || c.startsWith('08') || c === '40001' || c === '40P01' || c.startsWith('53') || c.startsWith('57P')) {
    return new StoreUnavailableError(message, c || undefined);
  }
  if (c === 'P0002') return new StoreNotFoundError(message, c);
  if (c === '55000' || c === '23505' || c === '23P01') return new StoreConflictError(message, c);
  if (c.startsWith('22') || c.startsWith('23')) return new StoreValidationError(message, c);
  if (c === '42501') return new StoreError(message, 'permission', false, c);
  return new StoreError(message, 'internal', false, c || undefined);
}

/** Error-shaped things thrown by pg and PGlite: a message and maybe a SQLSTATE or errno code. */
export function toStoreError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (!code && /Connection terminated|connect|timeout|socket/i.test(message)) {
    return new StoreUnavailableError(message);
  }
  // Raised at connect time with 55000 (datallowconn = false, e.g. during maintenance): an outage,
  // not a conflict of ours.
  if (/is not currently accepting connections/i.test(message)) return new StoreUnavailableError(message, code);
  return errorFromCode(code, message);
}
