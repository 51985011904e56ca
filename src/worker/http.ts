import { createHash, timingSafeEqual } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parseJobParams } from '../activities/jobs';
import { PolicyOverrides } from '../domain/policy';
import { JOB_TYPES, StoreError, type Store } from '../store';
import { monitorWorkflowId, startJobWorkflow, workflowUrl } from '../temporal/start';
import { approvePromotionUpdate, pauseSignal, resumeSignal, statusQuery, stopSignal } from '../workflows/definitions';
import type { WorkerMetrics } from './metrics';
import type { HealthStats } from './stats';

export interface HttpDeps {
  store: Store;
  client: Client;
  taskQueue: string;
  namespace: string;
  uiUrl: string;
  adminToken?: string;
  ingestToken?: string;
  stats: HealthStats;
  metrics: WorkerMetrics;
  logger: Logger;
  /** Why the worker is not healthy, or null when it is. */
  workerProblem: () => string | null;
  /** Extra Prometheus text (the Temporal core's own metrics), when available. */
  extraMetrics?: () => Promise<string>;
  startedAt: number;
  /** Extra routers (e.g. the dashboard), mounted before the 404 handler. */
  mounts?: Array<{ path: string; router: express.Router }>;
}

/** An error the API answers with its own status and a message safe to show. */
class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string) {
    super(message);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison (hashing first makes lengths equal, so length leaks nothing either). */
export function tokenMatches(presented: string | undefined, expected: string | undefined): boolean {
  if (!presented || !expected) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

function bearer(scope: 'admin' | 'ingest', expected: string | undefined) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!expected) return next(new HttpError(503, `${scope} API is disabled: set ${scope === 'admin' ? 'ADMIN_API_TOKEN' : 'INGEST_API_TOKEN'}`));
    // The scheme name is case-insensitive (RFC 9110 section 11.1).
    const m = /^Bearer (.+)$/i.exec(req.get('authorization') ?? '');
    if (!tokenMatches(m?.[1], expected)) return next(new HttpError(401, 'missing or invalid bearer token'));
    next();
  };
}

function parse<T extends z.ZodType>(schema: T, value: unknown, where: 'body' | 'query' | 'params' = 'body'): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : where;
  throw new HttpError(400, `${field}: ${issue.message}`, field);
}

const promptKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 letters, digits, "_", ".", ":" or "-"');
const actor = z.string().trim().min(1).max(200);
const limit = z.coerce.number().int().min(1).max(500).optional();

const CreateJob = z.object({
  type: z.enum(JOB_TYPES),
  params: z.record(z.string(), z.unknown()).default({}),
  idempotencyKey: z.string().min(1).max(200).optional(),
  createdBy: actor.optional(),
}).strict();

const Assign = z.object({ promptKey, subjectId: z.string().min(1).max(200) }).strict();

const Conversation = z.object({
  promptKey,
  versionId: z.uuid(),
  success: z.boolean(),
  subjectId: z.string().min(1).max(200).optional(),
  topic: z.string().max(200).optional(),
  rating: z.number().int().min(1).max(5).optional(),
  latencyMs: z.number().int().min(0).max(86_400_000).optional(),
  tokens: z.number().int().min(0).max(10_000_000).optional(),
  error: z.string().max(2000).optional(),
  externalId: z.string().min(1).max(200).optional(),
  inputExcerpt: z.string().max(2000).optional(),
  outputExcerpt: z.string().max(2000).optional(),
}).strict();

const SeedPrompt = z.object({
  promptKey,
  content: z.string().min(1).max(50_000),
  activate: z.boolean().default(false),
  rationale: z.string().max(2000).optional(),
}).strict();

function storeErrorStatus(err: StoreError): number {
  switch (err.kind) {
    case 'validation': return 400;
    case 'not_found': return 404;
    case 'conflict': return 409;
    case 'unavailable': return 503;
    default: return 500;
  }
}

/** Runs a handler and forwards rejections to the error middleware (Express 5 does this too; explicit for clarity). */
const route = (fn: (req: Request, res: Response) => Promise<unknown>) => (req: Request, res: Response, next: NextFunction) => {
  fn(req, res).catch(next);
};

