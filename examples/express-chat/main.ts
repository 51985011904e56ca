/**
 * Runs the example chat app:
 *
 *   WORKER_URL=http://localhost:8081 INGEST_API_TOKEN=... LLM_BASE_URL=https://api.openai.com/v1 LLM_API_KEY=sk-... \
 *     npx tsx examples/express-chat/main.ts
 *
 * PROMPT_KEY (default support-assistant), LLM_MODEL (gpt-4o-mini), PORT (3000) are optional.
 */
import { createPromptClient, NotReadyError } from '@prompt-optimization/client';
import { createChatApp } from './app';

function required(name: string): string {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is required (see the header of examples/express-chat/main.ts)`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const promptKey = process.env.PROMPT_KEY ?? 'support-assistant';
  const fallbackPrompt = 'You are the customer support assistant of {{product}}. Answer politely, accurately and briefly.';
  const prompts = createPromptClient({
    baseUrl: required('WORKER_URL'),
    ingestToken: required('INGEST_API_TOKEN'),
    fallbacks: { [promptKey]: fallbackPrompt },
  });
  // Start serving even if the optimizer is down: the fallback prompt is used until a snapshot arrives.
  await prompts.ready({ timeoutMs: 5_000 }).catch((err: unknown) => {
    if (err instanceof NotReadyError) console.warn(`optimizer not reachable yet (${err.message}): serving the fallback prompt`);
    else throw err;
  });
  const app = createChatApp({
    prompts,
    promptKey,
    fallbackPrompt,
    variables: { product: process.env.PRODUCT ?? 'Acme' },
    llm: { baseURL: required('LLM_BASE_URL'), apiKey: required('LLM_API_KEY'), model: process.env.LLM_MODEL ?? 'gpt-4o-mini' },
  });
  const server = app.listen(Number(process.env.PORT ?? 3000), () =>
    console.info(`chat app on :${process.env.PORT ?? 3000}, prompt ${promptKey}`),
  );
  const stop = () => {
    server.close();
    // Deliver what is queued before exiting.
    void prompts.close().then((r) => {
      if (!r.ok) console.warn(`exiting with ${prompts.stats().dropped} conversations not delivered`);
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
