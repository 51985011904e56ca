import type { Client } from '@temporalio/client';
import type { Store } from '../../../src/store';
import { driveTraffic, seedPromptWithWeakSegment } from '../../helpers/traffic';
import { sql } from './database';
import { RepeatingTask, until } from './proc';
import type { WorkerProcess } from './worker';

/**
 * Full optimization cycles started as `full_cycle` jobs through the worker's HTTP API, with a
 * traffic pump playing the host app: once a cycle's experiment runs, subjects are assigned
 * through assign_prompt and their outcomes logged (variants clearly better than control, so
 * every cycle ends in a promotion).
 */

/** As in test/workflows/cycle.test.ts: a check every second, decisions after 100 per arm. */
import { FAST_POLICY } from '../../helpers/traffic';

export { FAST_POLICY };
export const SEEDED_CONVERSATIONS = 400;
const CONTROL_RATE = 0.45;
const VARIANT_RATE = 0.9;

export interface Cycle {
  key: string;
  idempotencyKey: string;
  controlId: string;
  jobId?: number;
  postAttempts: number;
  postedAt?: number;
  experimentId?: string;
  /** Conversations the pump logged for this key (created rows). */
  fed: number;
  batches: number;
  status?: string;
  doneAt?: number;
  /** True when the pump should hold back (e.g. to keep a monitor undecided for a while). */
  hold?: boolean;
  /** Most conversations to feed before the pump stops for this key. */
  cap: number;
}

