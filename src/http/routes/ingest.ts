import { Router } from 'express';
import { z } from 'zod';
import type { ConversationBatchRowResult, ConversationInput, FeedbackItemResult } from '../../store';
import { requireToken } from '../auth';
import { apiMessage, etagOf, fieldOfSqlMessage, noneMatch, partition, type ItemProblem } from '../batch';
import type { HttpDeps } from '../deps';
import { HttpError } from '../errors';
import { multiLine, parse, parseBatch, promptKey, singleLine, subjectId } from '../validation';

/**
 * /v1 paths opened by the ingest token (everything else under /v1 needs the admin token). Paths
 * are compared lower-cased and without trailing slashes, as Express routes match them.
 */
export const INGEST_PATHS: ReadonlySet<string> = new Set(['/assign', '/conversations', '/serving', '/conversations/batch', '/feedback']);

export const isIngestPath = (path: string): boolean => INGEST_PATHS.has(path.toLowerCase().replace(/\/+$/, ''));

/** Batches carry up to 500 rows with excerpts: a larger body limit than the rest of /v1. */
export const LARGE_BODY_PATHS: Readonly<Record<string, string>> = { '/conversations/batch': '1mb', '/feedback': '1mb' };

const MAX_BATCH = 500;
const DEFAULT_FEEDBACK_WINDOW_MS = 7 * 86_400_000;

const Assign = z.object({ promptKey, subjectId }).strict();

const Conversation = z
  .object({
    promptKey,
    versionId: z.uuid(),
    success: z.boolean(),
    subjectId: subjectId.optional(),
    topic: singleLine(200).optional(),
    rating: z.number().int().min(1).max(5).optional(),
    latencyMs: z.number().int().min(0).max(86_400_000).optional(),
    tokens: z.number().int().min(0).max(10_000_000).optional(),
    error: multiLine(2000).optional(),
    externalId: singleLine(200).min(1).optional(),
    inputExcerpt: multiLine(2000).optional(),
    outputExcerpt: multiLine(2000).optional(),
  })
  .strict();

/** A batch row: externalId is required (it makes a retried batch safe); createdAt is when it happened. */
const BatchConversation = Conversation.extend({
  externalId: singleLine(200).min(1),
  createdAt: z.iso.datetime({ offset: true }).optional(),
}).strict();

const Serving = z.object({
  promptKeys: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) =>
      v === undefined
        ? undefined
        : [v]
            .flat()
            .flatMap((s) => s.split(','))
            .map((s) => s.trim())
            .filter((s) => s !== ''),
    )
    .pipe(z.array(promptKey).max(1000).optional()),
});

const FeedbackItem = z
  .object({
    externalId: singleLine(200).min(1),
    success: z.boolean().optional(),
    rating: z.number().int().min(1).max(5).optional(),
  })
  .strict()
  .refine((f) => f.success !== undefined || f.rating !== undefined, { message: 'feedback needs success or rating', path: ['success'] });

function toConversationInput(c: z.infer<typeof Conversation> & { createdAt?: string }): ConversationInput {
  return {
    prompt_key: c.promptKey,
    version_id: c.versionId,
    success: c.success,
    subject_id: c.subjectId,
    topic: c.topic,
    rating: c.rating,
    latency_ms: c.latencyMs,
    tokens: c.tokens,
    error: c.error,
    external_id: c.externalId,
    input_excerpt: c.inputExcerpt,
    output_excerpt: c.outputExcerpt,
    created_at: c.createdAt,
  };
}

function rowResult(index: number, r: ConversationBatchRowResult) {
  if (r.status === 'error')
    return { index, status: r.status, externalId: r.external_id, field: fieldOfSqlMessage(r.error), error: apiMessage(r.error) };
  return { index, status: r.status, externalId: r.external_id, id: r.id, experimentId: r.experiment_id, arm: r.arm };
}

function feedbackResult(index: number, r: FeedbackItemResult) {
  return {
    index,
    status: r.status,
    externalId: r.external_id,
    ...(r.conversation_id !== undefined ? { conversationId: r.conversation_id } : {}),
    ...(r.success !== undefined ? { success: r.success, rating: r.rating ?? null, changedAt: r.changed_at ?? null } : {}),
    ...(r.error ? { field: fieldOfSqlMessage(r.error), error: apiMessage(r.error) } : {}),
  };
}

