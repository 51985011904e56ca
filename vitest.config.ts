import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The SDK from its sources (as tsconfig.json's paths), so tests need no build; the tests of
  // the built package (test/client/package.test.ts) load dist/ through Node itself.
  resolve: { alias: { '@prompt-optimization/client': path.resolve(__dirname, 'packages/client/src/index.ts') } },
  test: {
    include: ['test/**/*.test.ts'],
    // The reliability suite breaks things for minutes (npm run test:reliability); `npm test`
    // leaves it out rather than reporting it as skipped. RELIABILITY=1 brings it in.
    exclude: process.env.RELIABILITY === '1' ? ['**/node_modules/**'] : ['**/node_modules/**', 'test/reliability/**'],
    // The Temporal core bridge and PGlite are happiest in separate processes, not worker threads.
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
