import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** What this module needs to know of another process. */
export interface ProcessInfo {
  argv: string[];
  ppid: number;
}

/** A process that runs (a zombie, dead but not yet reaped by its parent, does not count). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !(process.platform === 'linux' && statFields(pid)?.[0] === 'Z');
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** argv and parent of a live process: /proc on Linux, `ps` elsewhere; undefined when it is gone. */
export function processInfo(pid: number): ProcessInfo | undefined {
  if (!isAlive(pid)) return undefined;
  if (process.platform === 'linux') {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const ppid = Number(statFields(pid)?.[1]);
      return Number.isInteger(ppid) ? { argv, ppid } : undefined;
    } catch {
      return undefined;
    }
  }
  try {
    const out = execFileSync('ps', ['-o', 'ppid=,command=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    const m = /^(\d+)\s+(.*)$/.exec(out);
    return m ? { ppid: Number(m[1]), argv: m[2]!.split(/\s+/) } : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function terminate(pid: number, graceMs: number): Promise<'terminated' | 'killed' | 'gone'> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  for (const until = Date.now() + graceMs; Date.now() < until; await sleep(100)) {
    if (!isAlive(pid)) return 'terminated';
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'terminated';
  }
  while (isAlive(pid)) await sleep(50);
  return 'killed';
}
