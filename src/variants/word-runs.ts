/**
 * Verbatim copying of conversation text. A candidate that repeats a run of words from a sample
 * handed to the generator is replaying user data as instructions, which is exactly what a hostile
 * excerpt wants; runs that are already in the control are fine (an answer may quote its prompt).
 */

/** Shortest run that counts as copying: long enough that ordinary phrasing does not collide. */
export const SHARED_RUN_WORDS = 8;

/** Words as the comparison sees them: NFKC, lowercase, letters and digits only (punctuation and markup ignored). */
function words(text: string): string[] {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  );
}

function runs(text: string, size: number): Set<string> {
  const w = words(text);
  const out = new Set<string>();
  for (let i = 0; i + size <= w.length; i++) out.add(w.slice(i, i + size).join(' '));
  return out;
}

/**
 * Index of the first sample the candidate shares a run of `size` words with (runs found in the
 * control excepted), or -1.
 */
export function firstCopiedSample(candidate: string, samples: readonly string[], control: string, size = SHARED_RUN_WORDS): number {
  const candidateRuns = runs(candidate, size);
  if (candidateRuns.size === 0) return -1;
  const allowed = runs(control, size);
  return samples.findIndex((sample) => {
    for (const run of runs(sample, size)) if (candidateRuns.has(run) && !allowed.has(run)) return true;
    return false;
  });
}