export interface CycleSetOptions {
  variantCount: number;
  policy: Record<string, unknown>;
  batch: number;
  cap: number;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export class CycleSet {
  readonly cycles: Cycle[] = [];
  /** The traffic: `pump.start(ms)`, `pump.stop()`, `pump.errors` (rounds that failed: the database away, a worker restarting). */
  readonly pump = new RepeatingTask(() => this.pumpOnce());

  constructor(
    readonly store: Store,
    readonly opts: CycleSetOptions = { variantCount: 2, policy: FAST_POLICY, batch: 40, cap: 1500 },
  ) {}

  async add(key: string): Promise<Cycle> {
    const controlId = await seedPromptWithWeakSegment(this.store, key, SEEDED_CONVERSATIONS, hash(key));
    const c: Cycle = { key, idempotencyKey: `reliability-${key}`, controlId, postAttempts: 0, fed: 0, batches: 0, cap: this.opts.cap };
    this.cycles.push(c);
    return c;
  }

  /** POST /v1/jobs (idempotent by key: a retry after a lost answer gets the same job). */
  async post(c: Cycle, worker: WorkerProcess): Promise<void> {
    c.postAttempts++;
    const { jobId } = await worker.postJob(
      'full_cycle',
      { promptKey: c.key, variantCount: this.opts.variantCount, policy: this.opts.policy },
      c.idempotencyKey,
    );
    if (c.jobId !== undefined && c.jobId !== jobId) throw new Error(`idempotent POST /v1/jobs returned job ${jobId}, first ${c.jobId}`);
    c.jobId = jobId;
    c.postedAt ??= Date.now();
  }

  get posted(): Cycle[] {
    return this.cycles.filter((c) => c.jobId !== undefined);
  }

  get inFlight(): Cycle[] {
    return this.cycles.filter((c) => c.jobId !== undefined && c.doneAt === undefined);
  }

  get allDone(): boolean {
    return this.cycles.length > 0 && this.cycles.every((c) => c.doneAt !== undefined);
  }

  /** Reads job rows: terminal ones are done. */
  async refresh(): Promise<void> {
    for (const c of this.cycles) {
      if (c.jobId === undefined || c.doneAt !== undefined) continue;
      const job = await this.store.getJob(c.jobId);
      c.status = job.status;
      if (job.status === 'completed' || job.status === 'failed') c.doneAt = Date.now();
    }
  }

  /** One round of traffic for every cycle whose experiment is running. */
  async pumpOnce(): Promise<void> {
    for (const c of this.cycles) {
      if (c.jobId === undefined || c.hold || c.fed >= c.cap) continue;
      const exps = await this.store.listExperiments({ promptKey: c.key });
      const running = exps.find((e) => e.status === 'running');
      if (!running) {
        if (exps.length > 0) c.experimentId ??= exps[0]!.id;
        continue;
      }
      c.experimentId = running.id;
      const created = await driveTraffic(this.store, c.key, (v) => (v === c.controlId ? CONTROL_RATE : VARIANT_RATE), {
        subjects: this.opts.batch,
        offset: c.batches * this.opts.batch,
        seed: hash(c.key) + c.batches,
      });
      c.batches++;
      c.fed += created;
    }
  }
}

/** What a kill interrupted, per in-flight cycle, read from Temporal right after the kill. */
export interface Landing {
  key: string;
  step: string;
  /** The activity was picked up by the killed worker (running, or done but not reported). */
  midActivity: boolean;
  /** A pending activity still held by a worker killed earlier (its timeout has not run out yet). */
  stale?: boolean;
  attempt?: number;
}

const STEP_OF_ACTIVITY: Record<string, string> = {
  startJob: 'job start',
  analyzePatterns: 'analysis',
  generateVariants: 'generation',
  createExperiment: 'experiment creation',
  loadExperiment: 'monitor start',
  evaluateExperiment: 'monitoring (evaluate)',
  promoteVariant: 'promotion',
  concludeExperiment: 'conclusion',
  setExperimentPaused: 'monitoring (pause)',
  completeJob: 'job completion',
  failJob: 'job failure',
};
const PENDING_ACTIVITY_STATE_STARTED = 2;

interface RawDescription {
  pendingActivities?: Array<{
    activityType?: { name?: string | null } | null;
    state?: number | null;
    attempt?: number | null;
    lastWorkerIdentity?: string | null;
  }> | null;
  pendingChildren?: Array<{ workflowId?: string | null }> | null;
  pendingWorkflowTask?: { state?: number | null } | null;
}

// temporal.api.enums.v1.PendingWorkflowTaskState: 1 scheduled (queued, maybe on a dead worker's sticky queue), 2 started.
function workflowTaskStep(prefix: string, raw: RawDescription): string | undefined {
  const wft = raw.pendingWorkflowTask;
  if (!wft) return undefined;
  return `${prefix} (workflow task ${wft.state === 2 ? 'running' : 'queued'})`;
}

async function describeStep(client: Client, workflowId: string): Promise<{ status: string; raw: RawDescription }> {
  const d = await client.workflow.getHandle(workflowId).describe();
  return { status: d.status.name, raw: d.raw as unknown as RawDescription };
}

function activityStep(
  raw: RawDescription,
  killedPid: number,
): { step: string; midActivity: boolean; stale: boolean; attempt?: number } | undefined {
  const a = raw.pendingActivities?.[0];
  if (!a) return undefined;
  const name = a.activityType?.name ?? '?';
  const started = a.state === PENDING_ACTIVITY_STATE_STARTED;
  // Worker identity is "<pid>@<host>": started by an earlier incarnation = still waiting for its timeout.
  const byKilled = started && (a.lastWorkerIdentity ?? '').startsWith(`${killedPid}@`);
  return { step: STEP_OF_ACTIVITY[name] ?? name, midActivity: byKilled, stale: started && !byKilled, attempt: a.attempt ?? undefined };
}

/**
 * Classifies where each in-flight cycle stood when worker `killedPid` died (describe of its job
 * workflow and monitor child, right after the kill). Cycles whose job already completed are skipped.
 */
export async function inspectLandings(client: Client, cycles: Cycle[], killedPid: number): Promise<Landing[]> {
  const out: Landing[] = [];
  for (const c of cycles) {
    if (c.jobId === undefined || c.doneAt !== undefined) continue;
    try {
      const job = await describeStep(client, `job-${c.jobId}`);
      if (job.status === 'COMPLETED') continue;
      if (job.status !== 'RUNNING') {
        out.push({ key: c.key, step: `job ${job.status.toLowerCase()}`, midActivity: false });
        continue;
      }
      const a = activityStep(job.raw, killedPid);
      if (a) {
        out.push({ key: c.key, ...a });
        continue;
      }
      const child = job.raw.pendingChildren?.[0]?.workflowId;
      if (child) {
        const mon = await describeStep(client, child).catch(() => undefined);
        if (!mon) {
          out.push({ key: c.key, step: 'monitor start', midActivity: false });
        } else if (mon.status !== 'RUNNING') {
          out.push({ key: c.key, step: 'monitor finished, cycle not yet', midActivity: false });
        } else {
          const ma = activityStep(mon.raw, killedPid);
          if (ma) out.push({ key: c.key, ...ma });
          else out.push({ key: c.key, step: workflowTaskStep('monitoring', mon.raw) ?? 'monitoring (timer)', midActivity: false });
        }
        continue;
      }
      out.push({ key: c.key, step: workflowTaskStep('cycle', job.raw) ?? 'cycle (idle)', midActivity: false });
    } catch (err) {
      const msg = (err as Error).message;
      out.push({
        key: c.key,
        step: /not found/i.test(msg) ? 'job row only (workflow not started)' : `unknown (${msg.slice(0, 60)})`,
        midActivity: false,
      });
    }
  }
  return out;
}

/**
 * Pumps traffic until `c` is monitoring with `fed` subjects served and at least two checks
 * recorded: the point at which the fault scenarios strike.
 */
export async function untilMonitoring(set: CycleSet, c: Cycle, dbUrl: string, fed = 120): Promise<void> {
  c.cap = fed;
  await until(
    async () => {
      await set.pumpOnce();
      if (!c.experimentId) return false;
      const [row] = await sql<{ n: string }>(dbUrl, 'select count(*) as n from public.ai_experiment_snapshots where experiment_id = $1', [
        c.experimentId,
      ]);
      return Number(row!.n) >= 2 && c.fed >= fed;
    },
    { timeoutMs: 90_000, intervalMs: 500, what: 'first cycle monitoring' },
  );
}
