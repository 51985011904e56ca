import { inject } from 'vitest';
import type { ToolName } from './provision-tools';

/** The path of a tool this test needs; throws (the test fails) with the reason it is missing. */
export function requireTool(name: ToolName): string {
  const status = inject('tools')[name];
  if ('missing' in status)
    throw new Error(`${status.missing}. The test command (npm test) installs it where it can; this test cannot run without it.`);
  return status.path;
}
