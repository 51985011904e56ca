/**
 * `--wait`: follows a job through the admin API until it ends, printing a line whenever something
 * changes (job status, the experiment's live monitor status). Only the API is used, so following
 * works from any machine that can reach the worker, without Temporal credentials.
 */
import { monitorWorkflowId } from '../domain/ids';
import type { Decision } from '../domain/types';
import type { JobRow } from '../store/rows';
import { WorkerUnreachableError, type AdminApi, type ExperimentDetail } from './api';
import { jobResultSummary, liveLine, variantEvidence, versionLabels } from './format';

export interface FollowOptions {
  /** Where progress lines go: stdout for people, stderr under --json so stdout stays one document. */
  print: (line: string) => void;
  intervalMs?: number;
  /** How long a restarting worker may stay unreachable before following gives up. */
  unreachableGraceMs?: number;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

export interface FollowResult {
  job: JobRow;
  /** The experiment the job ran, when it ran one (final state). */
  experiment: ExperimentDetail | null;
}

const isDone = (job: JobRow) => job.status === 'completed' || job.status === 'failed';

/**
 * The experiment a job runs. A cycle creates it with the job's workflow id, so it is found by
 * prompt key and workflow id while the job is still running (the result only exists at the end).
 */
export async function findJobExperiment(api: AdminApi, job: JobRow): Promise<string | undefined> {
  const params = (job.params ?? {}) as { promptKey?: string; experimentId?: string };
  const result = (job.result ?? {}) as { experimentId?: string };
  if (typeof result.experimentId === 'string') return result.experimentId;
  if (job.type === 'experiment_monitoring') return params.experimentId;
  if ((job.type !== 'full_cycle' && job.type !== 'experiment_creation') || !params.promptKey) return undefined;
  const { experiments } = await api.listExperiments({ promptKey: params.promptKey, limit: 20 });
  const own = experiments.find((e) => e.workflow_id !== null && e.workflow_id === job.workflow_id);
  // The reconcile schedule re-owns an experiment whose monitor it restarted (workflow id becomes
  // the monitor's): then take the one of this key created after the job, never an older one.
  const reowned = experiments.find(
    (e) => e.workflow_id === monitorWorkflowId(e.id) && Date.parse(e.created_at) >= Date.parse(job.created_at),
  );
  return (own ?? reowned)?.id;
}

export async function followJob(api: AdminApi, jobId: number, opts: FollowOptions): Promise<FollowResult> {
  const now = opts.now ?? (() => new Date());
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const stamp = () => `[${now().toISOString().slice(11, 19)}]`;
  const print = (line: string) => opts.print(`${stamp()} ${line}`);
  const grace = opts.unreachableGraceMs ?? 60_000;
  let downSince: number | undefined;

  /** Retries while the worker is unreachable (a restart), up to the grace period. */
  async function tolerant<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      const v = await fn();
      if (downSince !== undefined) print('worker reachable again');
      downSince = undefined;
      return v;
    } catch (err) {
      if (!(err instanceof WorkerUnreachableError)) throw err;
      if (downSince === undefined) {
        downSince = now().getTime();
        print(`worker unreachable, retrying for up to ${Math.round(grace / 1000)}s`);
      } else if (now().getTime() - downSince > grace) {
        throw err;
      }
      return undefined;
    }
  }

  let lastStatus: string | undefined;
  let lastLive: string | undefined;
  let experimentId: string | undefined;
  for (;;) {
    const job = (await tolerant(() => api.getJob(jobId)))?.job;
    if (job) {
      if (isDone(job)) return finish(job);
      if (job.status !== lastStatus) print(`job ${job.id} ${job.status}`);
      lastStatus = job.status;
      experimentId ??= await tolerant(() => findJobExperiment(api, job));
      if (experimentId) {
        const detail = await tolerant(() => api.getExperiment(experimentId!));
        if (detail && lastLive === undefined) {
          const arms = [...detail.experiment.arms]
            .sort((a, b) => a.arm - b.arm)
            .map((a) => `v${a.version}`)
            .join(' vs ');
          print(`experiment ${experimentId} (${arms}) web ui ${detail.workflowUrl}`);
          lastLive = '';
        }
        const line = detail?.live ? liveLine(detail.live, detail.experiment) : undefined;
        if (line && line !== lastLive) print(line);
        if (line) lastLive = line;
      }
    }
    await sleep(opts.intervalMs ?? 1000);
  }

  async function finish(job: JobRow): Promise<FollowResult> {
    const id = experimentId ?? (await findJobExperiment(api, job));
    const experiment = id ? await api.getExperiment(id) : null;
    const label = versionLabels(experiment?.experiment);
    const e = experiment?.experiment;
    const decision = e?.decision as Partial<Decision> | null | undefined;
    if (e && e.status === 'concluded' && decision?.reason) {
      print(`experiment ${e.outcome}: ${decision.reason}`);
      for (const v of decision.variants ?? []) print(`  ${variantEvidence(v, e.metric, label)}`);
    }
    const summary = jobResultSummary(job, label);
    print(job.status === 'failed' ? `job ${job.id} ${summary}` : `job ${job.id} completed: ${summary}`);
    return { job, experiment };
  }
}
