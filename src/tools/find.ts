import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** True for a regular file this process may execute. */
export function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The first executable named `bin` in the directories of `pathVar` (a PATH value), or undefined.
 * The PATH is an argument, not read here: callers pass the one they were given, so a test (or an
 * operator simulating a bare machine) decides what is visible.
 */
export function findOnPath(bin: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, bin);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}
