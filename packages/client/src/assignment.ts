/**
 * Local assignment, byte for byte the SQL `public.assign_prompt`: the bucket is the first 32
 * bits of md5("<experimentId>:<subjectId>") (UTF-8, as PostgreSQL's md5(text) hashes a UTF8
 * database's bytes) divided by 2^32, compared with the running sum of the arm weights in arm
 * order, summed in double precision like the SQL loop. Shared test vectors
 * (packages/client/vectors/assignment.json) pin the hash on both sides.
 *
 * md5 comes from @noble/hashes (audited, no dependencies, pure JS): edge runtimes have WebCrypto
 * only, and WebCrypto has no MD5.
 */
import { md5 } from '@noble/hashes/legacy';

const utf8 = new TextEncoder();
const TWO_POW_32 = 4294967296;

/** The subject's bucket in [0, 1) for an experiment (SQL: internal.assignment_bucket). */
export function assignmentBucket(experimentId: string, subjectId: string): number {
  const h = md5(utf8.encode(`${experimentId}:${subjectId}`));
  return (h[0]! * 16777216 + h[1]! * 65536 + h[2]! * 256 + h[3]!) / TWO_POW_32;
}

/** The first arm whose cumulative weight exceeds the bucket; the last arm takes the rounding remainder. */
export function pickArm<T extends { weight: number }>(arms: readonly T[], bucket: number): T | undefined {
  let cumulative = 0;
  for (const arm of arms) {
    cumulative += arm.weight;
    if (bucket < cumulative) return arm;
  }
  return arms[arms.length - 1];
}

/** Subject ids assign_prompt accepts (1-200 characters); others are served the active version. */
export function validSubject(subjectId: unknown): subjectId is string {
  return typeof subjectId === 'string' && subjectId.length >= 1 && subjectId.length <= 200;
}
