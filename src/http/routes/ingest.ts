import { Router } from 'express';
import { z } from 'zod';
import { requireToken } from '../auth';
import type { HttpDeps } from '../deps';
import { parse, promptKey, subjectId } from '../validation';

/**
 * /v1 paths opened by the ingest token (everything else under /v1 needs the admin token). Paths
 * are compared lower-cased and without trailing slashes, as Express routes match them.
 */
export const INGEST_PATHS: ReadonlySet<string> = new Set(['/assign', '/conversations']);

export const isIngestPath = (path: string): boolean => INGEST_PATHS.has(path.toLowerCase().replace(/\/+$/, ''));

const Assign = z.object({ promptKey, subjectId }).strict();

const Conversation = z.object({
  promptKey,
  versionId: z.uuid(),
  success: z.boolean(),
  subjectId: subjectId.optional(),
  topic: z.string().max(200).optional(),
  rating: z.number().int().min(1).max(5).optional(),
  latencyMs: z.number().int().min(0).max(86_400_000).optional(),
  tokens: z.number().int().min(0).max(10_000_000).optional(),
  error: z.string().max(2000).optional(),
  externalId: z.string().min(1).max(200).optional(),
  inputExcerpt: z.string().max(2000).optional(),
  outputExcerpt: z.string().max(2000).optional(),
}).strict();

/** The host app's calls: which version to serve a subject, and how a conversation went. */
export function ingestRouter(deps: HttpDeps): Router {
  const router = Router();
  // The /v1 guard already chose the ingest token for these paths; checking again on each route
  // keeps a route added here without its path in INGEST_PATHS from opening to the admin token.
  // (Per route, not router.use: this router sits in the /v1 chain in front of the admin routers.)
  const ingestOnly = requireToken('ingest', deps.ingestToken);

  router.post('/assign', ingestOnly, async (req, res) => {
    const body = parse(Assign, req.body);
    res.json(await deps.store.assignPrompt(body.promptKey, body.subjectId));
  });

  router.post('/conversations', ingestOnly, async (req, res) => {
    const c = parse(Conversation, req.body);
    const row = await deps.store.recordConversation({
      prompt_key: c.promptKey, version_id: c.versionId, success: c.success, subject_id: c.subjectId, topic: c.topic,
      rating: c.rating, latency_ms: c.latencyMs, tokens: c.tokens, error: c.error, external_id: c.externalId,
      input_excerpt: c.inputExcerpt, output_excerpt: c.outputExcerpt,
    });
    res.status(row.created ? 201 : 200).json({ id: row.id, created: row.created, experimentId: row.experiment_id, arm: row.arm });
  });

  return router;
}
