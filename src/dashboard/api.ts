import type { Client } from '@temporalio/client';
import express from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { monitorWorkflowId, workflowUrl } from '../domain/ids';
import { requireToken } from '../http/auth';
import type { ExperimentWithArms, PromotionEventRow, SnapshotRow, Store } from '../store';
import { statusQuery, type MonitorStatus } from '../workflows/definitions';
import { uplotVersion } from './assets';
import { lineDiff } from './diff';

export interface DashboardDeps {
  store: Store;
  client: Client;
  namespace: string;
  uiUrl: string;
  adminToken?: string;
  logger?: Logger;
}

const uuid = z.uuid();

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

function snapshotSummary(s: SnapshotRow | null) {
  if (!s) return null;
  const arms = (Array.isArray(s.arms) ? s.arms : []) as Array<{ n?: number }>;
  const decision = (s.decision ?? {}) as { action?: string; reason?: string };
  return {
    checkNo: s.check_no,
    createdAt: s.created_at,
    conversations: arms.reduce((n, a) => n + (a.n ?? 0), 0),
    action: decision.action ?? null,
    reason: decision.reason ?? null,
  };
}

/**
 * The read-only JSON the page needs beyond the admin API (/v1), under /dashboard/api. Same admin
 * token as /v1 (one auth module), and never cached.
 */
export function dashboardApiRouter(deps: DashboardDeps): express.Router {
  const { store, client } = deps;
  const api = express.Router();
  api.use((_req, res, next) => {
    res.set('cache-control', 'no-store');
    next();
  });
  api.use(requireToken('admin', deps.adminToken));

  const link = (workflowId: string) => workflowUrl(deps.uiUrl, deps.namespace, workflowId);

  api.get('/meta', (_req, res) => {
    res.json({ namespace: deps.namespace, uiUrl: deps.uiUrl, uplot: uplotVersion() });
  });

  /** Prompt keys with their active version and latest promotion. */
  api.get('/prompts', async (_req, res) => {
    const [keys, events] = await Promise.all([store.listPromptKeys(), store.listPromotionEvents(undefined, 500)]);
    const latest = new Map<string, PromotionEventRow>();
    for (const e of events) if (!latest.has(e.prompt_key)) latest.set(e.prompt_key, e);
    res.json({ prompts: keys.map((k) => ({ ...k, lastPromotion: latest.get(k.prompt_key) ?? null })) });
  });

  /** Experiments with their latest check and, for live ones, the monitor's phase. */
  api.get('/experiments', async (_req, res) => {
    const experiments: ExperimentWithArms[] = await store.listExperiments({ limit: 200 });
    const rows = await Promise.all(
      experiments.map(async (e) => {
        const latest = snapshotSummary(await store.latestSnapshot(e.id));
        let live: Pick<MonitorStatus, 'phase' | 'pendingWinner' | 'checks'> | null = null;
        if (e.status !== 'concluded') {
          try {
            const s = await withTimeout(client.workflow.getHandle(monitorWorkflowId(e.id)).query(statusQuery), 2_000);
            live = { phase: s.phase, pendingWinner: s.pendingWinner, checks: s.checks };
          } catch {
            live = null;
          }
        }
        return { ...e, latest, live, workflowUrl: link(monitorWorkflowId(e.id)) };
      }),
    );
    res.json({ experiments: rows });
  });

  /** Insights of every prompt key (open and resolved). */
  api.get('/insights', async (_req, res) => {
    const keys = await store.listPromptKeys();
    const lists = await Promise.all(keys.map((k) => store.listInsights(k.prompt_key, null)));
    res.json({ insights: lists.flat() });
  });

  /** Jobs with a link to their workflow. */
  api.get('/jobs', async (_req, res) => {
    const jobs = await store.listJobs({ limit: 200 });
    res.json({ jobs: jobs.map((j) => ({ ...j, workflowUrl: j.workflow_id ? link(j.workflow_id) : null })) });
  });

  /** Line diff between two versions of one prompt key (`from` may be absent: everything is added). */
  api.get('/diff', async (req, res) => {
    const q = z.object({ from: uuid.optional(), to: uuid }).safeParse(req.query);
    if (!q.success) {
      res.status(400).json({ error: 'query: from and to must be version ids' });
      return;
    }
    const [from, to] = await Promise.all([q.data.from ? store.getPromptVersion(q.data.from) : null, store.getPromptVersion(q.data.to)]);
    if (from && from.prompt_key !== to.prompt_key) {
      res.status(400).json({ error: 'the versions belong to different prompt keys' });
      return;
    }
    const brief = (v: typeof to) => ({ id: v.id, version: v.version, status: v.status, strategy: v.strategy, rationale: v.rationale });
    res.json({ promptKey: to.prompt_key, from: from ? brief(from) : null, to: brief(to), diff: lineDiff(from?.content ?? '', to.content) });
  });

  return api;
}
