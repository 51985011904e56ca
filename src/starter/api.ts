/**
 * Typed client for the worker's admin HTTP API (src/worker/http.ts).
 *
 * The CLI never opens the database itself: with the embedded PGlite store only the worker process
 * may open it, so everything that reads or writes rows goes through the worker.
 */
import type { PromotionResult } from '../activities';
import type {
  Created,
  ExperimentWithArms,
  JobRow,
  JobStatus,
  JobType,
  PromotionEventRow,
  PromptVersionRow,
  RolloutCheckRow,
  RolloutRow,
  RolloutStatus,
  SnapshotRow,
} from '../store/rows';
import type { VariantReviewRow } from '../store/rows';
import type { MonitorStatus, ReviewResult, RolloutWatchStatus } from '../workflows/definitions';

/** The API answered with an error status; `message` is the API's own `error` field. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** No HTTP answer at all: the worker is down, the URL is wrong, or it took too long. */
export class WorkerUnreachableError extends Error {
  override readonly name = 'WorkerUnreachableError';
  constructor(
    readonly url: string,
    readonly detail: string,
  ) {
    super(`cannot reach the worker at ${url}: is \`npm start\` running? (${detail})`);
  }
}

export interface CreatedJob {
  job: JobRow;
  workflowId: string;
  workflowUrl: string;
}
export interface JobDetail {
  job: JobRow;
  workflowUrl: string | null;
}
export interface ExperimentDetail {
  experiment: ExperimentWithArms;
  /** The monitor's `status` query; null when the experiment is concluded or the query failed. */
  live: MonitorStatus | null;
  snapshots: SnapshotRow[];
  workflowUrl: string;
}
export interface SignalAccepted {
  accepted: 'stop' | 'pause' | 'resume';
  experimentId: string;
  workflowUrl: string;
}
export interface Restarted {
  experiment: Created<ExperimentWithArms>;
  restartedFrom: string;
  workflowUrl: string;
}
export interface PromptDetail {
  promptKey: string;
  versions: PromptVersionRow[];
  promotions: PromotionEventRow[];
}

export interface RolloutDetail {
  rollout: RolloutRow;
  /** The watch's `rolloutStatus` query; null when the rollout has ended or the query failed. */
  live: RolloutWatchStatus | null;
  /** Every watch check, oldest first: the evidence over time. */
  checks: RolloutCheckRow[];
  workflowUrl: string;
}
export type RolloutAction = 'advance' | 'hold' | 'resume' | 'finish' | 'rollback';
export interface RolloutSteered {
  rollout: RolloutRow & { promotion_event?: PromotionEventRow };
  /** False when the rollout already stood so (a repeated click): nothing was written. */
  changed: boolean;
  workflowUrl: string;
}

export interface ApiOptions {
  baseUrl: string;
  token: string;
  /** Per request; approvals wait for the monitor to promote, so this is generous. */
  timeoutMs?: number;
}

export type AdminApi = ReturnType<typeof createApi>;

/** Turns a fetch rejection into a message that names the worker URL and never the token. */
function unreachable(url: string, err: unknown): WorkerUnreachableError {
  const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  const detail = e.name === 'TimeoutError' ? 'request timed out' : (e.cause?.code ?? e.cause?.message ?? e.message ?? 'network error');
  return new WorkerUnreachableError(url, detail);
}

async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: unknown; field?: unknown };
    if (typeof body.error === 'string')
      return new ApiError(res.status, body.error, typeof body.field === 'string' ? body.field : undefined);
  } catch {
    // not JSON: a proxy or something else answered
  }
  return new ApiError(res.status, res.statusText || 'request failed');
}

export function createApi(opts: ApiOptions) {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 120_000;

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${opts.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw unreachable(base, err);
    }
    if (!res.ok) throw await errorFrom(res);
    return (await res.json()) as T;
  }

  const query = (q: Record<string, string | number | undefined>) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
    const s = params.toString();
    return s ? `?${s}` : '';
  };
  const exp = (id: string) => `/v1/experiments/${encodeURIComponent(id)}`;

  return {
    baseUrl: base,
    createJob: (input: { type: JobType; params: Record<string, unknown>; idempotencyKey?: string; createdBy?: string }) =>
      call<CreatedJob>('POST', '/v1/jobs', input),
    listJobs: (q: { status?: JobStatus; limit?: number } = {}) => call<{ jobs: JobRow[] }>('GET', `/v1/jobs${query(q)}`),
    getJob: (id: number) => call<JobDetail>('GET', `/v1/jobs/${id}`),
    listExperiments: (q: { status?: string; promptKey?: string; limit?: number } = {}) =>
      call<{ experiments: ExperimentWithArms[] }>('GET', `/v1/experiments${query(q)}`),
    getExperiment: (id: string) => call<ExperimentDetail>('GET', exp(id)),
    approve: (id: string, body: { approver: string; note?: string }) =>
      call<{ promotion: PromotionResult }>('POST', `${exp(id)}/approve`, body),
    stop: (id: string, body: { reason?: string; actor?: string }) => call<SignalAccepted>('POST', `${exp(id)}/stop`, body),
    pause: (id: string) => call<SignalAccepted>('POST', `${exp(id)}/pause`),
    resume: (id: string) => call<SignalAccepted>('POST', `${exp(id)}/resume`),
    restart: (id: string, body: { actor: string; reason?: string }) => call<Restarted>('POST', `${exp(id)}/restart`, body),
    seedPrompt: (body: { promptKey: string; content: string; activate: boolean; rationale?: string }) =>
      call<{ version: Created<PromptVersionRow> }>('POST', '/v1/prompts', body),
    getPrompt: (key: string) => call<PromptDetail>('GET', `/v1/prompts/${encodeURIComponent(key)}`),
    rollback: (key: string, body: { actor: string; reason: string }) =>
      call<{ event: PromotionEventRow }>('POST', `/v1/prompts/${encodeURIComponent(key)}/rollback`, body),
    listReviews: (q: { status?: string; promptKey?: string; limit?: number } = {}) =>
      call<{ reviews: VariantReviewRow[] }>('GET', `/v1/reviews${query(q)}`),
    decideReview: (versionId: string, action: 'accept' | 'reject', body: { reviewer: string; note?: string }) =>
      call<{ result: ReviewResult; review: VariantReviewRow | null }>(
        'POST',
        `/v1/reviews/${encodeURIComponent(versionId)}/${action}`,
        body,
      ),
    listRollouts: (q: { status?: RolloutStatus; promptKey?: string; limit?: number } = {}) =>
      call<{ rollouts: RolloutRow[] }>('GET', `/v1/rollouts${query(q)}`),
    getRollout: (id: string) => call<RolloutDetail>('GET', `/v1/rollouts/${encodeURIComponent(id)}`),
    /** `fromStep` (1-based, advance only) pins the advance to the step the operator saw. */
    steerRollout: (id: string, action: RolloutAction, body: { actor: string; reason?: string; fromStep?: number }) =>
      call<RolloutSteered>('POST', `/v1/rollouts/${encodeURIComponent(id)}/${action}`, body),
    /** Checks policy overrides before a job is created, so a typo fails now and not hours later. */
    validatePolicy: (policy: Record<string, unknown>) => call<{ policy: Record<string, unknown> }>('POST', '/v1/policies/validate', policy),
  };
}
