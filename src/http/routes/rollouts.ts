import { WorkflowNotFoundError } from '@temporalio/client';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { rolloutWorkflowId, workflowUrl } from '../../domain/ids';
import type { RolloutRow } from '../../store';
import { rolloutChangedSignal, rolloutStatusQuery } from '../../workflows/definitions';
import type { HttpDeps } from '../deps';
import { actor, limit, note, parse, promptKey, UuidParam } from '../validation';

const ListRollouts = z.object({ status: z.enum(['live', 'completed', 'rolled_back']).optional(), promptKey: promptKey.optional(), limit });
const Steer = z.object({ actor, reason: note.optional() }).strict();
/** `fromStep` (1-based, as shown) pins an advance to the step the operator saw. */
const Advance = Steer.extend({ fromStep: z.number().int().min(1).max(10).optional() }).strict();

type SteerBody = z.infer<typeof Steer>;

/**
 * Admin: guarded rollouts after promotions. Reads show the rollout (step, split, holdback,
 * events), its watch's live status and every check (the evidence over time, for the plot).
 * Steering writes go straight to SQL, each an audited rollout event, and then wake the watch so
 * it acts on the new state at once; without a running watch the write still holds and the
 * reconcile schedule restarts the watch.
 */
export function rolloutsRouter(deps: HttpDeps): Router {
  const router = Router();
  const rolloutId = (req: Request) => parse(UuidParam, req.params, 'params').id;
  const watch = (id: string) => deps.client.workflow.getHandle(rolloutWorkflowId(id));
  const link = (id: string) => workflowUrl(deps.uiUrl, deps.namespace, rolloutWorkflowId(id));

  async function liveStatus(id: string) {
    try {
      return await watch(id).query(rolloutStatusQuery);
    } catch (err) {
      deps.logger.warn({ rolloutId: id, err: (err as Error).message }, 'rollout watch status query failed');
      return null;
    }
  }

  async function wake(id: string): Promise<void> {
    try {
      await watch(id).signal(rolloutChangedSignal);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }

  router.get('/rollouts', async (req, res) => {
    res.json({ rollouts: await deps.store.listRollouts(parse(ListRollouts, req.query, 'query')) });
  });

  router.get('/rollouts/:id', async (req, res) => {
    const id = rolloutId(req);
    const rollout = await deps.store.getRollout(id);
    const [live, checks] = await Promise.all([rollout.status === 'live' ? liveStatus(id) : null, deps.store.listRolloutChecks(id)]);
    res.json({ rollout, live, checks, workflowUrl: link(id) });
  });

  const steer = (
    action: string,
    run: (id: string, body: SteerBody & { fromStep?: number }) => Promise<RolloutRow & { created: boolean }>,
  ) => {
    router.post(`/rollouts/:id/${action}`, async (req, res) => {
      const id = rolloutId(req);
      const body = parse(action === 'advance' ? Advance : Steer, req.body);
      const rollout = await run(id, body);
      if (rollout.created) {
        deps.logger.info({ rolloutId: id, action, actor: body.actor }, 'rollout steered by an operator');
        await wake(id);
      }
      res.json({ rollout, changed: rollout.created, workflowUrl: link(id) });
    });
  };

  const reason = (body: SteerBody, fallback: string) => body.reason ?? `${fallback} by ${body.actor}`;
  steer('advance', async (id, body) => {
    const fromStep = body.fromStep !== undefined ? body.fromStep - 1 : (await deps.store.getRollout(id)).step;
    return deps.store.advanceRollout({ rolloutId: id, fromStep, mode: 'manual', actor: body.actor, reason: reason(body, 'advanced') });
  });
  steer('hold', (id, body) => deps.store.setRolloutHeld({ rolloutId: id, held: true, actor: body.actor, reason: reason(body, 'held') }));
  steer('resume', (id, body) =>
    deps.store.setRolloutHeld({ rolloutId: id, held: false, actor: body.actor, reason: reason(body, 'resumed') }),
  );
  steer('finish', (id, body) =>
    deps.store.completeRollout({ rolloutId: id, mode: 'manual', actor: body.actor, reason: reason(body, 'finished early') }),
  );
  steer('rollback', (id, body) =>
    deps.store.rollbackRollout({ rolloutId: id, mode: 'manual', actor: body.actor, reason: reason(body, 'rolled back') }),
  );

  return router;
}