export function createHttpApp(deps: HttpDeps): express.Express {
  const { store, client, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    res.on('finish', () => metrics.httpRequests.inc({ route: req.route?.path ?? 'unmatched', status: String(res.statusCode) }));
    next();
  });

  const link = (workflowId: string) => workflowUrl(deps.uiUrl, deps.namespace, workflowId);

  app.get('/health', route(async (_req, res) => {
    const base = { uptime: Math.round((Date.now() - deps.startedAt) / 1000), stats: { ...deps.stats }, timestamp: new Date().toISOString() };
    let reason = deps.workerProblem();
    if (!reason) {
      try {
        await Promise.race([store.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000))]);
      } catch {
        reason = 'store unreachable';
      }
    }
    if (reason) res.status(503).json({ status: 'unhealthy', reason, ...base });
    else res.json({ status: 'healthy', ...base });
  }));

  app.get('/metrics', route(async (_req, res) => {
    const own = await metrics.registry.metrics();
    const extra = deps.extraMetrics ? await deps.extraMetrics().catch(() => '') : '';
    res.type(metrics.registry.contentType).send(extra ? `${own}\n${extra}` : own);
  }));

  // One router, two tokens: each token opens only its own routes. Every /v1 request is
  // authenticated before it is routed, so an unknown /v1 path is 401 without a valid token (the
  // route map is not shown to anonymous callers) and 404 with one.
  const v1 = express.Router();
  const admin = v1;
  const ingest = v1;
  const INGEST_PATHS = new Set(['/assign', '/conversations']);
  // Routes match case-insensitively and with an optional trailing slash: classify paths the same
  // way, or the admin token would open /v1/Assign and /v1/assign/ (the ingest routes check again).
  const isIngestPath = (p: string) => INGEST_PATHS.has(p.toLowerCase().replace(/\/+$/, ''));
  const adminGuard = bearer('admin', deps.adminToken);
  const ingestGuard = bearer('ingest', deps.ingestToken);
  v1.use((req, res, next) => (isIngestPath(req.path) ? ingestGuard : adminGuard)(req, res, next));
  v1.use(express.json({ limit: '100kb', strict: true }));

  // --- admin: jobs ---------------------------------------------------------------------------
  admin.post('/jobs', route(async (req, res) => {
    const body = parse(CreateJob, req.body);
    const params = parseJobParams(body.type, body.params);
    if (!params.ok) throw new HttpError(400, params.error, 'params');
    // The job schema takes any object as policy; a typo would only fail at createExperiment,
    // after analysis and (LLM) generation ran. Refuse it here with the field that is wrong.
    const policy = (params.params as { policy?: unknown }).policy;
    if (policy !== undefined) {
      const checked = PolicyOverrides.safeParse(policy);
      if (!checked.success) {
        const issue = checked.error.issues[0]!;
        throw new HttpError(400, `${['params', 'policy', ...issue.path].join('.')}: ${issue.message}`, 'params');
      }
    }
    const job = await store.createJob({ type: body.type, params: params.params, createdBy: body.createdBy ?? 'api', idempotencyKey: body.idempotencyKey });
    const started = await startJobWorkflow(client, deps.taskQueue, job.id);
    res.status(201).json({ job, workflowId: started.workflowId, workflowUrl: link(started.workflowId) });
  }));
  admin.get('/jobs', route(async (req, res) => {
    const q = parse(z.object({ status: z.enum(['pending', 'running', 'completed', 'failed']).optional(), limit }), req.query, 'query');
    res.json({ jobs: await store.listJobs(q) });
  }));
  admin.get('/jobs/:id', route(async (req, res) => {
    const { id } = parse(z.object({ id: z.coerce.number().int().positive() }), req.params, 'params');
    const job = await store.getJob(id);
    res.json({ job, workflowUrl: job.workflow_id ? link(job.workflow_id) : null });
  }));

  // --- admin: experiments --------------------------------------------------------------------
  const experimentId = (req: Request) => parse(z.object({ id: z.uuid() }), req.params, 'params').id;

  admin.get('/experiments', route(async (req, res) => {
    const q = parse(z.object({ status: z.enum(['running', 'paused', 'concluded']).optional(), promptKey: promptKey.optional(), limit }), req.query, 'query');
    res.json({ experiments: await store.listExperiments(q) });
  }));
  admin.get('/experiments/:id', route(async (req, res) => {
    const id = experimentId(req);
    const experiment = await store.getExperiment(id);
    let live = null;
    if (experiment.status !== 'concluded') {
      try {
        live = await client.workflow.getHandle(monitorWorkflowId(id)).query(statusQuery);
      } catch (err) {
        deps.logger.warn({ experimentId: id, err: (err as Error).message }, 'monitor status query failed');
      }
    }
    const snapshots = await store.listSnapshots(id);
    res.json({ experiment, live, snapshots, workflowUrl: link(monitorWorkflowId(id)) });
  }));
  admin.post('/experiments/:id/approve', route(async (req, res) => {
    const id = experimentId(req);
    const body = parse(z.object({ approver: actor, note: z.string().max(2000).optional(), versionId: z.uuid().optional() }).strict(), req.body);
    await store.getExperiment(id);
    try {
      const promotion = await client.workflow.getHandle(monitorWorkflowId(id)).executeUpdate(approvePromotionUpdate, { args: [body] });
      res.json({ promotion });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) {
        throw new HttpError(409, `cannot approve: ${(err.cause as Error | undefined)?.message ?? err.message}`);
      }
      throw err;
    }
  }));
  const signalRoute = (name: 'stop' | 'pause' | 'resume') => route(async (req, res) => {
    const id = experimentId(req);
    const body = name === 'stop' ? parse(z.object({ reason: z.string().max(2000).optional(), actor: actor.optional() }).strict(), req.body) : undefined;
    const exp = await store.getExperiment(id);
    if (exp.status === 'concluded') throw new HttpError(409, `experiment is concluded (${exp.outcome})`);
    const handle = client.workflow.getHandle(monitorWorkflowId(id));
    try {
      if (name === 'stop') await handle.signal(stopSignal, body ?? {});
      else await handle.signal(name === 'pause' ? pauseSignal : resumeSignal);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new HttpError(409, 'the experiment has no running monitor (the reconcile schedule restarts it)');
      throw err;
    }
    res.status(202).json({ accepted: name, experimentId: id, workflowUrl: link(monitorWorkflowId(id)) });
  });
  admin.post('/experiments/:id/stop', signalRoute('stop'));
  admin.post('/experiments/:id/pause', signalRoute('pause'));
  admin.post('/experiments/:id/resume', signalRoute('resume'));

  // --- admin: prompts ------------------------------------------------------------------------
  admin.get('/prompts', route(async (_req, res) => {
    res.json({ prompts: await store.listPromptKeys() });
  }));
  admin.post('/prompts', route(async (req, res) => {
    const body = parse(SeedPrompt, req.body);
    const version = await store.createPromptVersion({ promptKey: body.promptKey, content: body.content, activate: body.activate, rationale: body.rationale, strategy: 'manual' });
    res.status(version.created ? 201 : 200).json({ version });
  }));
  admin.get('/prompts/:key', route(async (req, res) => {
    const { key } = parse(z.object({ key: promptKey }), req.params, 'params');
    const [versions, insights, promotions] = await Promise.all([store.listPromptVersions(key), store.listInsights(key, null), store.listPromotionEvents(key)]);
    if (versions.length === 0) throw new HttpError(404, `prompt key ${key} not found`);
    res.json({ promptKey: key, versions, insights, promotions });
  }));
  admin.post('/prompts/:key/rollback', route(async (req, res) => {
    const { key } = parse(z.object({ key: promptKey }), req.params, 'params');
    const body = parse(z.object({ actor, reason: z.string().trim().min(1).max(2000) }).strict(), req.body);
    res.json({ event: await store.rollbackPrompt(key, body.actor, body.reason) });
  }));
  admin.post('/policies/validate', route(async (req, res) => {
    res.json({ policy: parse(PolicyOverrides, req.body) });
  }));

  // --- ingest --------------------------------------------------------------------------------
  ingest.post('/assign', ingestGuard, route(async (req, res) => {
    const body = parse(Assign, req.body);
    res.json(await store.assignPrompt(body.promptKey, body.subjectId));
  }));
  ingest.post('/conversations', ingestGuard, route(async (req, res) => {
    const c = parse(Conversation, req.body);
    const row = await store.recordConversation({
      prompt_key: c.promptKey, version_id: c.versionId, success: c.success, subject_id: c.subjectId, topic: c.topic,
      rating: c.rating, latency_ms: c.latencyMs, tokens: c.tokens, error: c.error, external_id: c.externalId,
      input_excerpt: c.inputExcerpt, output_excerpt: c.outputExcerpt,
    });
    res.status(row.created ? 201 : 200).json({ id: row.id, created: row.created, experimentId: row.experiment_id, arm: row.arm });
  }));

  app.use('/v1', v1);
  for (const m of deps.mounts ?? []) app.use(m.path, m.router);

  app.use((_req, _res, next) => next(new HttpError(404, 'not found')));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (err instanceof HttpError) {
      res.status(err.status).json({ error: err.message, ...(err.field ? { field: err.field } : {}) });
    } else if (e?.type === 'entity.too.large') {
      res.status(413).json({ error: 'request body too large (limit 100kb)' });
    } else if (e?.type === 'entity.parse.failed' || e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
      res.status(400).json({ error: 'body: malformed JSON', field: 'body' });
    } else if (err instanceof StoreError) {
      const status = storeErrorStatus(err);
      if (status >= 500) deps.logger.error({ err: err.message, code: err.code }, 'store error');
      res.status(status).json({ error: status === 500 ? 'internal error' : err.message });
    } else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      // Other client errors raised by Express itself, e.g. a path parameter that is not valid
      // percent-encoding ("Failed to decode param"): the client's fault, not a 500.
      res.status(e.status).json({ error: e.status === 400 ? 'bad request: malformed URL or body' : 'request refused' });
    } else {
      deps.logger.error({ err: (err as Error)?.message, path: req.path }, 'request failed');
      res.status(500).json({ error: 'internal error' });
    }
  });
  return app;
}
