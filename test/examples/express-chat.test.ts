import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPromptClient, type PromptClient } from '@prompt-optimization/client';
import { createChatApp } from '../../examples/express-chat/app';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../helpers/fake-openai-server';
import { INGEST_TOKEN, startTestService, type TestService } from '../helpers/service';
import { waitFor } from '../helpers/traffic';

/**
 * examples/express-chat on real parts: the worker service, the SDK over HTTP, the example app on
 * a real socket, and the local OpenAI-compatible stand-in as the model. The system prompt the
 * model receives is the served version; the outcome and the late thumbs-down land in the database.
 */
describe('examples/express-chat', () => {
  let svc: TestService;
  let llm: FakeOpenAIServer;
  let prompts: PromptClient;
  let server: Server;
  let base: string;
  let versions: Map<string, string>;

  beforeAll(async () => {
    svc = await startTestService();
    llm = await startFakeOpenAIServer({ reply: { type: 'text', text: 'Here is how to fix your invoice.' } });
    const control = await svc.store.createPromptVersion({
      promptKey: 'chat-example',
      content: 'You support {{product}} users.',
      activate: true,
    });
    const variant = await svc.store.createPromptVersion({
      promptKey: 'chat-example',
      content: 'You support {{product}} users. Be brief.',
      parentVersionId: control.id,
    });
    await svc.store.createExperiment({ promptKey: 'chat-example', variantVersionIds: [variant.id], weights: [0.5, 0.5] });
    versions = new Map([
      [control.id, control.content],
      [variant.id, variant.content],
    ]);
    prompts = createPromptClient({ baseUrl: svc.baseUrl, ingestToken: INGEST_TOKEN, flushIntervalMs: 100, onError: () => undefined });
    await prompts.ready();
    const app = createChatApp({
      prompts,
      promptKey: 'chat-example',
      fallbackPrompt: 'Fallback.',
      variables: { product: 'Acme' },
      llm: { baseURL: llm.baseURL, apiKey: 'sk-example-test', model: 'stand-in' },
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await prompts?.close();
    await llm?.close();
    await svc?.teardown();
  });

  /** The logged rows, in the order of the ids, read from the database itself. */
  async function conversations(ids: string[]) {
    const db = (svc.store.transport as unknown as { db: { query<R>(q: string, p: unknown[]): Promise<{ rows: R[] }> } }).db;
    const { rows } = await db.query<{
      external_id: string;
      success: boolean;
      rating: number | null;
      subject_id: string;
      latency_ms: number | null;
      tokens: number | null;
      error: string | null;
    }>(
      `select c.external_id, c.success, c.rating, c.subject_id, c.latency_ms, c.tokens, c.error
       from unnest($1::text[]) with ordinality as x(id, ord) join public.ai_conversations c on c.external_id = x.id order by x.ord`,
      [ids],
    );
    return rows;
  }

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  it('answers with the served prompt as system message, logs the outcome, and takes a late thumbs-down', async () => {
    const chats = [];
    for (let i = 0; i < 6; i++)
      chats.push({ user: `u-${i}`, res: await post('/chat', { userId: `u-${i}`, message: 'Why was I charged twice?' }) });
    for (const [i, c] of chats.entries()) {
      expect(c.res.status).toBe(200);
      expect(c.res.body).toMatchObject({
        reply: 'Here is how to fix your invoice.',
        conversationId: expect.any(String),
        prompt: { source: 'live' },
      });
      const sent = llm.requests[i]!.body as { messages: Array<{ role: string; content: string }> };
      const served = prompts.getPrompt('chat-example', c.user, { variables: { product: 'Acme' } });
      expect(sent.messages[0]).toEqual({ role: 'system', content: served.content });
      expect(served.content).toBe(versions.get(served.versionId!)!.replace('{{product}}', 'Acme'));
    }
    const ids = chats.map((c) => c.res.body.conversationId as string);
    await waitFor(async () => prompts.stats().delivered >= 6, { what: 'conversations delivered' });
    const rows = await conversations(ids);
    expect(rows.map((r) => [r.external_id, r.success, r.subject_id])).toEqual(chats.map((c, i) => [ids[i], true, c.user]));
    expect(rows.every((r) => r.latency_ms !== null && r.tokens === 2)).toBe(true);

    // Minutes later (here: now), a thumbs-down for the first answer.
    expect((await post(`/chat/${ids[0]}/feedback`, { thumbsUp: false })).status).toBe(202);
    await waitFor(async () => prompts.stats().feedbackDelivered >= 1, { what: 'feedback delivered' });
    expect((await conversations([ids[0]!]))[0]).toMatchObject({ success: false, rating: 1 });
    expect((await post('/chat', { message: 'hi' })).status).toBe(400);
  });

  it('a model failure is a 502, logged as a failed conversation with its error', async () => {
    const failing = await startFakeOpenAIServer({ reply: { type: 'status', status: 400, message: 'model overloaded' } });
    const app = createChatApp({
      prompts,
      promptKey: 'chat-example',
      fallbackPrompt: 'F.',
      llm: { baseURL: failing.baseURL, apiKey: 'k', model: 'm' },
    });
    const s = app.listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'u-x', message: 'hello' }),
      });
      expect(res.status).toBe(502);
      const { conversationId } = (await res.json()) as { conversationId: string };
      await prompts.flush();
      expect((await conversations([conversationId]))[0]).toMatchObject({
        success: false,
        error: expect.stringMatching(/model overloaded/),
      });
    } finally {
      await new Promise((r) => s.close(r));
      await failing.close();
    }
  });
});
