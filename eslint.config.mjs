// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Workflow code is replayed: it must not do I/O or read the clock/randomness outside the SDK. */
const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);
const ioPackages = ['pg', '@electric-sql/pglite', '@supabase/supabase-js', 'express', 'openai', 'pino', 'ws', 'prom-client'];

/**
 * The layers of src/, lowest first. A module may import its own layer and the ones it lists;
 * entry points (cli.ts, main.ts) compose everything and are exempt. docs/architecture.md
 * explains each layer.
 */
const LAYERS = {
  domain: [],
  tools: [],
  stats: ['domain'],
  variants: ['domain'],
  store: ['domain'],
  config: ['domain', 'store'],
  temporal: ['domain', 'workflows', 'tools'],
  workflows: ['domain'],
  activities: ['domain', 'stats', 'variants', 'store', 'temporal'],
  http: ['domain', 'store', 'temporal', 'workflows', 'activities'],
  dashboard: ['domain', 'store', 'stats', 'temporal', 'workflows', 'http'],
  worker: ['domain', 'stats', 'variants', 'store', 'config', 'temporal', 'workflows', 'activities', 'http', 'dashboard'],
  starter: ['domain', 'stats', 'store', 'config', 'temporal', 'workflows', 'activities', 'worker'],
  demo: ['domain', 'stats', 'variants', 'store', 'config', 'temporal', 'workflows', 'activities', 'worker', 'starter'],
};

/** Import patterns that reach a layer from a file one folder below src/ (e.g. src/http/app.ts). */
function layerPatterns(layer) {
  return [`../${layer}`, `../${layer}/*`, `../../${layer}`, `../../${layer}/*`];
}

function layerRule(layer, allowed) {
  const forbidden = Object.keys(LAYERS).filter((l) => l !== layer && !allowed.includes(l));
  return {
    files: [`src/${layer}/**/*.ts`],
    ignores: ['src/**/cli.ts', 'src/**/main.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((l) => ({
            group: layerPatterns(l),
            message: `src/${layer} may import only ${allowed.length ? allowed.join(', ') : 'nothing of ours'} (see eslint.config.mjs LAYERS).`,
          })),
        },
      ],
    },
  };
}

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'test/histories/**',
      '.data/**',
      'src/dashboard/public/**',
      'packages/*/dist/**',
      'examples/**/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 100, skipBlankLines: true, skipComments: true }] },
  },
  ...Object.entries(LAYERS)
    .filter(([layer]) => layer !== 'workflows')
    .map(([layer, allowed]) => layerRule(layer, allowed)),
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
            {
              group: ['../activities', '../activities/*', '../store', '../store/*', '../worker/*'],
              allowTypeImports: true,
              message: 'Workflows may only import types from activities/store/worker.',
            },
            ...['stats', 'variants', 'config', 'temporal', 'http', 'dashboard', 'starter', 'demo'].map((l) => ({
              group: layerPatterns(l),
              message: 'Workflows import only domain (and types from activities/store/worker).',
            })),
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Pass configuration in workflow arguments.' },
        { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'fetch', message: 'Do I/O in an activity.' },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message: 'Use workflow time (new Date() inside the sandbox is replay-safe, but prefer workflowInfo()).',
        },
        { object: 'Math', property: 'random', message: 'Use uuid4() or deterministic inputs.' },
        { object: 'console', property: 'log', message: 'Use log from @temporalio/workflow.' },
      ],
    },
  },
  {
    // The SDK runs on Node >= 20 and on runtimes that only have fetch and WebCrypto (edge functions).
    files: ['packages/client/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'The SDK must run where only fetch and WebCrypto exist: no Node built-ins.',
          })),
          patterns: [
            { group: ['../../../src/*', '../../src/*'], message: 'The SDK is its own package: it imports nothing of the worker.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Not on edge runtimes: take it as an option.' },
        { name: 'Buffer', message: 'Not on edge runtimes: use Uint8Array / TextEncoder.' },
        { name: 'require', message: 'ESM and CJS builds come from the same imports.' },
      ],
    },
  },
);
