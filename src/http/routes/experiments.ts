import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { monitorWorkflowId, workflowUrl } from '../../domain/ids';
import { PolicyOverrides } from '../../domain/policy';
import { startMonitorWorkflow } from '../../temporal/start';
import { approvePromotionUpdate, pauseSignal, resumeSignal, statusQuery, stopSignal } from '../../workflows/definitions';
import type { HttpDeps } from '../deps';
import { HttpError } from '../errors';
import { actor, limit, note, parse, promptKey, UuidParam } from '../validation';

const ListExperiments = z.object({ status: z.enum(['running', 'paused', 'concluded']).optional(), promptKey: promptKey.optional(), limit });
const Approve = z.object({ approver: actor, note: note.optional(), versionId: z.uuid().optional() }).strict();
const Stop = z.object({ reason: note.optional(), actor: actor.optional() }).strict();
const Restart = z.object({ actor, reason: note.optional() }).strict();

type MonitorMessage = 'stop' | 'pause' | 'resume';

/** Admin: experiments with the monitor's live status; approval (an update), stop/pause/resume (signals). */
export function experimentsRouter(deps: HttpDeps): Router {
  const router = Router();
  const link = (workflowId: string) => workflowUrl(deps.uiUrl, deps.namespace, workflowId);
  const monitor = (id: string) => deps.client.workflow.getHandle(monitorWorkflowId(id));
  const experimentId = (req: Request) => parse(UuidParam, req.params, 'params').id;

  /** The monitor's status query; null when it cannot answer (logged, never fatal for a read). */
  async function liveStatus(id: string) {
    try {
      return await monitor(id).query(statusQuery);
    } catch (err) {
      deps.logger.warn({ experimentId: id, err: (err as Error).message }, 'monitor status query failed');
      return null;
    }
  }

  async function sendToMonitor(id: string, message: MonitorMessage, body: z.infer<typeof Stop> | undefined): Promise<void> {
    try {
      if (message === 'stop') await monitor(id).signal(stopSignal, body ?? {});
      else await monitor(id).signal(message === 'pause' ? pauseSignal : resumeSignal);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new HttpError(409, 'the experiment has no running monitor (the reconcile schedule restarts it)');
      throw err;
    }
  }

  router.get('/experiments', async (req, res) => {
    res.json({ experiments: await deps.store.listExperiments(parse(ListExperiments, req.query, 'query')) });
  });

  router.get('/experiments/:id', async (req, res) => {
    const id = experimentId(req);
    const experiment = await deps.store.getExperiment(id);
    const live = experiment.status === 'concluded' ? null : await liveStatus(id);
    const snapshots = await deps.store.listSnapshots(id);
    res.json({ experiment, live, snapshots, workflowUrl: link(monitorWorkflowId(id)) });
  });

  router.post('/experiments/:id/approve', async (req, res) => {
    const id = experimentId(req);
    const body = parse(Approve, req.body);
    await deps.store.getExperiment(id);
    try {
      res.json({ promotion: await monitor(id).executeUpdate(approvePromotionUpdate, { args: [body] }) });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) {
        throw new HttpError(409, `cannot approve: ${(err.cause as Error | undefined)?.message ?? err.message}`);
      }
      throw err;
    }
  });

  for (const message of ['stop', 'pause', 'resume'] as const) {
    router.post(`/experiments/:id/${message}`, async (req, res) => {
      const id = experimentId(req);
      const body = message === 'stop' ? parse(Stop, req.body) : undefined;
      const exp = await deps.store.getExperiment(id);
      if (exp.status === 'concluded') throw new HttpError(409, `experiment is concluded (${exp.outcome})`);
      await sendToMonitor(id, message, body);
      res.status(202).json({ accepted: message, experimentId: id, workflowUrl: link(monitorWorkflowId(id)) });
    });
  }

  /**
   * Restart as a new experiment (after a sample ratio mismatch, once the assignment is fixed):
   * SQL concludes the old one and creates its twin in one transaction; then the old monitor is
   * told to stop (its experiment is already concluded, so its stop changes nothing) and the new
   * one is started. A crash after the SQL leaves a live experiment without a monitor, which the
   * reconcile schedule starts; a retry of this call returns the same twin.
   */
  router.post('/experiments/:id/restart', async (req, res) => {
    const id = experimentId(req);
    const body = parse(Restart, req.body);
    const reason = body.reason ?? 'restarted by an operator';
    const twin = await deps.store.restartExperiment({ experimentId: id, actor: body.actor, reason });
    try {
      await monitor(id).signal(stopSignal, { actor: body.actor, reason: `restarted as experiment ${twin.id}` });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    const started = await startMonitorWorkflow(deps.client, deps.taskQueue, twin.id);
    await deps.store.setExperimentWorkflow(twin.id, started.workflowId);
    deps.logger.info({ experimentId: twin.id, restartedFrom: id, actor: body.actor }, 'experiment restarted as a new experiment');
    res.status(twin.created ? 201 : 200).json({ experiment: twin, restartedFrom: id, workflowUrl: link(started.workflowId) });
  });

  router.post('/policies/validate', (req, res) => {
    res.json({ policy: parse(PolicyOverrides, req.body) });
  });

  return router;
}
