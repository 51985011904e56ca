import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArmStats, Decision } from '../../src/domain/types';
import type { ConversationInput } from '../../src/store';
import { startJobWorkflow } from '../../src/temporal/start';
import { statusQuery, type MonitorStatus } from '../../src/workflows/definitions';
import { ADMIN_TOKEN, startTestService, type TestService } from '../helpers/service';
import { requireTool } from '../helpers/tools';
import { FAST_POLICY, driveTraffic, rng, seedPromptWithWeakSegment, waitFor } from '../helpers/traffic';

/**
 * The dashboard in real headless Chromium against the real worker service (Temporal dev server,
 * PostgreSQL or PGlite): sign-in, an experiment awaiting approval, approve, diff, roll back,
 * stop, insights, jobs. Screenshots of every page go to test-artifacts/dashboard/.
 */
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/dashboard');
const TASK_QUEUE = 'prompt-optimization-test';

// The page's number formats (src/dashboard/public/app.js), restated: the test checks what people read.
const MINUS = '\u2212';
function signed(d: number): string {
  const s = (d * 100).toFixed(1);
  const v = Number(s);
  return v > 0 ? `+${s}` : v < 0 ? `${MINUS}${s.slice(1)}` : s.replace('-', '');
}
const fmtEffect = (d: number) => `${signed(d)} pp`;
const fmtInterval = (ci: [number, number]) => `${signed(ci[0])} to ${signed(ci[1])} pp`;
const fmtP = (p: number) => (p < 0.001 ? '<0.001' : String(Number(p.toPrecision(p < 0.1 ? 3 : 2))));
const fmtPct = (x: number) => `${(x * 100).toFixed(1)}%`;
const fmtCount = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

