/**
 * STAND-IN for an OpenAI-compatible endpoint, for tests only: a tiny node:http server on
 * 127.0.0.1 (port 0) answering POST /v1/chat/completions the way a real server would, with
 * scriptable misbehaviour (fenced JSON, garbage, HTTP errors, slowness). It records every
 * request so tests can check what the client actually sent. It is not a model and not a mock
 * of the `openai` package: the real client talks to it over real HTTP.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeVariant {
  content: string;
  rationale: string;
}

/** What the stand-in answers to one chat completion call. */
export type FakeReply =
  /** A well-formed completion whose message is `{"variants":[...]}`. */
  | { type: 'variants'; variants: FakeVariant[] }
  /** The same JSON, but inside a ```json fence with chatter around it (servers that ignore response_format). */
  | { type: 'fenced'; variants: FakeVariant[] }
  /** A well-formed completion with arbitrary message text. */
  | { type: 'text'; text: string }
  /** An HTTP error with an OpenAI-style error body. */
  | { type: 'status'; status: number; message?: string };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or the raw text if it was not JSON. */
  body: unknown;
}

export interface FakeOpenAIServerOptions {
  /** The answer, fixed or computed per call (0-based index over all calls). Default: text "{}". */
  reply?: FakeReply | ((request: RecordedRequest, callIndex: number) => FakeReply);
  /** Answer HTTP `failStatus` to the first `failFirst` calls, then `reply`. */
  failFirst?: number;
  /** Default 500. */
  failStatus?: number;
  /**
   * `retry-after-ms` sent with error responses. The openai client honours it, which keeps
   * retry tests fast instead of waiting out its default 0.5 s+ backoff. Default 10.
   */
  retryAfterMs?: number;
  /** Delay before answering each call (to test client timeouts). Default 0. */
  delayMs?: number;
}

export interface FakeOpenAIServer {
  /** e.g. http://127.0.0.1:12345/v1, ready for `new OpenAI({ baseURL })`. */
  baseURL: string;
  port: number;
  /** Every request received, in order (including failed ones). */
  requests: RecordedRequest[];
  /** Number of POST /v1/chat/completions calls received. */
  readonly calls: number;
  close(): Promise<void>;
}

function completion(model: unknown, content: string): unknown {
  return {
    id: 'chatcmpl-standin',
    object: 'chat.completion',
    created: 0,
    model: typeof model === 'string' ? model : 'stand-in',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function modelOf(body: unknown): unknown {
  return typeof body === 'object' && body !== null ? (body as { model?: unknown }).model : undefined;
}

export async function startFakeOpenAIServer(opts: FakeOpenAIServerOptions = {}): Promise<FakeOpenAIServer> {
  const requests: RecordedRequest[] = [];
  let calls = 0;
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        // keep the raw text
      }
      const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      requests.push(recorded);

      if (req.method !== 'POST' || recorded.path !== '/v1/chat/completions') {
        send(res, 404, { error: { message: `stand-in has no route ${req.method} ${recorded.path}`, type: 'not_found' } });
        return;
      }
      const index = calls++;
      const respond = (): void => {
        const reply: FakeReply =
          index < (opts.failFirst ?? 0)
            ? { type: 'status', status: opts.failStatus ?? 500, message: 'stand-in scripted failure' }
            : typeof opts.reply === 'function'
              ? opts.reply(recorded, index)
              : (opts.reply ?? { type: 'text', text: '{}' });
        const model = modelOf(body);
        switch (reply.type) {
          case 'variants':
            send(res, 200, completion(model, JSON.stringify({ variants: reply.variants })));
            return;
          case 'fenced':
            send(
              res,
              200,
              completion(
                model,
                `Here are the variants:\n\n\`\`\`json\n${JSON.stringify({ variants: reply.variants }, null, 2)}\n\`\`\`\nHope this helps.`,
              ),
            );
            return;
          case 'text':
            send(res, 200, completion(model, reply.text));
            return;
          case 'status':
            send(
              res,
              reply.status,
              { error: { message: reply.message ?? `stand-in HTTP ${reply.status}`, type: 'server_error', code: null } },
              { 'retry-after-ms': String(opts.retryAfterMs ?? 10) },
            );
            return;
        }
      };
      if (opts.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) respond();
        }, opts.delayMs);
        timers.add(timer);
      } else {
        respond();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    get calls() {
      return calls;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port that was just free and is now closed: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
