import { WorkflowNotFoundError } from '@temporalio/client';
import { monitorWorkflowId } from '../domain/ids';
import { startMonitorWorkflow } from '../temporal/start';
import type { ActivityDeps } from './deps';
import { finalOnBadInput } from './errors';

export type MonitorEnsured = 'running' | 'started' | 'restarted' | 'concluded';

export function reconcileActivities(deps: ActivityDeps) {
  const { store, temporal } = deps;

  /** The monitor's state in Temporal: running, closed (any terminal status) or never started. */
  async function monitorState(workflowId: string): Promise<'running' | 'closed' | 'missing'> {
    try {
      const d = await temporal.client.workflow.getHandle(workflowId).describe();
      return d.status.name === 'RUNNING' ? 'running' : 'closed';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'missing';
      throw err;
    }
  }

  return {
    async listLiveExperiments(input: { olderThanSeconds: number }): Promise<string[]> {
      const cutoff = deps.clock().getTime() - input.olderThanSeconds * 1000;
      const [running, paused] = await Promise.all([
        store.listExperiments({ status: 'running', limit: 500 }),
        store.listExperiments({ status: 'paused', limit: 500 }),
      ]);
      return [...running, ...paused].filter((e) => Date.parse(e.created_at) < cutoff).map((e) => e.id);
    },

    /**
     * Every live experiment must have a live monitor. Starts a missing one; a monitor that
     * closed while the database still says "live" is restarted and the experiment flagged stale.
     */
    async ensureMonitor(input: { experimentId: string }): Promise<MonitorEnsured> {
      const exp = await finalOnBadInput(() => store.getExperiment(input.experimentId));
      if (exp.status === 'concluded') return 'concluded';
      const workflowId = monitorWorkflowId(exp.id);
      const state = await monitorState(workflowId);
      if (state === 'running') return 'running';
      const res = await startMonitorWorkflow(temporal.client, temporal.taskQueue, exp.id);
      if (!res.started) return 'running';
      const closed = state === 'closed';
      await store.setExperimentWorkflow(exp.id, workflowId, closed);
      deps.logger.warn({ experimentId: exp.id, closed }, 'experiment monitor (re)started by reconcile');
      return closed ? 'restarted' : 'started';
    },
  };
}
