// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Workflow code is replayed: it must not do I/O or read the clock/randomness outside the SDK. */
const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);
const ioPackages = ['pg', '@electric-sql/pglite', '@supabase/supabase-js', 'express', 'openai', 'pino', 'ws', 'prom-client'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'test/histories/**', '**/.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, ...ioPackages].map((name) => ({
            name,
            message: 'Workflow code must be deterministic: no Node built-ins or I/O libraries. Do it in an activity.',
          })),
          patterns: [
            { group: ['../activities/*', '../store/*', '../worker/*'], allowTypeImports: true,
              message: 'Workflows may only import types from activities/store/worker.' },
          ],
        },
      ],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'Pass configuration in workflow arguments.' },
        { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'fetch', message: 'Do I/O in an activity.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Use workflow time (new Date() inside the sandbox is replay-safe, but prefer workflowInfo()).' },
        { object: 'Math', property: 'random', message: 'Use uuid4() or deterministic inputs.' },
        { object: 'console', property: 'log', message: 'Use log from @temporalio/workflow.' },
      ],
    },
  },
  {
    // The SDK runs on Node >= 20 and on runtimes that only have fetch and WebCrypto (edge functions).
    files: ['packages/client/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'The SDK must run where only fetch and WebCrypto exist: no Node built-ins.' })),
        patterns: [{ group: ['../../../src/*', '../../src/*'], message: 'The SDK is its own package: it imports nothing of the worker.' }],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'Not on edge runtimes: take it as an option.' },
        { name: 'Buffer', message: 'Not on edge runtimes: use Uint8Array / TextEncoder.' },
        { name: 'require', message: 'ESM and CJS builds come from the same imports.' },
      ],
    },
  },
);
