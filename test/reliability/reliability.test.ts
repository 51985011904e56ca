import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarioContext } from './lib/report';
import { REPO_ROOT } from './lib/worker';
import { buildBundle, scenarios } from './run';

/**
 * The reliability scenarios in their reduced form (`--quick` sizes), as a vitest suite. Opt-in:
 * they start real worker processes, their own Temporal dev servers and databases, and take a few
 * minutes, so the default `npm test` skips them. Run with
 *
 *   RELIABILITY=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx vitest run test/reliability
 *
 * half-open is left out: it fails on a known product bug (see docs/reliability.md) and then
 * waits out a 5-minute activity timeout; the runner (`tsx test/reliability/run.ts`) has it.
 */
const enabled = process.env.RELIABILITY === '1';

describe.runIf(enabled)('reliability (reduced form, RELIABILITY=1)', () => {
  // Logs and Temporal databases next to the runner's (git-ignored); the bundle outside the repository.
  const root = path.join(REPO_ROOT, 'test-artifacts', 'reliability', `vitest-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const bundleDir = mkdtempSync(path.join(tmpdir(), 'pow-reliability-bundle-'));
  let bundlePath = '';

  beforeAll(async () => {
    mkdirSync(root, { recursive: true });
    bundlePath = await buildBundle(bundleDir);
  }, 120_000);
  afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));

  for (const [i, s] of scenarios(true)
    .filter((x) => x.name !== 'half-open')
    .entries()) {
    it(
      `${s.name}: ${s.action}`,
      async () => {
        const r = await s.run(scenarioContext(root, s.name, 20261129 + i * 1_000, bundlePath, true));
        for (const n of r.notes) console.log(`[${s.name}] ${n}`);
        expect(r.failures).toEqual([]);
        expect(r.lostDetails).toEqual([]);
        expect(r.duplicatedDetails).toEqual([]);
      },
      8 * 60_000,
    );
  }
});
