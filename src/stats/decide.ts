/**
 * The experiment decision engine: one pure function called at every check (every 15 minutes for
 * up to 14 days) with the cumulative arm statistics and the memory returned by the previous call.
 *
 * Why not "confidence > 90% and n > 100": that rule is a fixed-horizon test evaluated ~1,300
 * times, so a variant that is no better gets promoted about half the time. Here every p-value is
 * an always-valid mSPRT p-value (see msprt.ts), Holm-corrected across variants, so the chance of
 * promoting a variant that is not better stays <= alpha no matter how often we look.
 *
 * Order of precedence at each check:
 *   1. promote     - an eligible variant is significantly better at this check (Holm-adjusted
 *                    one-sided always-valid p <= alpha, estimate > 0); the best estimate wins.
 *   2. stop_guardrail - a variant is shown to breach a guardrail and no variant can still win.
 *   3. continue    - the sample ratio check has tripped (sticky): nothing can be promoted
 *                    (keep_control once the maximum duration is reached).
 *   4. keep_control - every variant is significantly worse, or the maximum duration is reached.
 *   5. continue    - otherwise, with the reason a promotion is not yet possible.
 * Eligible means: every arm at the minimum sample (gates), the minimum duration passed, no SRM
 * trip, no guardrail past its margin, the error rate shown within its margin, and the recent
 * window still a win (recent.ts). The estimate is compared within topics where the arms carry
 * topic counts (adjust.ts).
 *
 * Why "at this check": the running minimum of the p-value is valid, but a promotion resting on a
 * look days ago would ship an effect that may since have faded. Requiring the always-valid bound
 * to exclude 0 now is stricter, so the error guarantee still holds.
 *
 * Evidence is directional (see updateDirectional in msprt.ts): "better" and "worse" each have
 * their own one-sided mixture, running minimum and Holm family, so P(promoting any variant that is
 * not better) <= alpha, and likewise for declaring a variant worse. `pValue` in the assessment is
 * the smaller of the two running minima (never increases); `adjustedPValue` is the Holm-adjusted
 * p for the direction of the current estimate; `currentPValue` is this check's Holm-adjusted
 * "better" p, which a promotion needs <= alpha. `ci` is the two-sided confidence sequence at this
 * check, for reading.
 */
import type { Decision, DecisionMemory } from '../domain/types';
import { armGateShortfall, assessVariant, toPublic, withHolm, type Assessment } from './assessment';
import { checkInput, type DecideInput } from './input';
import type { DirectionalPValues } from './msprt';
import { blockers, type ReasonContext } from './reasons';
import { checkSrm } from './srm-check';
import { chooseVerdict } from './verdict';

export { InvalidDecisionInput, type DecideInput } from './input';

export const ENGINE = 'msprt-v2';

export interface DecideOutput {
  decision: Decision;
  memory: DecisionMemory;
}

function nextMemory(previous: DecisionMemory, assessments: Assessment[], srm: DecisionMemory['srm']): DecisionMemory {
  const pValues: Record<string, number> = { ...previous.pValues };
  const directional: Record<string, DirectionalPValues> = { ...(previous.directional ?? {}) };
  for (const a of assessments) {
    pValues[a.arm.versionId] = a.pValue;
    directional[a.arm.versionId] = a.directional;
  }
  return { pValues, directional, ...(srm ? { srm } : {}) };
}

/**
 * Decide what to do with an experiment at one check. Pure: same input, same output; the caller
 * persists `memory` and passes it back next time (running-minimum p-values, the SRM trip).
 * Throws InvalidDecisionInput for a policy or memory it cannot read without guessing.
 */
export function decide(input: DecideInput): DecideOutput {
  const { arms, policy, memory, elapsedHours } = checkInput(input);
  const expired = elapsedHours >= policy.maxDurationHours;
  const srmCheck = checkSrm(arms, policy, memory, elapsedHours);
  const srm = srmCheck.status;
  const control = arms.find((a) => a.arm === 0);

  if (!control) {
    const decision: Decision = {
      action: expired ? 'keep_control' : 'continue',
      reason: 'No control arm (arm 0) in the statistics; nothing can be compared.',
      engine: ENGINE,
      variants: [],
      srm,
      gatesMet: false,
    };
    return { decision, memory: nextMemory(memory, [], srmCheck.memory) };
  }

  const variants = arms.filter((a) => a.arm !== 0);
  const assessments = withHolm(variants.map((v) => assessVariant(control, v, policy, memory, elapsedHours)));
  const gateShortfall = arms.map((a) => armGateShortfall(a, policy)).find((s) => s !== null) ?? null;
  const gatesMet = gateShortfall === null && variants.length > 0;
  const ctx: ReasonContext = { control, metric: policy.metric, policy, family: variants.length, elapsedHours };
  // What stands between each variant and a promotion, worked out once per check.
  const blocking = new Map(assessments.map((a) => [a, blockers(ctx, a)]));
  const blockersOf = (a: Assessment) => blocking.get(a) ?? [];
  const eligible = (a: Assessment) => gatesMet && !srm.mismatch && blockersOf(a).length === 0;
  const verdict = chooseVerdict({ ctx, assessments, eligible, blockersOf, srm, gateShortfall, arms, expired });

  const decision: Decision = {
    action: verdict.action,
    reason: verdict.reason,
    engine: ENGINE,
    variants: assessments.map((a) => toPublic(a, eligible(a))),
    srm,
    gatesMet,
  };
  if (verdict.winner) decision.winner = { arm: verdict.winner.arm.arm, versionId: verdict.winner.arm.versionId };
  return { decision, memory: nextMemory(memory, assessments, srmCheck.memory) };
}