describe('dashboard in a real browser', () => {
  let svc: TestService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const started = Date.now();

  const keys = { approval: 'dash-approval', stop: 'dash-stop', healthy: 'dash-healthy' };
  let approvalExpId: string;
  let stopExpId: string;
  let controlId: string;
  let pending: NonNullable<MonitorStatus['pendingWinner']>;
  /** The decision that named the pending winner. */
  let pendingReason: string;
  let failedJobId: number;

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const text = async (selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();
  const dashboardUrl = () => `${svc.baseUrl}/dashboard/`;

  /** Fills the confirm dialog, confirms, and returns the flash message shown. */
  async function confirm(fields: Record<string, string>, expected: 'ok' | 'error' = 'ok'): Promise<string> {
    await page.locator('#dialog[open]').waitFor();
    for (const [name, value] of Object.entries(fields)) await page.fill(`#f-${name}`, value);
    await page.click('#dialog-ok');
    await page.locator(`#flash.${expected}`).waitFor({ timeout: 20_000 });
    return text('#flash .flash-text');
  }

  async function signIn(p: Page, token: string): Promise<void> {
    await p.fill('#token', token);
    await p.click('#login-form button[type=submit]');
  }

  beforeAll(async () => {
    // Found or installed by the test setup (helpers/provision-tools.ts); throws with the reason when missing.
    const executablePath = requireTool('chromium');
    mkdirSync(ARTIFACTS, { recursive: true });
    [svc, browser] = await Promise.all([
      startTestService(),
      chromium.launch({
        executablePath,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
    ]);
    const store = svc.store;

    // 1. A cycle whose experiment (two variants) ends up awaiting approval.
    const seedApproval = (async () => {
      controlId = await seedPromptWithWeakSegment(store, keys.approval);
      await svc.temporal.client.workflow.start('optimizationCycle', {
        taskQueue: TASK_QUEUE,
        workflowId: `cycle-${keys.approval}`,
        args: [{ promptKey: keys.approval, variantCount: 2, policy: { ...FAST_POLICY, requireApproval: true } }],
      });
      const exp = await waitFor(async () => (await store.listExperiments({ promptKey: keys.approval, status: 'running' }))[0], {
        what: 'approval experiment',
      });
      approvalExpId = exp.id;
      // Let a few checks run before traffic so the chart has a history, then send it in two waves.
      await waitFor(async () => ((await store.latestSnapshot(exp.id))?.check_no ?? 0) >= 2, { what: 'first checks' });
      await driveTraffic(store, keys.approval, (v) => (v === controlId ? 0.45 : 0.9), { subjects: 400, seed: 3 });
      await waitFor(async () => ((await store.latestSnapshot(exp.id))?.check_no ?? 0) >= 4, { what: 'checks after wave 1' });
      await driveTraffic(store, keys.approval, (v) => (v === controlId ? 0.45 : 0.9), { subjects: 500, offset: 400, seed: 4 });
      const monitor = svc.temporal.client.workflow.getHandle(`experiment-${exp.id}`);
      const status = await waitFor(
        async () => {
          const s = await monitor.query(statusQuery);
          return s.phase === 'awaiting_approval' ? s : undefined;
        },
        { what: 'awaiting_approval', timeoutMs: 45_000 },
      );
      pending = status.pendingWinner!;
      pendingReason = status.lastDecision!.reason;
    })();

    // 2. A running experiment to stop from the page.
    const seedStop = (async () => {
      await seedPromptWithWeakSegment(store, keys.stop, 200, 5);
      const variant = await store.createPromptVersion({
        promptKey: keys.stop,
        content: 'You are the support assistant of {{product}}. Answer billing questions step by step.',
      });
      const exp = await store.createExperiment({ promptKey: keys.stop, variantVersionIds: [variant.id], policy: FAST_POLICY });
      stopExpId = exp.id;
      await svc.temporal.client.workflow.start('experimentMonitor', {
        taskQueue: TASK_QUEUE,
        workflowId: `experiment-${exp.id}`,
        args: [{ experimentId: exp.id }],
      });
    })();

    // 3. A key with healthy traffic (a cycle finds nothing to do) and a job that fails.
    const seedJobs = (async () => {
      const v = await store.createPromptVersion({
        promptKey: keys.healthy,
        content: 'You are a concise assistant for {{product}}.',
        activate: true,
      });
      const random = rng(21);
      const rows: ConversationInput[] = Array.from({ length: 240 }, (_, i) => ({
        prompt_key: keys.healthy,
        version_id: v.id,
        subject_id: `h-${i}`,
        topic: i % 2 ? 'general' : 'billing',
        success: random() < 0.9,
        rating: 4,
        tokens: 300,
        latency_ms: 800,
        created_at: new Date(Date.now() - (i % 60) * 60_000).toISOString(),
      }));
      await store.recordConversations(rows);
      const job = await store.createJob({ type: 'experiment_monitoring', params: { experimentId: 'not-a-uuid' }, createdBy: 'scheduler' });
      failedJobId = job.id;
      await startJobWorkflow(svc.temporal.client, TASK_QUEUE, job.id);
    })();

    await Promise.all([seedApproval, seedStop, seedJobs]);

    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await svc?.teardown();
    console.info(`dashboard browser test: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it('shows only the sign-in form without the token, and no data endpoint answers', async () => {
    const anon = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await anon.newPage();
    const requested: string[] = [];
    p.on('request', (r) => requested.push(new URL(r.url()).pathname));
    await p.goto(`${svc.baseUrl}/dashboard#/experiments/${approvalExpId}`);
    expect(new URL(p.url()).pathname).toBe('/dashboard/');
    await p.locator('#login-form').waitFor();
    expect(await p.locator('#nav').isVisible()).toBe(false);
    expect(await p.locator('table').count()).toBe(0);
    expect(requested.filter((r) => r.includes('/api/') || r.startsWith('/v1/'))).toEqual([]);

    await signIn(p, 'not-the-token');
    await p.locator('#login-error:not([hidden])').waitFor();
    expect(await p.locator('#login-error').textContent()).toMatch(/not accepted/);
    expect(await p.locator('table').count()).toBe(0);
    expect(await p.evaluate('sessionStorage.length')).toBe(0);
    await p.screenshot({ path: path.join(ARTIFACTS, '01-login.png'), fullPage: true });
    await anon.close();

    const dataPaths = [
      '/dashboard/api/meta',
      '/dashboard/api/prompts',
      '/dashboard/api/experiments',
      '/dashboard/api/insights',
      '/dashboard/api/jobs',
      `/dashboard/api/diff?to=${controlId}`,
      '/v1/experiments',
      `/v1/experiments/${approvalExpId}`,
      `/v1/prompts/${keys.approval}`,
      '/v1/prompts',
      '/v1/jobs',
    ];
    for (const p2 of dataPaths) {
      expect((await fetch(`${svc.baseUrl}${p2}`)).status, p2).toBe(401);
      expect((await fetch(`${svc.baseUrl}${p2}`, { headers: { authorization: 'Bearer wrong' } })).status, p2).toBe(401);
    }
    for (const [p2, method] of [
      [`/v1/experiments/${approvalExpId}/approve`, 'POST'],
      [`/v1/prompts/${keys.approval}/rollback`, 'POST'],
      ['/v1/jobs', 'POST'],
    ] as const) {
      expect((await fetch(`${svc.baseUrl}${p2}`, { method, headers: { 'content-type': 'application/json' }, body: '{}' })).status, p2).toBe(
        401,
      );
    }
    // The shell itself is public.
    expect((await fetch(dashboardUrl())).status).toBe(200);
  });

  it('signs in and lists running and finished experiments', async () => {
    await page.goto(dashboardUrl());
    await signIn(page, ADMIN_TOKEN);
    await page.locator(`table.experiments.running tr[data-id="${approvalExpId}"]`).waitFor();
    expect(await page.evaluate('sessionStorage.getItem("pow.dashboard.token")')).toBe(ADMIN_TOKEN);
    const row = page.locator(`table.experiments.running tr[data-id="${approvalExpId}"]`);
    expect(await row.locator('.pill').textContent()).toBe('awaiting approval');
    expect(await row.locator('.chip').count()).toBe(3);
    expect(await page.locator(`table.experiments.running tr[data-id="${stopExpId}"]`).count()).toBe(1);
    await shot('02-experiments');
  });

  it('shows the experiment: a uPlot chart per variant and the numbers of the latest snapshot', async () => {
    // Both traffic waves (900 conversations) are in the latest check: the numbers stop moving.
    await waitFor(
      async () => {
        const snap = await svc.store.latestSnapshot(approvalExpId);
        return snap && (snap.arms as unknown as ArmStats[]).reduce((n, a) => n + a.n, 0) === 900;
      },
      { what: 'a check over all traffic' },
    );
    // The pending winner and its reason follow the latest evidence while approval is awaited.
    const liveNow = await svc.temporal.client.workflow.getHandle(`experiment-${approvalExpId}`).query(statusQuery);
    pending = liveNow.pendingWinner!;
    pendingReason = liveNow.lastDecision!.reason;
    await page.click(`table.experiments.running tr[data-id="${approvalExpId}"] a`);
    await page.locator('#lift-chart canvas').waitFor();
    await page.locator('#approve:not([disabled])').waitFor();

    const exp = await svc.store.getExperiment(approvalExpId);
    const variants = exp.arms.filter((a) => a.arm > 0);
    expect(variants).toHaveLength(2);
    expect(await page.getAttribute('#lift-chart', 'data-series')).toBe('2');
    expect(await page.locator('#lift-chart .u-legend tr.lift').count()).toBe(2);
    expect(await page.locator('#lift-chart .uplot').count()).toBe(1);

    // The monitor keeps checking while it waits; the numbers do not move without new traffic.
    await page.click('#refresh');
    const latest = (await svc.store.latestSnapshot(approvalExpId))!;
    const decision = latest.decision as unknown as Decision;
    await page.locator('table.variants tr[data-arm="1"] td.estimate').waitFor();
    for (const v of decision.variants) {
      const row = `table.variants tr[data-arm="${v.arm}"]`;
      expect(await text(`${row} td.estimate`)).toBe(fmtEffect(v.estimate));
      expect(await text(`${row} td.ci`)).toBe(fmtInterval(v.ci));
      expect(await text(`${row} td.p`)).toBe(fmtP(v.pValue));
      expect(await text(`${row} td.padj`)).toBe(fmtP(v.adjustedPValue));
      expect(await text(`${row} td.pbeat`)).toBe(fmtPct(v.probBeatControl));
      expect(await text(`${row} td.loss`)).toBe(`${(v.expectedLoss * 100).toFixed(2)} pp`);
    }
    // Each guardrail's sequential test and the recent window, in words.
    for (const v of decision.variants) {
      const row = `table.variants tr[data-arm="${v.arm}"]`;
      const readings = await page.locator(`${row} td.guardrails li`).evaluateAll((els) => els.map((e) => e.getAttribute('data-guardrail')));
      expect(readings).toEqual(v.guardrails!.map((g) => g.name));
      const errorState = await page.getAttribute(`${row} td.guardrails li[data-guardrail="error_rate"]`, 'data-state');
      const error = v.guardrails!.find((g) => g.name === 'error_rate')!;
      expect(errorState).toBe(error.breached ? 'breached' : error.beyondMargin ? 'beyond' : error.withinMargin ? 'within' : 'unsure');
      expect(await text(`${row} td.recent`)).toBe('after the first window');
    }
    expect(await text('.facts')).toContain('Minimum duration');
    expect(await text('.facts')).toMatch(/traffic split p [<\d.]+, topic mix p [<\d.]+ \(always-valid\)/);
    for (const a of latest.arms as unknown as ArmStats[]) {
      const row = `table.arms tr[data-arm="${a.arm}"]`;
      expect(await text(`${row} td.n`)).toBe(fmtCount(a.n));
      expect(await text(`${row} td.successes`)).toBe(fmtCount(a.successes));
      expect(await text(`${row} td.rate`)).toBe(fmtPct(a.successes / a.n));
    }
    // The callout explains the pending winner; if a later check favours another variant, it says so.
    expect(await text('#decision strong')).toBe(
      `Variant ${pending.arm} (v${exp.arms.find((a) => a.arm === pending.arm)!.version}) is ready to be promoted and awaits approval.`,
    );
    expect(await text('#decision .reason')).toBe(pendingReason);
    expect(await page.locator('#decision .note').count()).toBe(decision.winner && decision.winner.arm !== pending.arm ? 1 : 0);
    const href = await page.getAttribute('.temporal-link a', 'href');
    expect(href).toBe(`${svc.config.temporal.uiUrl}/namespaces/${svc.namespace}/workflows/experiment-${approvalExpId}`);
    await shot('03-experiment-awaiting-approval');
  });

  it('approves the pending promotion after confirmation: the winner becomes active, one approval event', async () => {
    await page.click('#approve');
    await page.locator('#dialog[open]').waitFor();
    await page.fill('#f-approver', 'dana');
    await page.fill('#f-note', 'Clear win on billing questions');
    await shot('04-approve-dialog');
    const message = await confirm({});
    expect(message).toMatch(/^Approved: v\d+ is now the active prompt of dash-approval \(promotion by dana\)\.$/);

    expect((await svc.store.getActivePrompt(keys.approval)).id).toBe(pending.versionId);
    const events = await svc.store.listPromotionEvents(keys.approval);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: 'approval',
      actor: 'dana',
      from_version_id: controlId,
      to_version_id: pending.versionId,
      reason: 'Clear win on billing questions',
    });
    expect(await svc.store.getExperiment(approvalExpId)).toMatchObject({
      status: 'concluded',
      outcome: 'promoted',
      winner_version_id: pending.versionId,
    });

    await page.locator('h1 .pill[data-value="promoted"]').waitFor();
    expect(await page.locator('#approve').count()).toBe(0);
    // The page itself says who approved, when (in UTC, and says so) and with which note.
    await page.locator('#promotion').waitFor();
    expect(await text('#promotion .approver')).toBe('dana');
    expect(await text('#promotion .approval-note')).toBe('Clear win on billing questions');
    const approvedAt = events[0]!.created_at;
    expect(await page.getAttribute('#promotion time', 'datetime')).toBe(approvedAt);
    expect(await text('#promotion time')).toBe(`${new Date(approvedAt).toISOString().slice(0, 19).replace('T', ' ')} UTC`);
    expect(await text('#promotion')).toMatch(/^Approved by dana at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: Clear win on billing questions$/);
    await shot('05-experiment-promoted');
  });

  it('shows the promotion history with a diff, and rolls back through the page', async () => {
    await page.goto(`${dashboardUrl()}#/prompts`);
    const keyRow = page.locator(`table.prompts tr[data-key="${keys.approval}"]`);
    await keyRow.waitFor();
    const versions = await svc.store.listPromptVersions(keys.approval);
    const winner = versions.find((v) => v.id === pending.versionId)!;
    const control = versions.find((v) => v.id === controlId)!;
    expect(await keyRow.locator('.chip.active').textContent()).toBe(`v${winner.version}`);
    await shot('06-prompts');

    await keyRow.locator('a').click();
    const promo = page.locator('table.promotions tr[data-kind="approval"]');
    await promo.waitFor();
    expect(await promo.count()).toBe(1);
    expect((await promo.locator('.change').textContent())?.trim()).toBe(`v${control.version} → v${winner.version}`);
    expect(await promo.textContent()).toContain('dana');
    await page.locator('#diff tr.add').first().waitFor();
    expect(await text('#diff h2')).toBe(`Diff v${control.version} → v${winner.version}`);
    const controlLines = new Set(control.content.split('\n'));
    const addedLine = winner.content.split('\n').find((l) => l.trim() !== '' && !controlLines.has(l))!;
    expect(await page.locator('#diff tr.add td.text').allTextContents()).toContain(addedLine);
    await shot('07-prompt-history-diff');

    await page.click('#rollback');
    const message = await confirm({ actor: 'erin', reason: 'Billing team asked to keep the old wording' });
    expect(message).toBe(`Rolled back ${keys.approval}: v${winner.version} → v${control.version} is active again.`);
    expect((await svc.store.getActivePrompt(keys.approval)).id).toBe(controlId);
    const events = await svc.store.listPromotionEvents(keys.approval);
    expect(events.map((e) => e.kind)).toEqual(['rollback', 'approval']);
    expect(events[0]).toMatchObject({ actor: 'erin', from_version_id: pending.versionId, to_version_id: controlId });
    await page.locator('table.promotions tr[data-kind="rollback"]').waitFor();
    expect(await text('#active-version')).toBe(`active v${control.version}`);
    await shot('08-prompt-rolled-back');

    // A second rollback has nothing to go back to: the page shows the API's error.
    await page.click('#rollback');
    const refused = await confirm({ actor: 'erin', reason: 'again' }, 'error');
    expect(refused).toMatch(/^Roll back prompt failed: .*no earlier version/);
    expect((await svc.store.getActivePrompt(keys.approval)).id).toBe(controlId);
  });

  it('restarts a running experiment as a new one, then stops that one, after confirmation', async () => {
    await page.goto(`${dashboardUrl()}#/experiments/${stopExpId}`);
    await page.locator('#stop').waitFor();
    // No approval in its policy: no (disabled) approve button. Below the minimum sample, the
    // variant's numbers carry the word that no decision rests on them yet.
    expect(await page.locator('#approve').count()).toBe(0);
    await waitFor(async () => ((await svc.store.latestSnapshot(stopExpId)) ? true : undefined), { what: 'a first check' });
    await page.click('#refresh');
    await page.locator('#min-sample-note').waitFor();
    expect(await text('#min-sample-note')).toBe(
      `Minimum sample not reached (${fmtCount(FAST_POLICY.minSamplesPerArm)} conversations and ${fmtCount(FAST_POLICY.minSuccessesPerArm)} successes per arm): these numbers are early, and no decision rests on them yet.`,
    );
    // Restart first, as an operator would after a sample ratio mismatch: the page moves to the
    // new experiment (same arms, fresh evidence), which is then stopped.
    const original = stopExpId;
    await page.click('#restart');
    expect(await confirm({ actor: 'gil', reason: 'assignment fixed' })).toMatch(
      /^Restarted as experiment [0-9a-f-]{36}\. Open the new experiment$/,
    );
    const [twin] = await svc.store.listExperiments({ promptKey: keys.stop, status: 'running' });
    expect(twin!.id).not.toBe(original);
    expect(await svc.store.getExperiment(original)).toMatchObject({ status: 'concluded', outcome: 'stopped' });
    stopExpId = twin!.id;
    await page.click('#flash .flash-text a');
    await page.waitForURL(`**#/experiments/${stopExpId}`);
    await page.locator('#stop').waitFor();
    await page.click('#stop');
    const message = await confirm({ actor: 'gil', reason: 'wrong audience' });
    expect(message).toMatch(/Stop requested/);
    const e = await waitFor(
      async () => {
        const x = await svc.store.getExperiment(stopExpId);
        return x.status === 'concluded' ? x : undefined;
      },
      { what: 'stopped' },
    );
    expect(e.outcome).toBe('stopped');
    expect((e.decision as { reason: string }).reason).toBe('wrong audience');
    await page.click('#refresh');
    await page.locator('h1 .pill[data-value="stopped"]').waitFor();
    expect(await text('#decision .reason')).toBe('wrong audience');
    await shot('09-experiment-stopped');

    await page.goto(`${dashboardUrl()}#/experiments`);
    await page.locator(`table.experiments.finished tr[data-id="${stopExpId}"]`).waitFor();
    expect(await page.locator(`table.experiments.finished tr[data-id="${approvalExpId}"] .pill`).textContent()).toBe('promoted');
    await shot('12-experiments-finished');
  });

  it('lists insights with their evidence', async () => {
    await page.goto(`${dashboardUrl()}#/insights`);
    const row = page.locator(`table.insights tr[data-kind="low_success_segment"][data-key="${keys.approval}"]`).first();
    await row.waitFor();
    const insights = (await svc.store.listInsights(keys.approval, null)).filter((i) => i.kind === 'low_success_segment');
    expect(insights.length).toBeGreaterThan(0);
    expect(await row.textContent()).toContain(insights[0]!.segment ?? 'all traffic');
    const evidenceKeys = Object.keys(insights[0]!.evidence as Record<string, unknown>);
    expect(await row.locator('.ev').count()).toBe(evidenceKeys.length);
    await shot('10-insights');
  });

  it('the Jobs table fits a 1,280 px window with long parameters and errors: every column on screen', async () => {
    // A job with long parameters (a whole policy) and one with a long error, as other systems insert them.
    const long = await svc.store.createJob({
      type: 'experiment_creation',
      createdBy: 'a-rather-long-system-name',
      params: {
        promptKey: keys.healthy,
        variantVersionIds: Array.from({ length: 4 }, (_, i) => `0000000${i}-0000-4000-8000-00000000000${i}`),
        policy: { ...FAST_POLICY, requireApproval: true },
      },
    });
    const failing = await svc.store.createJob({ type: 'pattern_analysis', params: { promptKey: keys.healthy } });
    await svc.store.failJob(failing.id, `an error with a long unbroken token ${'x'.repeat(300)} and more words after it`);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${dashboardUrl()}#/jobs`);
    await page.locator(`table.jobs tr[data-id="${long.id}"]`).waitFor();
    await page.locator(`table.jobs tr[data-id="${failing.id}"]`).waitFor();
    // Measured in the page (a string: this project's TypeScript has no DOM types).
    const m = (await page.evaluate(`(() => {
      const table = document.querySelector('table.jobs');
      const wrap = table.closest('.table-wrap');
      return {
        page: document.documentElement.scrollWidth, viewport: window.innerWidth, table: table.getBoundingClientRect().width,
        wrap: wrap.clientWidth, wrapScroll: wrap.scrollWidth,
        headers: [...table.querySelectorAll('th')].map((th) => ({ label: th.textContent, right: th.getBoundingClientRect().right })),
        // Cells whose content sticks out of them (a word wider than its column).
        overflowing: [...table.querySelectorAll('th, td')].filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => (el.textContent || '').slice(0, 40)),
      };
    })()`)) as {
      page: number;
      viewport: number;
      table: number;
      wrap: number;
      wrapScroll: number;
      headers: Array<{ label: string | null; right: number }>;
      overflowing: string[];
    };
    console.info(`jobs table at 1280 px: table ${Math.round(m.table)} px in ${m.wrap} px, page ${m.page} px`);
    expect(m.overflowing).toEqual([]);
    expect(m.viewport).toBe(1280);
    expect(m.page).toBeLessThanOrEqual(1280);
    expect(m.wrapScroll).toBeLessThanOrEqual(m.wrap);
    expect(m.table).toBeLessThanOrEqual(m.wrap);
    expect(m.headers.map((hd) => hd.label)).toEqual([
      '#',
      'Type',
      'Status',
      'Params',
      'Result / error',
      'Created by',
      'Created',
      'Took',
      'Workflow',
    ]);
    for (const hd of m.headers) expect(hd.right, hd.label ?? '').toBeLessThanOrEqual(1280);
    // Timestamps say their zone.
    expect(await page.locator(`table.jobs tr[data-id="${long.id}"] time`).textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    await shot('13-jobs-long-rows');
  });

  it('serves a favicon, also at the root where browsers look for it', async () => {
    const root = await fetch(`${svc.baseUrl}/favicon.ico`, { redirect: 'manual' });
    expect(root.status).toBe(301);
    expect(root.headers.get('location')).toBe('/dashboard/favicon.svg');
    const icon = await fetch(`${svc.baseUrl}/dashboard/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(await icon.text()).toMatch(/^<svg /);
    expect(await page.getAttribute('link[rel="icon"]', 'href')).toBe('favicon.svg');
  });

  it('starts a cycle from the jobs page and shows job status and errors', async () => {
    await page.goto(`${dashboardUrl()}#/jobs`);
    await page.locator(`table.jobs tr[data-id="${failedJobId}"][data-status="failed"]`).waitFor({ timeout: 20_000 });
    expect(await page.locator(`table.jobs tr[data-id="${failedJobId}"] .error-text`).textContent()).toMatch(/params\.experimentId/);

    await page.click('#start-cycle');
    await page.locator('#dialog[open]').waitFor();
    await page.selectOption('#f-promptKey', keys.healthy);
    const message = await confirm({ actor: 'frank' });
    const jobId = Number(/job #(\d+)/.exec(message)?.[1]);
    expect(jobId).toBeGreaterThan(0);
    const job = await svc.store.getJob(jobId);
    expect(job).toMatchObject({ type: 'full_cycle', created_by: 'frank', params: { promptKey: keys.healthy, variantCount: 2 } });
    expect(await page.getAttribute('#flash a', 'href')).toBe(
      `${svc.config.temporal.uiUrl}/namespaces/${svc.namespace}/workflows/job-${jobId}`,
    );
    // The page refreshes itself while a job is busy.
    await page.locator(`table.jobs tr[data-id="${jobId}"][data-status="completed"]`).waitFor({ timeout: 30_000 });
    expect((await svc.store.getJob(jobId)).status).toBe('completed');
    await shot('11-jobs');
    // The only failed request is the refused second rollback (409), which the page reported.
    expect(pageErrors.filter((e) => !/status of 409/.test(e))).toEqual([]);
    expect(pageErrors.filter((e) => /status of 409/.test(e))).toHaveLength(1);
  });
});
