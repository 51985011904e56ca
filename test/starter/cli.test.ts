import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SCHEDULE_IDS } from '../../src/domain/ids';
import { ensureSchedules } from '../../src/worker/schedules';
import { freePort } from '../helpers/ports';
import { ADMIN_TOKEN, startTestService, type TestService } from '../helpers/service';
import { runStarter, type StarterRun } from '../helpers/starter';
import { FAST_POLICY, driveTraffic, seedPromptWithWeakSegment, waitFor } from '../helpers/traffic';

/**
 * The starter CLI as a real child process against the real worker service (HTTP API, Temporal
 * worker, database) on the shared Temporal dev server.
 */
const CONTENT = 'You are the support assistant of {{product}}. Be helpful.';

type Run = StarterRun;

describe('starter CLI on the real service', () => {
  let svc: TestService;
  let dir: string;
  const suffix = Date.now().toString(36);
  const key = (name: string) => `cli-${name}-${suffix}`;

  beforeAll(async () => {
    svc = await startTestService();
    dir = mkdtempSync(path.join(tmpdir(), 'starter-cli-'));
  });
  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await svc?.teardown();
  });

  const cli = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
    runStarter(args, {
      WORKER_URL: svc.baseUrl,
      ADMIN_API_TOKEN: ADMIN_TOKEN,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: svc.namespace,
      ...env,
    });
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('seeds a prompt from a file, runs a cycle with --wait to a promotion, shows it, and rolls it back', async () => {
    const k = key('cycle');
    const seeded = await cli(['--json', 'seed', k, '--file', file('prompt.txt', CONTENT), '--activate']);
    expect(seeded.code, seeded.stderr).toBe(0);
    const version = (JSON.parse(seeded.stdout) as { version: { id: string; version: number; status: string; created: boolean } }).version;
    expect(version).toMatchObject({ version: 1, status: 'active', created: true });
    const again = await cli(['seed', k, '--file', path.join(dir, 'prompt.txt')]);
    expect(again.stdout).toContain(`${k} v1 already existed`);
    // A day of logged traffic on that very version (same content: the store returns it).
    expect(await seedPromptWithWeakSegment(svc.store, k)).toBe(version.id);

    const running = cli(['cycle', k, '--variants', '1', '--policy', `@${file('policy.json', JSON.stringify(FAST_POLICY))}`, '--wait']);
    const exp = await waitFor(async () => (await svc.store.listExperiments({ promptKey: k, status: 'running' }))[0], {
      what: 'experiment',
    });
    // A little traffic first (below the sample gate: the monitor says "continue"), then plenty.
    const rate = (v: string) => (v === version.id ? 0.45 : 0.9);
    await driveTraffic(svc.store, k, rate, { subjects: 60 });
    await waitFor(async () => (await svc.store.listSnapshots(exp.id)).length >= 2, { what: 'two checks' });
    await driveTraffic(svc.store, k, rate, { subjects: 600, offset: 60, seed: 5 });
    const run = await running;
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^job \d+ \(full_cycle, cli-cycle-\S+\) pending$/m);
    expect(run.stdout).toMatch(/web ui\s+http:\/\/\S+\/namespaces\/pow-test-\d+\/workflows\/job-\d+/);
    expect(run.stdout).toContain(`experiment ${exp.id} (v1 vs v2) web ui http`);
    expect(run.stdout).toMatch(
      /check [1-9]\d* · monitoring · continue · v2 [+-]\d+\.\d points p=\S+ P\(beat\)=\d+% · min samples not reached/,
    );
    expect(run.stdout).toMatch(/experiment promoted: .+\n.* {2}v2 \+\d+\.\d points p/);
    expect(run.stdout).toMatch(/job \d+ completed: promoted v2 over v1 \(auto by optimizer\) after \d+ check\(s\)/);
    expect((await svc.store.getActivePrompt(k)).version).toBe(2);

    const [list, show] = await Promise.all([cli(['experiments', '--prompt-key', k]), cli(['experiment:show', exp.id])]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${exp.id}\\s+${k}\\s+concluded\\s+promoted\\s+v1 vs v2\\s+v2`));
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/status\s+concluded \(promoted\)\s+winner v2/);
    expect(show.stdout).toMatch(/decision\s+promote: .+/);
    expect(show.stdout).toMatch(/snapshots\s+[1-9]\d*/);
    expect(show.stdout).toContain(`/workflows/experiment-${exp.id}`);

    const rolled = await cli(['rollback', k, '--actor', 'alice', '--reason', 'complaints']);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain(`rolled back ${k}: v2 -> v1 (by alice: complaints)`);
    expect((await svc.store.getActivePrompt(k)).id).toBe(version.id);
  });

  it('runs any job type: pattern_analysis with --wait, job:show, jobs, and failures', async () => {
    const k = key('analysis');
    await seedPromptWithWeakSegment(svc.store, k);
    const run = await cli(['job', 'pattern_analysis', '--params', JSON.stringify({ promptKey: k })]);
    expect(run.code, run.stderr).toBe(0);
    const id = Number(/^job (\d+) /.exec(run.stdout)?.[1]);
    const shown = await cli(['job:show', String(id), '--wait']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/completed: analyzed 400 conversations, success \d+\.\d%: \d+ insights, [1-9]\d* actionable/);

    const [show, list] = await Promise.all([cli(['job:show', String(id)]), cli(['--json', 'jobs', '--limit', '5'])]);
    expect(show.stdout).toMatch(new RegExp(`^job ${id}  pattern_analysis  completed`));
    expect(show.stdout).toMatch(new RegExp(`web ui\\s+http://\\S+/workflows/job-${id}`));
    const jobs = (JSON.parse(list.stdout) as { jobs: Array<{ id: number; status: string }> }).jobs;
    expect(jobs.find((j) => j.id === id)).toMatchObject({ status: 'completed' });

    // Refused by the API's parameter check: exit 1 with its message.
    const bad = await cli(['job', 'experiment_monitoring', '--params', '{"experimentId":"nope"}']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: params\.experimentId: .+ \(HTTP 400\)$/m);
    // Accepted, then failed in the workflow: --wait exits 1 with the job's error.
    const failed = await cli(['job', 'variant_generation', '--params', JSON.stringify({ promptKey: key('missing') }), '--wait']);
    expect(failed.code, failed.stdout).toBe(1);
    expect(failed.stderr).toMatch(/^error: job \d+ failed: .+/m);
  });

  it('controls a live experiment: approve refused, pause, resume, restart, stop', async () => {
    const k = key('live');
    await seedPromptWithWeakSegment(svc.store, k);
    const variant = await svc.store.createPromptVersion({ promptKey: k, content: 'A careful variant for {{product}}.' });
    const params = { promptKey: k, variantVersionIds: [variant.id], policy: { checkIntervalSeconds: 3600 } };
    const created = await cli(['--json', 'job', 'experiment_creation', '--params', JSON.stringify(params), '--wait']);
    expect(created.code, created.stderr).toBe(0);
    const expId = (JSON.parse(created.stdout) as { job: { result: { experimentId: string } } }).job.result.experimentId;
    expect(created.stderr).toContain(`experiment ${expId} created`);

    const approve = await cli(['approve', expId, '--approver', 'bob']);
    expect(approve.code).toBe(1);
    expect(approve.stderr.trim()).toBe('error: cannot approve: nothing awaits approval (experiment is monitoring) (HTTP 409)');

    expect((await cli(['pause', expId])).code).toBe(0);
    await waitFor(async () => (await svc.store.getExperiment(expId)).status === 'paused', { what: 'paused' });
    const show = await cli(['experiment:show', expId]);
    expect(show.stdout).toMatch(/live\s+check 0 · paused · no check yet/);
    expect((await cli(['resume', expId])).code).toBe(0);
    await waitFor(async () => (await svc.store.getExperiment(expId)).status === 'running', { what: 'resumed' });
    const restarted = await cli(['restart', expId, '--reason', 'assignment fixed', '--actor', 'carol']);
    expect(restarted.code, restarted.stderr).toBe(0);
    const twinId = /restarted as ([0-9a-f-]{36}): same arms, fresh evidence/.exec(restarted.stdout)?.[1];
    expect(twinId, restarted.stdout).toBeDefined();
    expect(await svc.store.getExperiment(expId)).toMatchObject({ status: 'concluded', outcome: 'stopped' });
    const stop = await cli(['stop', twinId!, '--reason', 'test over', '--actor', 'carol']);
    expect(stop.code, stop.stderr).toBe(0);
    const e = await waitFor(
      async () => {
        const x = await svc.store.getExperiment(twinId!);
        return x.status === 'concluded' ? x : undefined;
      },
      { what: 'stopped' },
    );
    expect(e.outcome).toBe('stopped');
    const late = await cli(['stop', twinId!]);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('experiment is concluded (stopped) (HTTP 409)');
  });

  it('lists, pauses, resumes and triggers the schedules through Temporal', async () => {
    await ensureSchedules(svc.temporal.client, {
      taskQueue: 'prompt-optimization-test',
      analysisEveryMs: 3_600_000,
      reconcileEveryMs: 900_000,
      intakeEveryMs: 60_000,
      catchupWindowMs: 600_000,
    });
    try {
      const list = await cli(['schedules', 'list']);
      expect(list.code, list.stderr).toBe(0);
      // The hourly run is aligned to the hour: in the last minute before it, the next run is seconds away.
      expect(list.stdout).toMatch(/pattern-analysis-sweep\s+patternAnalysisSweep\s+1h\s+no\s+(in \d+[smh]|just now)/);
      expect(list.stdout).toMatch(/experiment-reconcile\s+experimentReconcile\s+15m\s+no/);
      expect(list.stdout).toMatch(/job-intake\s+jobIntake\s+1m\s+no/);

      const paused = await cli(['schedules', 'pause', 'all', '--note', 'maintenance']);
      expect(paused.stdout.trim()).toBe(`paused: ${Object.values(SCHEDULE_IDS).join(', ')}`);
      for (const id of Object.values(SCHEDULE_IDS)) {
        expect((await svc.temporal.client.schedule.getHandle(id).describe()).state.paused).toBe(true);
      }
      const after = await cli(['--json', 'schedules', 'list']);
      const rows = (JSON.parse(after.stdout) as { schedules: Array<{ id: string; paused: boolean; note: string }> }).schedules;
      expect(rows.map((r) => [r.id, r.paused, r.note])).toEqual(Object.values(SCHEDULE_IDS).map((id) => [id, true, 'maintenance']));

      await svc.store.createPromptVersion({ promptKey: key('intake'), content: CONTENT, activate: true });
      const job = await svc.store.createJob({ type: 'pattern_analysis', params: { promptKey: key('intake') }, createdBy: 'other-system' });
      const trigger = await cli(['schedules', 'trigger', SCHEDULE_IDS.intake]);
      expect(trigger.code, trigger.stderr).toBe(0);
      await waitFor(async () => (await svc.store.getJob(job.id)).workflow_id === `job-${job.id}`, { what: 'intake picked the job' });

      const resumed = await cli(['schedules', 'resume', SCHEDULE_IDS.analysis]);
      expect(resumed.stdout.trim()).toBe(`resumed: ${SCHEDULE_IDS.analysis}`);
      expect((await svc.temporal.client.schedule.getHandle(SCHEDULE_IDS.analysis).describe()).state.paused).toBe(false);
      const missing = await cli(['schedules', 'trigger', 'no-such-schedule']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^error: schedule no-such-schedule not found/);
    } finally {
      for (const id of Object.values(SCHEDULE_IDS))
        await svc.temporal.client.schedule
          .getHandle(id)
          .delete()
          .catch(() => undefined);
    }
  });

  it("finds the worker and its Temporal from the worker's own PORT and TEMPORAL_DEV_PORT, with no WORKER_URL or TEMPORAL_ADDRESS", async () => {
    // Blank means unset (src/config): exactly what a shell that ran `PORT=... TEMPORAL_DEV_PORT=... npm start` has.
    const env = {
      WORKER_URL: '',
      TEMPORAL_ADDRESS: '',
      PORT: new URL(svc.baseUrl).port,
      TEMPORAL_DEV_PORT: inject('temporalAddress').split(':').at(-1)!,
    };
    const [jobs, schedules, badPort] = await Promise.all([
      cli(['--json', 'jobs', '--limit', '1'], env),
      cli(['--json', 'schedules', 'list'], env),
      cli(['jobs'], { ...env, PORT: 'eighty' }),
    ]);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(Array.isArray((JSON.parse(jobs.stdout) as { jobs: unknown[] }).jobs)).toBe(true);
    expect(schedules.code, schedules.stderr).toBe(0);
    expect((JSON.parse(schedules.stdout) as { namespace: string }).namespace).toBe(svc.namespace);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/PORT: must be a port number/);
    // The derived addresses are the ones named when nothing answers there.
    const port = await freePort();
    const closed = await cli(['jobs'], { ...env, PORT: String(port) });
    expect(closed.stderr.trim()).toBe(
      `error: cannot reach the worker at http://localhost:${port}: is \`npm start\` running? (ECONNREFUSED)`,
    );
    const noTemporal = await cli(['schedules', 'list'], { ...env, TEMPORAL_DEV_PORT: String(port) });
    expect(noTemporal.code).toBe(1);
    expect(noTemporal.stderr).toContain(
      `error: cannot reach Temporal at 127.0.0.1:${port} (the embedded worker's dev server, TEMPORAL_DEV_PORT; set TEMPORAL_ADDRESS for another server)`,
    );
  });

  it('fails cleanly: bad token (never printed), unreachable worker, usage errors exit 2', async () => {
    const badToken = 'wrong-token-but-long-enough-123';
    const closedPort = await freePort();
    const [denied, missing, down, noKey, badType, noApprover, badPolicy, badId] = await Promise.all([
      cli(['jobs'], { ADMIN_API_TOKEN: badToken }),
      cli(['job:show', '999999']),
      cli(['experiments'], { WORKER_URL: `http://127.0.0.1:${closedPort}` }),
      cli(['cycle']),
      cli(['job', 'nonsense']),
      cli(['approve', '00000000-0000-4000-8000-000000000000']),
      cli(['cycle', 'k', '--policy', '{not json']),
      cli(['experiment:show', 'not-a-uuid']),
    ]);
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim()).toBe('error: missing or invalid bearer token (HTTP 401) (check ADMIN_API_TOKEN)');
    expect(denied.stdout + denied.stderr).not.toContain(badToken);
    expect(denied.stdout + denied.stderr).not.toContain(ADMIN_TOKEN);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*999999.* \(HTTP 404\)$/m);
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toBe(
      `error: cannot reach the worker at http://127.0.0.1:${closedPort}: is \`npm start\` running? (ECONNREFUSED)`,
    );
    for (const r of [noKey, badType, noApprover, badPolicy, badId]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^error: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
