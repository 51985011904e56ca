import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutPlan } from '../../src/domain/types';
import type { RolloutDecision } from '../../src/stats/rollout';
import { startRolloutWatchWorkflow } from '../../src/temporal/start';
import { ADMIN_TOKEN, startTestService, type TestService } from '../helpers/service';
import { controlAndVariant } from '../helpers/store-fixture';
import { requireTool } from '../helpers/tools';
import { FAST_POLICY, driveTraffic, waitFor } from '../helpers/traffic';

/**
 * Guarded rollouts on the dashboard in real headless Chromium against the real worker service:
 * a promotion with a ramp plan (through the store) and its real watch, the Rollouts list, one
 * rollout's evidence, plot and audit trail, then Hold and Roll back from the page.
 */
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/dashboard');

// The page's formats (src/dashboard/public/app.js), restated: the test checks what people read.
const MINUS = '\u2212';
function signed(d: number): string {
  const s = (d * 100).toFixed(1);
  const v = Number(s);
  return v > 0 ? `+${s}` : v < 0 ? `${MINUS}${s.slice(1)}` : s.replace('-', '');
}
const fmtP = (p: number) => (p < 0.001 ? '<0.001' : String(Number(p.toPrecision(p < 0.1 ? 3 : 2))));

describe('dashboard: guarded rollouts in a real browser', () => {
  let svc: TestService;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const key = 'dash-rollout';
  /** Untrusted text from the API: shown as text, never as markup. */
  const hostile = '<img src=x onerror="window.__pwned=1">won';
  let rolloutId: string;
  let controlId: string;

  const text = async (selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();
  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  async function confirm(fields: Record<string, string>): Promise<string> {
    await page.locator('#dialog[open]').waitFor();
    for (const [name, value] of Object.entries(fields)) await page.fill(`#f-${name}`, value);
    await page.click('#dialog-ok');
    await page.locator('#flash.ok').waitFor({ timeout: 20_000 });
    return text('#flash .flash-text');
  }

  beforeAll(async () => {
    const executablePath = requireTool('chromium');
    mkdirSync(ARTIFACTS, { recursive: true });
    [svc, browser] = await Promise.all([
      startTestService(),
      chromium.launch({
        executablePath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      }),
    ]);
    const plan: RolloutPlan = {
      steps: [
        { share: 0.5, holdHours: 100 },
        { share: 1, holdHours: 0 },
      ],
      holdbackShare: 0.05,
      watchHours: 168,
      margin: 0,
    };
    const { control, variant } = await controlAndVariant(svc.store, key, {
      control: 'You are the support assistant. Be helpful.',
      variant: 'You are the support assistant. Be helpful and brief.',
    });
    controlId = control.id;
    const exp = await svc.store.createExperiment({
      promptKey: key,
      variantVersionIds: [variant.id],
      policy: { ...FAST_POLICY, checkIntervalSeconds: 2, rollout: plan },
    });
    const promoted = await svc.store.promoteVariant({
      experimentId: exp.id,
      versionId: variant.id,
      kind: 'auto',
      actor: 'optimizer',
      reason: hostile,
      rollout: plan,
    });
    rolloutId = promoted.rollout!.id;
    // Two waves of traffic with the watch checking in between: the plot has a history.
    await driveTraffic(svc.store, key, (v) => (v === control.id ? 0.6 : 0.85), { subjects: 300 });
    await startRolloutWatchWorkflow(svc.temporal.client, 'prompt-optimization-test', rolloutId);
    await waitFor(async () => (await svc.store.latestRolloutCheck(rolloutId)) ?? undefined, { what: 'a first check' });
    await driveTraffic(svc.store, key, (v) => (v === control.id ? 0.6 : 0.85), { subjects: 300, offset: 300, seed: 5 });
    await waitFor(
      async () => {
        const c = await svc.store.latestRolloutCheck(rolloutId);
        return c && (c.arms as unknown as Array<{ n: number }>).reduce((n, a) => n + a.n, 0) === 600;
      },
      { what: 'a check over all traffic' },
    );

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    await page.goto(`${svc.baseUrl}/dashboard/`);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.locator('#nav:not([hidden])').waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await svc?.teardown();
  });

  it('lists the rollout with its phase, step and split, and shows its evidence, plot and audit trail', async () => {
    await page.click('#nav a[data-nav="rollouts"]');
    const row = page.locator(`table.rollouts tr[data-id="${rolloutId}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-phase')).toBe('ramping');
    expect((await row.locator('td.phase').textContent())?.trim()).toBe('ramping');
    expect((await row.locator('td.step').textContent())?.trim()).toBe('1/2');
    expect((await row.locator('td.split').textContent())?.trim()).toBe('50% / 50%');
    await shot('20-rollouts');

    await row.locator('a').click();
    await page.locator('#rollout-evidence .estimate').waitFor();
    expect(await text('#rollout-phase .pill')).toBe('ramping');
    expect(await text('#rollout-step')).toBe('1/2');
    expect(await text('#rollout-split')).toBe('50% / 50%');
    // The latest check's numbers; without new traffic every later check reads the same.
    const checks = await svc.store.listRolloutChecks(rolloutId);
    const d = checks.at(-1)!.decision as unknown as RolloutDecision;
    expect(await text('#rollout-evidence .estimate')).toBe(`${signed(d.estimate)} pp`);
    expect(await text('#rollout-evidence .ci')).toBe(`${signed(d.ci[0])} to ${signed(d.ci[1])} pp`);
    expect(await text('#rollout-evidence .p')).toBe(fmtP(d.pWorse));
    expect(await text('#rollout-evidence .reason')).toBe(d.reason);
    // One point per check that has an estimate, the band and the zero line.
    const points = Number(await page.getAttribute('#rollout-plot svg', 'data-points'));
    expect(points).toBeGreaterThanOrEqual(2);
    expect(await page.locator('#rollout-plot circle.point').count()).toBe(points);
    expect(await page.locator('#rollout-plot polygon.band').count()).toBe(1);
    expect(await page.locator('#rollout-plot line.zero').count()).toBe(1);
    // The audit trail, with the API's text as text.
    const started = page.locator('table.rollout-events tr[data-kind="started"]');
    expect(await started.locator('td.actor').textContent()).toBe('optimizer');
    expect(await started.locator('td.reason').textContent()).toBe(hostile);
    expect(await page.locator('table.rollout-events img').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(await page.getAttribute('.temporal-link a', 'href')).toBe(
      `${svc.config.temporal.uiUrl}/namespaces/${svc.namespace}/workflows/rollout-${rolloutId}`,
    );
    expect(await page.locator('#rollout-resume').count()).toBe(0);
    await shot('21-rollout');
  });

  it('holds the rollout from the page, then rolls it back: the database and the page follow', async () => {
    await page.click('#rollout-hold');
    const held = await confirm({ actor: 'hana', reason: 'incident review' });
    expect(held).toBe(`Held: ${key} is held at step 1/2, holdback 50%.`);
    const afterHold = await svc.store.getRollout(rolloutId);
    expect(afterHold).toMatchObject({ held: true, phase: 'held', status: 'live' });
    expect(afterHold.events.at(-1)).toMatchObject({ kind: 'held', mode: 'manual', actor: 'hana', reason: 'incident review' });
    await page.locator('#rollout-phase .pill[data-value="held"]').waitFor();
    await page.locator('table.rollout-events tr[data-kind="held"]').waitFor();
    expect(await page.locator('#rollout-hold').count()).toBe(0);
    expect(await page.locator('#rollout-resume').count()).toBe(1);
    await shot('22-rollout-held');

    await page.click('#flash .close');
    await page.click('#rollout-rollback');
    const rolled = await confirm({ actor: 'hana', reason: 'complaints from support' });
    expect(rolled).toBe(`Rolled back: ${key} is rolled back at step 1/2, holdback 0%.`);
    const end = await svc.store.getRollout(rolloutId);
    expect(end).toMatchObject({ status: 'rolled_back', reason: 'complaints from support' });
    expect((await svc.store.getActivePrompt(key)).id).toBe(controlId);
    const rollbacks = (await svc.store.listPromotionEvents(key)).filter((e) => e.kind === 'rollback');
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]).toMatchObject({ mode: 'manual', actor: 'hana', rollout_id: rolloutId });
    await page.locator('#rollout-phase .pill[data-value="rolled_back"]').waitFor();
    expect(await text('#rollout-ended .reason')).toBe('complaints from support');
    expect(await page.locator('.page-head .actions button').count()).toBe(0);
    await shot('23-rollout-rolled-back');
    expect(pageErrors).toEqual([]);
  });
});
