/**
 * `schedules ...`: the worker's Temporal Schedules, managed with the Temporal client directly
 * (schedules live in Temporal, not in the database, so the worker need not be running).
 */
import { readFileSync } from 'node:fs';
import { Client, Connection, ScheduleNotFoundError, type ScheduleDescription } from '@temporalio/client';
import type { ClientConfig } from '../config/client';
import { SCHEDULE_IDS } from '../domain/ids';
import type { ScheduleRow } from './format';

/** Where Temporal is: loadClientConfig (src/config/client.ts), the same variables as the worker's. */
export type TemporalSettings = ClientConfig['temporal'];

/** An expected Temporal problem with a message that is safe to print (no API key). */
export class TemporalCliError extends Error {
  override readonly name = 'TemporalCliError';
}

/** Runs `fn` with a connected client and always closes the connection (so the process can exit). */
export async function withTemporal<T>(s: TemporalSettings, fn: (client: Client) => Promise<T>): Promise<T> {
  let connection: Connection;
  try {
    const tls =
      typeof s.tls === 'object' ? { clientCertPair: { crt: readFileSync(s.tls.certPath), key: readFileSync(s.tls.keyPath) } } : s.tls;
    connection = await Connection.connect({ address: s.address, tls, apiKey: s.apiKey, connectTimeout: '5s' });
  } catch (err) {
    const where = s.embedded ? " (the embedded worker's dev server, TEMPORAL_DEV_PORT; set TEMPORAL_ADDRESS for another server)" : '';
    throw new TemporalCliError(`cannot reach Temporal at ${s.address}${where}: ${redact((err as Error).message, s.apiKey)}`);
  }
  try {
    return await fn(new Client({ connection, namespace: s.namespace }));
  } catch (err) {
    if (err instanceof TemporalCliError) throw err;
    throw new TemporalCliError(`Temporal (${s.address}, namespace ${s.namespace}): ${redact((err as Error).message, s.apiKey)}`);
  } finally {
    await connection.close();
  }
}

const redact = (text: string, secret: string | undefined) => (secret ? text.split(secret).join('***') : text);

export function toScheduleRow(id: string, d: ScheduleDescription): ScheduleRow {
  return {
    id,
    workflowType: d.action.type === 'startWorkflow' ? d.action.workflowType : null,
    everyMs: (d.spec.intervals ?? []).map((i) => Number(i.every)),
    paused: d.state.paused,
    note: d.state.note ?? null,
    nextRun: d.info.nextActionTimes[0] ?? null,
    recentActions: d.info.recentActions.map((a) => ({ at: a.takenAt, workflowId: a.action.workflow.workflowId })),
  };
}

async function describeOrNull(client: Client, id: string): Promise<ScheduleDescription | null> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
}

/**
 * The worker's schedules plus any others in the namespace. Each is described rather than taken
 * from the list call: listing goes through visibility, which lags (a pause would show late).
 */
export async function listSchedules(client: Client): Promise<ScheduleRow[]> {
  const known: string[] = Object.values(SCHEDULE_IDS);
  const others = new Set<string>();
  for await (const s of client.schedule.list()) if (!known.includes(s.scheduleId)) others.add(s.scheduleId);
  const rows: ScheduleRow[] = [];
  for (const id of [...known, ...[...others].sort()]) {
    const d = await describeOrNull(client, id);
    if (d) rows.push(toScheduleRow(id, d));
  }
  return rows;
}

/** `all` means every schedule that exists; a single id must exist. */
async function resolveTargets(client: Client, target: string): Promise<string[]> {
  if (target !== 'all') {
    if (!(await describeOrNull(client, target)))
      throw new TemporalCliError(`schedule ${target} not found (known: ${Object.values(SCHEDULE_IDS).join(', ')})`);
    return [target];
  }
  const ids = (await listSchedules(client)).map((r) => r.id);
  if (ids.length === 0)
    throw new TemporalCliError('no schedules in this namespace (the worker creates them at boot unless SCHEDULES_ENABLED=false)');
  return ids;
}

export async function pauseSchedules(client: Client, target: string, note?: string): Promise<string[]> {
  const ids = await resolveTargets(client, target);
  for (const id of ids) await client.schedule.getHandle(id).pause(note ?? 'paused with the starter CLI');
  return ids;
}

export async function resumeSchedules(client: Client, target: string, note?: string): Promise<string[]> {
  const ids = await resolveTargets(client, target);
  for (const id of ids) await client.schedule.getHandle(id).unpause(note ?? 'resumed with the starter CLI');
  return ids;
}

/** Runs the schedule's action now, even when paused (what an operator wants from "trigger"). */
export async function triggerSchedule(client: Client, id: string): Promise<void> {
  await resolveTargets(client, id);
  await client.schedule.getHandle(id).trigger();
}
