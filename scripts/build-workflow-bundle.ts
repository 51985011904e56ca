/**
 * Prebuilds the workflow bundle (webpack, through the Temporal SDK's own bundler) so a production
 * worker loads it with `workflowBundle: { codePath }` instead of bundling at every start.
 *
 *   tsx scripts/build-workflow-bundle.ts [--out dist/workflow-bundle.js] [--workflows src/workflows/index.ts]
 *
 * The worker uses the file when WORKFLOW_BUNDLE_PATH points at it (src/worker/main.ts); the Docker
 * image builds it at build time and sets WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js.
 * The bundle must be built from the same workflow code as the histories it replays: rebuild it
 * whenever src/workflows changes (the image build always does).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

export const DEFAULT_WORKFLOWS_PATH = path.resolve(__dirname, '../src/workflows/index.ts');
export const DEFAULT_BUNDLE_PATH = path.resolve(__dirname, '../dist/workflow-bundle.js');

export interface BuildBundleOptions {
  /** The workflows entry point (every exported function is a workflow). */
  workflowsPath?: string;
  /** Where to write the bundle; created with its folder. */
  outPath?: string;
}

export interface BuiltBundle {
  outPath: string;
  bytes: number;
}

/** Bundles the workflows and writes the code to outPath. */
export async function buildWorkflowBundle(options: BuildBundleOptions = {}): Promise<BuiltBundle> {
  const workflowsPath = path.resolve(options.workflowsPath ?? DEFAULT_WORKFLOWS_PATH);
  const outPath = path.resolve(options.outPath ?? DEFAULT_BUNDLE_PATH);
  // Same options as the worker (src/worker/service.ts): no workflow interceptors, default payload converter.
  const { code } = await bundleWorkflowCode({ workflowsPath });
  await mkdir(path.dirname(outPath), { recursive: true });
  await writeFile(outPath, code);
  return { outPath, bytes: Buffer.byteLength(code) };
}

function parseArgs(argv: string[]): BuildBundleOptions {
  const options: BuildBundleOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (!v) throw new Error(`${flag} needs a path`);
      return v;
    };
    if (flag === '--out') options.outPath = value();
    else if (flag === '--workflows') options.workflowsPath = value();
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: tsx scripts/build-workflow-bundle.ts [--out dist/workflow-bundle.js] [--workflows src/workflows/index.ts]');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

if (require.main === module) {
  (async () => {
    const { outPath, bytes } = await buildWorkflowBundle(parseArgs(process.argv.slice(2)));
    const shown = path.relative(process.cwd(), outPath);
    console.log(`workflow bundle written: ${shown.startsWith('..') ? outPath : shown} (${(bytes / 1024).toFixed(0)} KiB)`);
  })().catch((err) => {
    console.error(`workflow bundle failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
