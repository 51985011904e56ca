/**
 * HTTP to the worker with fetch only (Node >= 20 and edge runtimes): bearer token, a timeout
 * per request, JSON both ways. Errors never contain the token.
 */
import { PromptClientError } from './errors.js';

export interface TransportOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  fetch: typeof fetch;
}

export interface HttpReply {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined (no body, 304, not JSON). */
  body: unknown;
}

export class Transport {
  private readonly base: string;

  constructor(private readonly opts: TransportOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
  }

  /** Any HTTP status resolves; only a network failure or a timeout rejects (PromptClientError). */
  async request(method: 'GET' | 'POST', path: string, init: { body?: unknown; headers?: Record<string, string> } = {}): Promise<HttpReply> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.opts.timeoutMs);
    const headers: Record<string, string> = { authorization: `Bearer ${this.opts.token}`, accept: 'application/json', ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await this.opts.fetch(`${this.base}${path}`, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: controller.signal,
      });
      const text = res.status === 304 ? '' : await res.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      return { status: res.status, headers: res.headers, body };
    } catch (err) {
      if (controller.signal.aborted)
        throw new PromptClientError('timeout', `${method} ${path}: no answer within ${this.opts.timeoutMs} ms`);
      throw new PromptClientError('network', `${method} ${path}: ${(err as Error)?.message ?? 'request failed'}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The message of an error reply ({ error, field } from the worker), for reports. */
export function httpError(method: string, path: string, reply: HttpReply): PromptClientError {
  const b = reply.body as { error?: unknown } | undefined;
  const why = typeof b?.error === 'string' ? `: ${b.error.slice(0, 200)}` : '';
  return new PromptClientError('http', `${method} ${path} answered ${reply.status}${why}`, { status: reply.status });
}
