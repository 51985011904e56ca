import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, INGEST_TOKEN, startTestService, type TestService } from '../helpers/service';

/**
 * Socket limits and caching headers of the real server over real TCP: slow clients are cut off
 * at the configured limits (headers, whole request, idle keep-alive) while the service keeps
 * answering, and no /v1 answer may be cached.
 */
describe('HTTP server limits and caching', () => {
  let svc: TestService;
  let port: number;

  beforeAll(async () => {
    svc = await startTestService({ HTTP_HEADERS_TIMEOUT: '1s', HTTP_REQUEST_TIMEOUT: '2s', HTTP_KEEP_ALIVE_TIMEOUT: '500ms' });
    port = svc.httpPort;
  });
  afterAll(async () => svc?.teardown());

  /** Opens a socket, writes `first`, and resolves with the ms until the server closes it (and what it answered). */
  function held(first: string): Promise<{ ms: number; answer: string }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const socket: Socket = connect(port, '127.0.0.1', () => socket.write(first));
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.on('close', () => resolve({ ms: Date.now() - started, answer }));
      socket.on('error', reject);
      setTimeout(() => {
        socket.destroy();
        reject(new Error('the server kept the connection open for 15 s'));
      }, 15_000).unref();
    });
  }

  it('cuts off 200 clients that never finish their headers at the headers timeout, and keeps serving', async () => {
    const slow = Array.from({ length: 200 }, (_, i) => held(`POST /v1/conversations HTTP/1.1\r\nHost: x\r\nX-Slow-${i}: `));
    await new Promise((r) => setTimeout(r, 300));
    const health = await fetch(`${svc.baseUrl}/health`);
    expect(health.status).toBe(200);
    const closed = await Promise.all(slow);
    const worst = Math.max(...closed.map((c) => c.ms));
    console.info(
      `limits: 200 slow-header connections closed after ${Math.min(...closed.map((c) => c.ms))}-${worst} ms (headers timeout 1 s)`,
    );
    expect(worst).toBeLessThan(3_500);
    expect(Math.min(...closed.map((c) => c.ms))).toBeGreaterThanOrEqual(900);
  });

  it('cuts off a client whose body never arrives at the request timeout, and writes nothing', async () => {
    const before = (await svc.store.listPromptKeys()).length;
    const body = JSON.stringify({ promptKey: 'slow-body', content: 'You help.', activate: true });
    const { ms } = await held(
      `POST /v1/prompts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    expect(ms).toBeGreaterThanOrEqual(1_900);
    expect(ms).toBeLessThan(4_500);
    expect((await svc.store.listPromptKeys()).length).toBe(before);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const { ms, answer } = await held('GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 (200|503)/);
    expect(ms).toBeLessThan(2_500);
  });

  it('every /v1 answer says Cache-Control: no-store, refusals included; /health does not need to', async () => {
    const answers = await Promise.all([
      fetch(`${svc.baseUrl}/v1/prompts`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
      fetch(`${svc.baseUrl}/v1/prompts`),
      fetch(`${svc.baseUrl}/v1/jobs/0x1`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
      fetch(`${svc.baseUrl}/v1/nowhere`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
      fetch(`${svc.baseUrl}/v1/assign`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
        body: '{"promptKey":"none","subjectId":"s"}',
      }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 401, 400, 404, 404]);
    for (const r of answers) expect(r.headers.get('cache-control'), r.url).toBe('no-store');
  });
});
