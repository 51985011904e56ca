/**
 * A small host app: a chat endpoint whose system prompt comes from the optimizer.
 *
 *   POST /chat {userId, message}                  -> {reply, conversationId, prompt: {version, source}}
 *   POST /chat/:conversationId/feedback {thumbsUp} -> 202 (the late outcome, e.g. a thumbs-down minutes later)
 *
 * Per request: the prompt is a local lookup (getPrompt never waits on the network), the model
 * is any OpenAI-compatible endpoint, and the outcome is queued for the optimizer in the
 * background (logConversation). What counts as success is the app's call; here: the model
 * answered, and later the user's thumbs override it.
 */
import express, { type Express } from 'express';
import OpenAI from 'openai';
import type { PromptClient } from '@prompt-optimization/client';

export interface ChatAppOptions {
  prompts: PromptClient;
  llm: { baseURL: string; apiKey: string; model: string; timeoutMs?: number };
  promptKey: string;
  /** Served when the optimizer was never reached (first boot during an outage). */
  fallbackPrompt: string;
  /** Values of the prompt's {{variables}}. */
  variables?: Record<string, string>;
}

export function createChatApp(opts: ChatAppOptions): Express {
  const openai = new OpenAI({ baseURL: opts.llm.baseURL, apiKey: opts.llm.apiKey, timeout: opts.llm.timeoutMs ?? 30_000, maxRetries: 1 });
  const app = express();
  app.use(express.json({ limit: '32kb' }));

  app.post('/chat', async (req, res) => {
    const { userId, message } = (req.body ?? {}) as { userId?: unknown; message?: unknown };
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 200)
      return void res.status(400).json({ error: 'userId: 1-200 characters' });
    if (typeof message !== 'string' || message.trim() === '') return void res.status(400).json({ error: 'message: required' });

    const prompt = opts.prompts.getPrompt(opts.promptKey, userId, { fallback: opts.fallbackPrompt, variables: opts.variables });
    const started = Date.now();
    let reply = '';
    let error: string | undefined;
    let tokens: number | undefined;
    try {
      const completion = await openai.chat.completions.create({
        model: opts.llm.model,
        messages: [
          { role: 'system', content: prompt.content },
          { role: 'user', content: message },
        ],
      });
      reply = completion.choices[0]?.message?.content ?? '';
      tokens = completion.usage?.total_tokens;
    } catch (err) {
      error = (err as Error).message.slice(0, 500);
    }
    // A fallback has no version: nothing to learn from it, so it is not logged.
    const conversationId = prompt.versionId
      ? opts.prompts.logConversation({
          promptKey: opts.promptKey,
          versionId: prompt.versionId,
          subjectId: userId,
          success: !error && reply.trim() !== '',
          latencyMs: Date.now() - started,
          tokens,
          error,
        })
      : null;
    if (error) return void res.status(502).json({ error: 'the model did not answer', conversationId });
    res.json({ reply, conversationId, prompt: { version: prompt.version, source: prompt.source } });
  });

  app.post('/chat/:conversationId/feedback', (req, res) => {
    const { thumbsUp } = (req.body ?? {}) as { thumbsUp?: unknown };
    if (typeof thumbsUp !== 'boolean') return void res.status(400).json({ error: 'thumbsUp: true or false' });
    opts.prompts.recordFeedback(req.params.conversationId, { success: thumbsUp, rating: thumbsUp ? 5 : 1 });
    res.status(202).json({ accepted: true });
  });

  return app;
}