/** Per-item problems and the store's results, back in request order. */
function merged<T extends { index: number }>(problems: ItemProblem[], results: T[]): Array<T | ItemProblem> {
  return [...problems, ...results].sort((a, b) => a.index - b.index);
}

/** The host app's calls: what to serve, which version a subject gets, how conversations went, late feedback. */
export function ingestRouter(deps: HttpDeps): Router {
  const router = Router();
  // The /v1 guard already chose the ingest token for these paths; checking again on each route
  // keeps a route added here without its path in INGEST_PATHS from opening to the admin token.
  // (Per route, not router.use: this router sits in the /v1 chain in front of the admin routers.)
  const ingestOnly = requireToken('ingest', deps.ingestToken);
  const windowSeconds = Math.round((deps.feedbackWindowMs ?? DEFAULT_FEEDBACK_WINDOW_MS) / 1000);

  router.post('/assign', ingestOnly, async (req, res) => {
    const body = parse(Assign, req.body);
    res.json(await deps.store.assignPrompt(body.promptKey, body.subjectId));
  });

  router.post('/conversations', ingestOnly, async (req, res) => {
    const row = await deps.store.recordConversation(toConversationInput(parse(Conversation, req.body)));
    res.status(row.created ? 201 : 200).json({ id: row.id, created: row.created, experimentId: row.experiment_id, arm: row.arm });
  });

  // The snapshot the SDK assigns from. Deterministic for the same state, so its hash is its ETag:
  // a client holding the current one gets a 304 without a body.
  router.get('/serving', ingestOnly, async (req, res) => {
    const { promptKeys } = parse(Serving, req.query, 'query');
    const body = JSON.stringify(await deps.store.servingSnapshot(promptKeys));
    const etag = etagOf(body);
    res.set('ETag', etag).set('Cache-Control', 'private, no-cache');
    if (noneMatch(req.get('if-none-match'), etag)) {
      res.status(304).end();
      return;
    }
    res.type('application/json').send(body);
  });

  // Each row on its own: a bad row is its own result (field and reason), the others are stored.
  router.post('/conversations/batch', ingestOnly, async (req, res) => {
    const rows = parseBatch('rows', req.body, MAX_BATCH);
    const { valid, problems } = partition(BatchConversation, rows);
    const stored =
      valid.length > 0 ? await deps.store.recordConversationBatch(valid.map((v) => toConversationInput(v.value))) : { results: [] };
    const results = merged(
      problems,
      stored.results.map((r, i) => rowResult(valid[i]!.index, r)),
    );
    const count = (s: string) => results.filter((r) => r.status === s).length;
    res.json({ received: rows.length, created: count('created'), duplicates: count('duplicate'), errors: count('error'), results });
  });

  // One item ({externalId, success?, rating?}) answers with its status code; { items: [...] } with one result per item.
  router.post('/feedback', ingestOnly, async (req, res) => {
    if (req.body && typeof req.body === 'object' && 'items' in req.body) {
      const items = parseBatch('items', req.body, MAX_BATCH);
      const { valid, problems } = partition(FeedbackItem, items);
      const stored =
        valid.length > 0
          ? await deps.store.recordFeedback(
              valid.map((v) => ({ external_id: v.value.externalId, success: v.value.success, rating: v.value.rating })),
              { windowSeconds },
            )
          : { results: [] };
      const results = merged(
        problems,
        stored.results.map((r, i) => feedbackResult(valid[i]!.index, r)),
      );
      res.json({ received: items.length, updated: results.filter((r) => r.status === 'updated').length, results });
      return;
    }
    const f = parse(FeedbackItem, req.body);
    const [r] = (await deps.store.recordFeedback([{ external_id: f.externalId, success: f.success, rating: f.rating }], { windowSeconds }))
      .results;
    if (r!.status === 'not_found')
      throw new HttpError(404, `no conversation with externalId ${JSON.stringify(f.externalId.slice(0, 200))}`, 'externalId');
    if (r!.status === 'window_closed')
      throw new HttpError(409, `the conversation is older than the feedback window (${Math.round(windowSeconds / 3600)} h)`, 'externalId');
    if (r!.status === 'error') throw new HttpError(400, apiMessage(r!.error ?? 'invalid feedback'), fieldOfSqlMessage(r!.error ?? ''));
    res.json(feedbackResult(0, r!));
  });

  return router;
}
