/**
 * What each CLI command does: call the admin API (or Temporal), then print either compact lines
 * for people or one JSON document for machines (--json). The commander wiring lives in cli.ts.
 */
import { readFileSync } from 'node:fs';
import type { ClientConfig } from '../config/client';
import type { JobStatus, JobType } from '../store/rows';
import type { AdminApi, CreatedJob } from './api';
import { followJob } from './follow';
import { reviewParams, type ReviewCycleOptions } from './reviews';
import {
  createdJobLines,
  experimentDetailLines,
  experimentsTable,
  jobDetailLines,
  jobsTable,
  schedulesTable,
  versionLabels,
} from './format';

/** A mistake in how the CLI was called or configured: exit code 2, like commander's own. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The job ended in `failed`: exit code 1, the error already printed by the follow loop. */
export class JobFailedError extends Error {
  override readonly name = 'JobFailedError';
}

export interface Context {
  json: boolean;
  out: (text: string) => void;
  /** Progress and notes: stderr under --json so stdout stays one parseable document. */
  note: (text: string) => void;
  api: () => AdminApi;
  /** Where the worker and Temporal are; read when a command first needs them (--help never fails on them). */
  settings: () => ClientConfig;
  now: () => Date;
  pollMs: number;
}

const printJson = (ctx: Context, value: unknown) => ctx.out(JSON.stringify(value, null, 2));

