import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';

/**
 * The dashboard's static files: one page shell (public, no data in it), its script and style,
 * and uPlot, each precompressed, with an ETag, and the shell with headers that keep it unframed
 * and talking only to its own origin.
 */
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
    ['/favicon.svg', path.join(dir, 'favicon.svg'), 'image/svg+xml', 'public, max-age=86400'],
    // The shell asks for these with ?v=<installed uPlot version>, so a long max-age is safe.
    ['/vendor/uPlot.iife.min.js', path.join(uplotDir, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8', 'public, max-age=604800'],
    ['/vendor/uPlot.min.css', path.join(uplotDir, 'uPlot.min.css'), 'text/css; charset=utf-8', 'public, max-age=604800'],
  ];
  const assets = new Map<string, Asset>();
  for (const [route, file, type, cacheControl] of files) {
    let body = readFileSync(file);
    if (route === '/') body = Buffer.from(body.toString('utf8').replaceAll('__UPLOT_VERSION__', uplotVersion()));
    assets.set(route, {
      type,
      body,
      gzip: gzipSync(body, { level: 9 }),
      cacheControl,
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

/** Serves the shell at `/` (redirecting to the trailing slash) and its files. */
export function assetsRouter(logger?: Logger): express.Router {
  const router = express.Router();
  let assets: Map<string, Asset> | undefined;

  const serve = (name: string) => (req: Request, res: Response) => {
    try {
      assets ??= loadAssets();
    } catch (err) {
      logger?.error({ err: (err as Error).message }, 'dashboard assets missing');
      res.status(500).type('text/plain').send('dashboard assets not found');
      return;
    }
    const a = assets.get(name)!;
    res.set({
      'content-type': a.type,
      'cache-control': a.cacheControl,
      etag: a.etag,
      vary: 'accept-encoding',
      'x-content-type-options': 'nosniff',
    });
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
  router.get('/favicon.svg', serve('/favicon.svg'));
  router.get('/vendor/uPlot.iife.min.js', serve('/vendor/uPlot.iife.min.js'));
  router.get('/vendor/uPlot.min.css', serve('/vendor/uPlot.min.css'));

  return router;
}

let uplotVersionCache: string | undefined;
/** The installed uPlot version (the shell asks for its files with ?v=<version>). */
export function uplotVersion(): string {
  uplotVersionCache ??= (JSON.parse(readFileSync(require.resolve('uplot/package.json'), 'utf8')) as { version: string }).version;
  return uplotVersionCache;
}
