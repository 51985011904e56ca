import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Client } from '@temporalio/client';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Store } from '../store';
import type { ExperimentWithArms, PromotionEventRow, SnapshotRow } from '../store';
import { monitorWorkflowId, workflowUrl } from '../domain/ids';
import { requireToken } from '../http/auth';
import { statusQuery, type MonitorStatus } from '../workflows/definitions';
import { lineDiff } from './diff';

/**
 * The dashboard: a static single-page shell (public, no data in it) and a few read-only JSON
 * endpoints under /api that the admin API lacks. Every endpoint here and every /v1 call the page
 * makes needs the admin bearer token; the page keeps it in sessionStorage.
 */
export interface DashboardDeps {
  store: Store;
  client: Client;
  namespace: string;
  uiUrl: string;
  adminToken?: string;
  logger?: Logger;
}

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
  cacheControl: string;
}

/** Where the browser files are: next to this module, or (running from dist/) in the sources. */
export function dashboardPublicDir(): string {
  const candidates = [path.join(__dirname, 'public'), path.resolve(__dirname, '../../src/dashboard/public')];
  return candidates.find((d) => existsSync(path.join(d, 'index.html'))) ?? candidates[0]!;
}

const REVALIDATE = 'no-cache';
/** The shell must not be framed, may only load its own files and talk to its own origin. */
const SHELL_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

function loadAssets(): Map<string, Asset> {
  const dir = dashboardPublicDir();
  const uplotDir = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  const files: Array<[route: string, file: string, type: string, cacheControl: string]> = [
    ['/', path.join(dir, 'index.html'), 'text/html; charset=utf-8', REVALIDATE],
    ['/app.js', path.join(dir, 'app.js'), 'text/javascript; charset=utf-8', REVALIDATE],
    ['/style.css', path.join(dir, 'style.css'), 'text/css; charset=utf-8', REVALIDATE],
    // The shell asks for these with ?v=<installed uPlot version>, so a long max-age is safe.
    ['/vendor/uPlot.iife.min.js', path.join(uplotDir, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8', 'public, max-age=604800'],
    ['/vendor/uPlot.min.css', path.join(uplotDir, 'uPlot.min.css'), 'text/css; charset=utf-8', 'public, max-age=604800'],
  ];
  const assets = new Map<string, Asset>();
  for (const [route, file, type, cacheControl] of files) {
    let body = readFileSync(file);
    if (route === '/') body = Buffer.from(body.toString('utf8').replaceAll('__UPLOT_VERSION__', uplotVersion()));
    assets.set(route, {
      type, body, gzip: gzipSync(body, { level: 9 }), cacheControl,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
  }
  return assets;
}

/** Bytes of the files the page loads (raw and gzip), for the record. */
export function dashboardPayload(): { files: Record<string, { bytes: number; gzip: number }>; bytes: number; gzip: number } {
  const files: Record<string, { bytes: number; gzip: number }> = {};
  let bytes = 0;
  let gzip = 0;
  for (const [route, a] of loadAssets()) {
    files[route] = { bytes: a.body.length, gzip: a.gzip.length };
    bytes += a.body.length;
    gzip += a.gzip.length;
  }
  return { files, bytes, gzip };
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
    checkNo: s.check_no, createdAt: s.created_at, conversations: arms.reduce((n, a) => n + (a.n ?? 0), 0),
    action: decision.action ?? null, reason: decision.reason ?? null,
  };
}

export function dashboardRouter(deps: DashboardDeps): express.Router {
  const { store, client } = deps;
  const router = express.Router();
  let assets: Map<string, Asset> | undefined;

  const serve = (name: string) => (req: Request, res: Response) => {
    try {
      assets ??= loadAssets();
    } catch (err) {
      deps.logger?.error({ err: (err as Error).message }, 'dashboard assets missing');
      res.status(500).type('text/plain').send('dashboard assets not found');
      return;
    }
    const a = assets.get(name)!;
    res.set({ 'content-type': a.type, 'cache-control': a.cacheControl, etag: a.etag, vary: 'accept-encoding', 'x-content-type-options': 'nosniff' });
    if (name === '/') res.set(SHELL_HEADERS);
    if (req.get('if-none-match') === a.etag) {
      res.status(304).end();
      return;
    }
    const gzip = /\bgzip\b/.test(req.get('accept-encoding') ?? '');
    if (gzip) res.set('content-encoding', 'gzip');
    res.send(gzip ? a.gzip : a.body);
  };

  router.get('/', (req, res) => {
    // Relative URLs need the trailing slash; redirect relatively so a path prefix (proxy) survives.
    const [pathname, query] = req.originalUrl.split('?', 2) as [string, string | undefined];
    if (!pathname.endsWith('/')) {
      res.redirect(301, `${pathname.split('/').pop()}/${query ? `?${query}` : ''}`);
      return;
    }
    serve('/')(req, res);
  });
  router.get('/app.js', serve('/app.js'));
  router.get('/style.css', serve('/style.css'));
  router.get('/vendor/uPlot.iife.min.js', serve('/vendor/uPlot.iife.min.js'));
  router.get('/vendor/uPlot.min.css', serve('/vendor/uPlot.min.css'));

  // --- data: admin token only ----------------------------------------------------------------
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
    const rows = await Promise.all(experiments.map(async (e) => {
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
    }));
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

  router.use('/api', api);
  return router;
}

let uplotVersionCache: string | undefined;
function uplotVersion(): string {
  uplotVersionCache ??= (JSON.parse(readFileSync(require.resolve('uplot/package.json'), 'utf8')) as { version: string }).version;
  return uplotVersionCache;
}