/** Reads `--params`/`--policy`: inline JSON, or `@path` to a JSON file. Must be an object. */
export function readJsonObject(value: string, what: string): Record<string, unknown> {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      throw new UsageError(`${what}: cannot read ${value.slice(1)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what}: not valid JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`${what}: must be a JSON object`);
  return parsed as Record<string, unknown>;
}

export interface SubmitOptions {
  wait?: boolean;
  idempotencyKey?: string;
  createdBy?: string;
}

/** Creates a job (the API starts its workflow at once) and optionally follows it to the end. */
export async function submitJob(ctx: Context, type: JobType, params: Record<string, unknown>, opts: SubmitOptions): Promise<void> {
  const api = ctx.api();
  const created = await api.createJob({ type, params, idempotencyKey: opts.idempotencyKey, createdBy: opts.createdBy });
  if (!opts.wait) {
    if (ctx.json) printJson(ctx, created);
    else ctx.out(createdJobLines(created).join('\n'));
    return;
  }
  (ctx.json ? ctx.note : ctx.out)(createdJobLines(created).join('\n'));
  await waitForJob(ctx, created.job.id, created);
}

async function waitForJob(ctx: Context, jobId: number, created?: CreatedJob): Promise<void> {
  const api = ctx.api();
  const res = await followJob(api, jobId, { print: ctx.json ? ctx.note : ctx.out, intervalMs: ctx.pollMs, now: ctx.now });
  if (ctx.json) {
    const detail = await api.getJob(jobId);
    printJson(ctx, { ...detail, workflowId: created?.workflowId ?? res.job.workflow_id, experiment: res.experiment });
  }
  if (res.job.status === 'failed') throw new JobFailedError(`job ${jobId} failed: ${res.job.error ?? 'unknown error'}`);
}

export interface CycleOptions extends SubmitOptions, ReviewCycleOptions {
  variants?: number;
  strategy?: 'rules' | 'llm';
  force?: boolean;
  policy?: Record<string, unknown>;
}

export async function cycle(ctx: Context, promptKey: string, o: CycleOptions): Promise<void> {
  // The policy is only parsed when the experiment is created: check it now, not after analysis.
  if (o.policy) await ctx.api().validatePolicy(o.policy);
  const params: Record<string, unknown> = { promptKey };
  if (o.variants !== undefined) params.variantCount = o.variants;
  if (o.strategy) params.strategy = o.strategy;
  if (o.force) params.force = true;
  if (o.policy) params.policy = o.policy;
  await submitJob(ctx, 'full_cycle', { ...params, ...reviewParams(o) }, o);
}

export async function listJobs(ctx: Context, q: { status?: JobStatus; limit?: number }): Promise<void> {
  const { jobs } = await ctx.api().listJobs(q);
  if (ctx.json) printJson(ctx, { jobs });
  else ctx.out(jobsTable(jobs, ctx.now()));
}

export async function showJob(ctx: Context, id: number, o: { wait?: boolean }): Promise<void> {
  if (o.wait) return waitForJob(ctx, id);
  const detail = await ctx.api().getJob(id);
  if (ctx.json) printJson(ctx, detail);
  else ctx.out(jobDetailLines(detail, ctx.now()).join('\n'));
}

export async function listExperiments(ctx: Context, q: { status?: string; promptKey?: string; limit?: number }): Promise<void> {
  const { experiments } = await ctx.api().listExperiments(q);
  if (ctx.json) printJson(ctx, { experiments });
  else ctx.out(experimentsTable(experiments, ctx.now()));
}

export async function showExperiment(ctx: Context, id: string): Promise<void> {
  const detail = await ctx.api().getExperiment(id);
  if (ctx.json) printJson(ctx, detail);
  else ctx.out(experimentDetailLines(detail, ctx.now()).join('\n'));
}

export async function approve(ctx: Context, id: string, o: { approver: string; note?: string }): Promise<void> {
  const api = ctx.api();
  const { promotion } = await api.approve(id, { approver: o.approver, note: o.note });
  if (ctx.json) return printJson(ctx, { promotion });
  const label = versionLabels((await api.getExperiment(id)).experiment);
  ctx.out(
    `approved by ${promotion.actor}: ${promotion.promptKey} now serves ${label(promotion.toVersionId)} (was ${label(promotion.fromVersionId)})`,
  );
}

export async function signal(
  ctx: Context,
  name: 'stop' | 'pause' | 'resume',
  id: string,
  body: { reason?: string; actor?: string } = {},
): Promise<void> {
  const api = ctx.api();
  const res = name === 'stop' ? await api.stop(id, body) : name === 'pause' ? await api.pause(id) : await api.resume(id);
  if (ctx.json) return printJson(ctx, res);
  const effect = {
    stop: 'the monitor concludes it, keeping control',
    pause: 'traffic goes to control until resumed',
    resume: 'the monitor resumes its checks',
  }[name];
  ctx.out(`${name} sent to experiment ${id}: ${effect}\nweb ui    ${res.workflowUrl}`);
}

export async function restart(ctx: Context, id: string, o: { actor: string; reason?: string }): Promise<void> {
  const res = await ctx.api().restart(id, o);
  if (ctx.json) return printJson(ctx, res);
  const again = res.experiment.created ? '' : ' (it had already been restarted)';
  ctx.out(
    `experiment ${id} concluded as stopped; restarted as ${res.experiment.id}${again}: same arms, fresh evidence\nweb ui    ${res.workflowUrl}`,
  );
}

export async function rollback(ctx: Context, promptKey: string, o: { actor: string; reason: string }): Promise<void> {
  const api = ctx.api();
  const { event } = await api.rollback(promptKey, o);
  if (ctx.json) return printJson(ctx, { event });
  const { versions } = await api.getPrompt(promptKey);
  const label = (vid: string | null) => {
    const v = versions.find((x) => x.id === vid);
    return v ? `v${v.version}` : (vid ?? '-');
  };
  ctx.out(
    `rolled back ${promptKey}: ${label(event.from_version_id)} -> ${label(event.to_version_id)} (by ${event.actor}: ${event.reason})`,
  );
}

export async function seed(ctx: Context, promptKey: string, o: { file: string; activate?: boolean; rationale?: string }): Promise<void> {
  let content: string;
  try {
    content = readFileSync(o.file, 'utf8');
  } catch (err) {
    throw new UsageError(`--file: cannot read ${o.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (content.trim() === '') throw new UsageError(`--file: ${o.file} is empty`);
  const { version } = await ctx.api().seedPrompt({ promptKey, content, activate: Boolean(o.activate), rationale: o.rationale });
  if (ctx.json) return printJson(ctx, { version });
  const what = version.created ? 'created' : 'already existed (same content)';
  ctx.out(`${promptKey} v${version.version} ${what}: ${version.status}, id ${version.id}`);
}

/**
 * Loaded on demand: only these commands need the Temporal client (a quarter of a second to load).
 * Errors from this module are therefore recognized by name, not class (see cli.ts).
 */
const schedulesModule = () => import('./schedules');

export async function schedulesList(ctx: Context): Promise<void> {
  const sched = await schedulesModule();
  const rows = await sched.withTemporal(ctx.settings().temporal, (client) => sched.listSchedules(client));
  if (ctx.json) printJson(ctx, { namespace: ctx.settings().temporal.namespace, schedules: rows });
  else ctx.out(schedulesTable(rows, ctx.now()));
}

export async function schedulesPause(ctx: Context, target: string, action: 'pause' | 'resume', note?: string): Promise<void> {
  const sched = await schedulesModule();
  const ids = await sched.withTemporal(ctx.settings().temporal, (client) =>
    action === 'pause' ? sched.pauseSchedules(client, target, note) : sched.resumeSchedules(client, target, note),
  );
  if (ctx.json) printJson(ctx, { [action === 'pause' ? 'paused' : 'resumed']: ids });
  else ctx.out(`${action === 'pause' ? 'paused' : 'resumed'}: ${ids.join(', ')}`);
}

export async function schedulesTrigger(ctx: Context, id: string): Promise<void> {
  const sched = await schedulesModule();
  await sched.withTemporal(ctx.settings().temporal, (client) => sched.triggerSchedule(client, id));
  if (ctx.json) printJson(ctx, { triggered: id });
  else ctx.out(`triggered ${id}: its workflow starts now`);
}
