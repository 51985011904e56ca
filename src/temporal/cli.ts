import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * Finds the `temporal` CLI: TEMPORAL_CLI_PATH, else the first executable on PATH. Undefined
 * means "let the SDK download it" (works only with internet access).
 */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.TEMPORAL_CLI_PATH?.trim();
  if (explicit) {
    accessSync(explicit, constants.X_OK);
    return explicit;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'temporal');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
