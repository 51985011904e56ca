import { Router } from 'express';
import { z } from 'zod';
import { workflowUrl } from '../../domain/ids';
import { JOB_TYPES, parseJobParams } from '../../domain/jobs';
import { startJobWorkflow } from '../../temporal/start';
import type { HttpDeps } from '../deps';
import { HttpError } from '../errors';
import { actor, JobIdParam, limit, parse, singleLine } from '../validation';

const CreateJob = z
  .object({
    type: z.enum(JOB_TYPES),
    params: z.record(z.string(), z.unknown()).default({}),
    idempotencyKey: singleLine(200).min(1).optional(),
    createdBy: actor.optional(),
  })
  .strict();

const ListJobs = z.object({ status: z.enum(['pending', 'running', 'completed', 'failed']).optional(), limit });

/** Admin: submit a job (its workflow `job-<id>` starts at once), list jobs, read one. */
export function jobsRouter(deps: HttpDeps): Router {
  const router = Router();
  const link = (workflowId: string) => workflowUrl(deps.uiUrl, deps.namespace, workflowId);

  router.post('/jobs', async (req, res) => {
    const body = parse(CreateJob, req.body);
    // Parameters (the policy included) are checked before anything is written: a typo would
    // otherwise fail only at createExperiment, after analysis and (LLM) generation ran.
    const params = parseJobParams(body.type, body.params);
    if (!params.ok) throw new HttpError(400, params.error, 'params');
    const job = await deps.store.createJob({
      type: body.type,
      params: params.params,
      createdBy: body.createdBy ?? 'api',
      idempotencyKey: body.idempotencyKey,
    });
    const started = await startJobWorkflow(deps.client, deps.taskQueue, job.id);
    res.status(201).json({ job, workflowId: started.workflowId, workflowUrl: link(started.workflowId) });
  });

  router.get('/jobs', async (req, res) => {
    res.json({ jobs: await deps.store.listJobs(parse(ListJobs, req.query, 'query')) });
  });

  router.get('/jobs/:id', async (req, res) => {
    const { id } = parse(JobIdParam, req.params, 'params');
    const job = await deps.store.getJob(id);
    res.json({ job, workflowUrl: job.workflow_id ? link(job.workflow_id) : null });
  });

  return router;
}
