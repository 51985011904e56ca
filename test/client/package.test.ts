import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as fromSource from '@prompt-optimization/client';
import vectors from '../../packages/client/vectors/assignment.json';

/**
 * The built package (`npm run build:client`, part of `npm run build` and `npm test`), loaded the
 * way host apps load it: require() and import from the repo root through the workspace link, its
 * .d.ts files, its dependencies, and its ESM build in a context with only edge-runtime globals.
 */
const ROOT = path.resolve(__dirname, '../..');
const PKG = path.join(ROOT, 'packages/client');
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
const v = vectors.buckets[0]!;

describe('the built @prompt-optimization/client', () => {
  it('is built (npm run build:client) from the current sources', () => {
    expect(existsSync(path.join(PKG, 'dist/cjs/index.js')), 'run npm run build:client').toBe(true);
    const source = readdirSync(path.join(PKG, 'src'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.replace(/\.ts$/, ''));
    for (const dir of ['esm', 'cjs']) {
      for (const m of source) {
        expect(existsSync(path.join(PKG, `dist/${dir}/${m}.js`)), `dist/${dir}/${m}.js`).toBe(true);
        expect(existsSync(path.join(PKG, `dist/${dir}/${m}.d.ts`)), `dist/${dir}/${m}.d.ts`).toBe(true);
      }
    }
    expect(JSON.parse(readFileSync(path.join(PKG, 'dist/esm/package.json'), 'utf8'))).toEqual({ type: 'module' });
    expect(JSON.parse(readFileSync(path.join(PKG, 'dist/cjs/package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
  });

  it('require() from the repo root gets the CommonJS build with the same API as the sources', () => {
    const out = node([
      '-e',
      `
      const c = require('@prompt-optimization/client');
      console.log(JSON.stringify({ file: require.resolve('@prompt-optimization/client'), keys: Object.keys(c).sort(),
        bucket: c.assignmentBucket(${JSON.stringify(v.experimentId)}, ${JSON.stringify(v.subjectId)}), create: typeof c.createPromptClient }));`,
    ]);
    const r = JSON.parse(out) as { file: string; keys: string[]; bucket: number; create: string };
    expect(r.file).toBe(path.join(PKG, 'dist/cjs/index.js'));
    expect(r.keys).toEqual(Object.keys(fromSource).sort());
    expect(r).toMatchObject({ bucket: v.bucket, create: 'function' });
  });

  it('import from the repo root gets the ESM build', () => {
    const out = node([
      '--input-type=module',
      '-e',
      `
      import * as c from '@prompt-optimization/client';
      console.log(JSON.stringify({ url: import.meta.resolve('@prompt-optimization/client'), keys: Object.keys(c).sort(),
        bucket: c.assignmentBucket(${JSON.stringify(v.experimentId)}, ${JSON.stringify(v.subjectId)}) }));`,
    ]);
    const r = JSON.parse(out) as { url: string; keys: string[]; bucket: number };
    expect(r.url).toBe(`file://${path.join(PKG, 'dist/esm/index.js')}`);
    expect(r.keys).toEqual(Object.keys(fromSource).sort());
    expect(r.bucket).toBe(v.bucket);
  });

  it('runs where only fetch, WebCrypto and timers exist (no process, Buffer, require or Node modules)', () => {
    const out = node([
      '--experimental-vm-modules',
      '--no-warnings',
      'test/client/edge-sandbox.mjs',
      path.join(PKG, 'vectors/assignment.json'),
    ]);
    const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(r.globals).toEqual({ process: 'undefined', Buffer: 'undefined', require: 'undefined' });
    expect(r.bucket).toBe(r.expected);
    expect(r.served).toMatchObject({ content: 'Hi edge', source: 'fallback', fallbackReason: 'not_ready' });
    expect(r.externalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r).toMatchObject({ dropped: 1, closedOk: false });
  });

  it('has one small runtime dependency, pinned; the builds import no Node built-in', () => {
    const pkg = JSON.parse(readFileSync(path.join(PKG, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      exports: unknown;
    };
    expect(pkg.dependencies).toEqual({ '@noble/hashes': '1.8.0' });
    for (const dir of ['esm', 'cjs']) {
      for (const f of readdirSync(path.join(PKG, `dist/${dir}`)).filter((x) => x.endsWith('.js'))) {
        const code = readFileSync(path.join(PKG, `dist/${dir}/${f}`), 'utf8');
        const imported = [...code.matchAll(/(?:from\s+|require\()\s*["']([^"']+)["']/g)].map((m) => m[1]!);
        expect(
          imported.filter((s) => !s.startsWith('.') && s !== '@noble/hashes/legacy'),
          `${dir}/${f}`,
        ).toEqual([]);
      }
    }
  });
});
