import { Router } from 'express';
import { z } from 'zod';
import { rolloutWorkflowId } from '../../domain/ids';
import { rolloutChangedSignal } from '../../workflows/definitions';
import type { HttpDeps } from '../deps';
import { HttpError } from '../errors';
import { actor, multiLine, parse, PromptKeyParam, promptKey } from '../validation';

const SeedPrompt = z
  .object({
    promptKey,
    content: multiLine(50_000).min(1),
    activate: z.boolean().default(false),
    rationale: multiLine(2000).optional(),
  })
  .strict();

const Rollback = z.object({ actor, reason: multiLine(2000).trim().min(1) }).strict();

/** Admin: prompt keys, seeding a version, a key's versions/insights/promotions, rollback. */
export function promptsRouter(deps: HttpDeps): Router {
  const router = Router();
  const { store } = deps;

  router.get('/prompts', async (_req, res) => {
    res.json({ prompts: await store.listPromptKeys() });
  });

  router.post('/prompts', async (req, res) => {
    const body = parse(SeedPrompt, req.body);
    const version = await store.createPromptVersion({ ...body, strategy: 'manual' });
    res.status(version.created ? 201 : 200).json({ version });
  });

  router.get('/prompts/:key', async (req, res) => {
    const { key } = parse(PromptKeyParam, req.params, 'params');
    const [versions, insights, promotions] = await Promise.all([
      store.listPromptVersions(key),
      store.listInsights(key, null),
      store.listPromotionEvents(key),
    ]);
    if (versions.length === 0) throw new HttpError(404, `prompt key ${key} not found`);
    res.json({ promptKey: key, versions, insights, promotions });
  });

  router.post('/prompts/:key/rollback', async (req, res) => {
    const { key } = parse(PromptKeyParam, req.params, 'params');
    const body = parse(Rollback, req.body);
    const event = await store.rollbackPrompt(key, body.actor, body.reason);
    // A rollback during a guarded rollout ended it: its watch ends at once instead of at its next check.
    if (event.rollout_id)
      await deps.client.workflow
        .getHandle(rolloutWorkflowId(event.rollout_id))
        .signal(rolloutChangedSignal)
        .catch(() => {});
    res.json({ event });
  });

  return router;
}
