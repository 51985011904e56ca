/**
 * The verdict of one check, in order of precedence (see decide.ts): promote, stop for a guardrail,
 * the sticky SRM, every variant worse, the maximum duration, and otherwise why not yet.
 */
import type { ArmStats, Decision, DecisionAction } from '../domain/types';
import { adjustedPValue, isBetter, isWorse, type Assessment } from './assessment';
import {
  allWorseReason,
  blockedReason,
  expiredReason,
  gateReason,
  guardrailStopReason,
  noDifferenceReason,
  promoteReason,
  srmReason,
  type ReasonContext,
} from './reasons';

export interface Verdict {
  action: DecisionAction;
  winner?: Assessment;
  reason: string;
}

function byEstimateDesc(a: Assessment, b: Assessment): number {
  return b.estimate.d - a.estimate.d || a.arm.arm - b.arm.arm;
}

export interface Situation {
  ctx: ReasonContext;
  assessments: Assessment[];
  eligible: (a: Assessment) => boolean;
  /** Why a variant the test calls better is not promoted (reasons.ts `blockers`). */
  blockersOf: (a: Assessment) => string[];
  srm: Decision['srm'];
  gateShortfall: string | null;
  arms: ArmStats[];
  expired: boolean;
}

export function chooseVerdict(s: Situation): Verdict {
  const { ctx, assessments } = s;
  const alpha = ctx.policy.alpha;
  const winner = assessments.filter((a) => s.eligible(a) && isBetter(a, alpha)).sort(byEstimateDesc)[0];
  if (winner) return { action: 'promote', winner, reason: promoteReason(ctx, winner) };

  const canStillWin = (a: Assessment) => !a.guard.breached && !isWorse(a, alpha);
  const loser = assessments.find((a) => a.guard.breached);
  if (loser && !assessments.some(canStillWin)) return { action: 'stop_guardrail', reason: guardrailStopReason(ctx, loser) };

  if (s.srm.mismatch) {
    return { action: s.expired ? 'keep_control' : 'continue', reason: srmReason(s.srm, s.arms, s.expired, ctx.policy.maxDurationHours) };
  }
  const best = [...assessments].sort(byEstimateDesc)[0];
  if (best && assessments.every((a) => isWorse(a, alpha))) {
    return { action: 'keep_control', reason: allWorseReason(ctx, best, assessments.length) };
  }
  if (s.expired) return { action: 'keep_control', reason: expiredReason(ctx, best, best ? adjustedPValue(best) : 1) };
  if (!best) return { action: 'continue', reason: 'No variant arms to compare against control yet; continuing.' };
  if (s.gateShortfall) return { action: 'continue', reason: gateReason(s.gateShortfall) };
  const blocked = assessments.filter((a) => isBetter(a, alpha)).sort(byEstimateDesc)[0];
  if (blocked) return { action: 'continue', reason: blockedReason(ctx, blocked, s.blockersOf(blocked)) };
  return { action: 'continue', reason: noDifferenceReason(ctx, best, adjustedPValue(best)) };
}
