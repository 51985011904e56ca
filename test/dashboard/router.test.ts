import { once } from 'node:events';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { Client } from '@temporalio/client';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardPayload, dashboardRouter } from '../../src/dashboard/router';
import type { Store } from '../../src/store';

/**
 * The dashboard router on its own (a bare Express app, a stub store): the shell is public and
 * cacheable, every data endpoint needs the admin token. The browser test runs the real thing.
 */
const TOKEN = 'router-test-token-0123456789';
const V1 = '11111111-1111-4111-8111-111111111111';
const V2 = '22222222-2222-4222-8222-222222222222';

const store = {
  listPromptKeys: async () => [{ prompt_key: 'k', active_version_id: V2, active_version: 2, versions: 2 }],
  listPromotionEvents: async () => [],
  getPromptVersion: async (id: string) => ({
    id,
    prompt_key: 'k',
    version: id === V1 ? 1 : 2,
    status: id === V1 ? 'archived' : 'active',
    strategy: 'rules',
    rationale: null,
    content: id === V1 ? 'You help.\nBe brief.' : 'You help.\nBe brief and kind.\nAsk first.',
  }),
} as unknown as Store;

function get(
  server: Server,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const { port } = server.address() as { port: number };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(adminToken: string | undefined): Promise<Server> {
  const app = express();
  app.use('/dashboard', dashboardRouter({ store, client: {} as Client, namespace: 'default', uiUrl: 'http://ui.test', adminToken }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

describe('dashboard router', () => {
  let server: Server;
  let disabled: Server;
  beforeAll(async () => {
    [server, disabled] = await Promise.all([serve(TOKEN), serve(undefined)]);
  });
  afterAll(async () => {
    for (const s of [server, disabled]) s?.close();
  });

  it('redirects to the trailing slash relatively, so a path prefix survives', async () => {
    const res = await get(server, '/dashboard');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('dashboard/');
  });

  it('serves the shell with a strict policy, gzip and revalidation', async () => {
    const res = await get(server, '/dashboard/', { 'accept-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    const html = gunzipSync(res.body).toString('utf8');
    expect(html).toContain('<form id="login-form"');
    expect(html).toMatch(/vendor\/uPlot\.iife\.min\.js\?v=\d+\.\d+\.\d+/);
    expect(html).not.toContain('__UPLOT_VERSION__');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-cache');
    const again = await get(server, '/dashboard/', { 'if-none-match': String(res.headers.etag) });
    expect(again.status).toBe(304);

    for (const asset of ['app.js', 'style.css', 'vendor/uPlot.iife.min.js', 'vendor/uPlot.min.css']) {
      const a = await get(server, `/dashboard/${asset}`);
      expect(a.status, asset).toBe(200);
      expect(a.body.length, asset).toBeGreaterThan(500);
    }
    expect((await get(server, '/dashboard/vendor/uPlot.iife.min.js')).headers['cache-control']).toContain('max-age');
    expect((await get(server, '/dashboard/router.ts')).status).toBe(404);
  });

  it('answers no data without the admin token', async () => {
    for (const p of [
      '/dashboard/api/meta',
      '/dashboard/api/prompts',
      '/dashboard/api/experiments',
      '/dashboard/api/insights',
      '/dashboard/api/jobs',
      `/dashboard/api/diff?from=${V1}&to=${V2}`,
      '/dashboard/api/anything',
    ]) {
      expect((await get(server, p)).status, p).toBe(401);
      expect((await get(server, p, { authorization: 'Bearer wrong' })).status, p).toBe(401);
      expect((await get(server, p, { authorization: TOKEN })).status, p).toBe(401);
    }
    const ok = await get(server, '/dashboard/api/meta', { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(ok.body.toString())).toMatchObject({ namespace: 'default', uiUrl: 'http://ui.test' });
    // Without a configured token the API is off, not open.
    expect((await get(disabled, '/dashboard/api/meta', { authorization: 'Bearer anything' })).status).toBe(503);
    expect((await get(disabled, '/dashboard/')).status).toBe(200);
  });

  it('diffs two versions of one prompt key', async () => {
    const res = await get(server, `/dashboard/api/diff?from=${V1}&to=${V2}`, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body.toString()) as {
      from: { version: number };
      to: { version: number };
      diff: { added: number; removed: number };
    };
    expect(body).toMatchObject({ promptKey: 'k', from: { version: 1 }, to: { version: 2 }, diff: { added: 2, removed: 1 } });
    expect((await get(server, '/dashboard/api/diff?to=nope', { authorization: `Bearer ${TOKEN}` })).status).toBe(400);
  });

  it('keeps the payload small', () => {
    const p = dashboardPayload();
    console.info(`dashboard payload: ${p.bytes} bytes raw, ${p.gzip} bytes gzip`, p.files);
    expect(p.gzip).toBeLessThan(50_000);
  });
});
