/**
 * What decide() accepts, checked once at the door. The engine never emits NaN or Infinity (the
 * decision is stored as JSON) and never lets a malformed value stand in for evidence:
 *
 * - arm counts come from SQL and can arrive as numeric strings when the JSON layer is bypassed, so
 *   numeric strings are read; other non-finite or negative counts become 0 (no data, no evidence);
 * - policy fields that are missing take their defaults (unit-bound ones from the metric), values
 *   out of range are a typed error, since a policy is configuration and a typo must not decide;
 * - memory p-values outside [0, 1] are refused: the memory is evidence carried from earlier checks,
 *   and a corrupt value (a negative p-value) would otherwise read as overwhelming evidence.
 */
import type { ArmStats, DecisionMemory, ExperimentPolicy, GuardrailPolicy, OutcomeCounts, TopicStats, WindowStats } from '../domain/types';
import { DEFAULT_POLICY, METRIC_DEFAULTS } from '../domain/types';

export interface DecideInput {
  arms: ArmStats[];
  /** Any subset of the policy; missing fields take the defaults. */
  policy: Partial<ExperimentPolicy>;
  memory?: DecisionMemory;
  /** Hours since the experiment started; Infinity means "long past every limit". */
  elapsedHours: number;
}

export interface CheckedInput {
  arms: ArmStats[];
  policy: ExperimentPolicy;
  memory: DecisionMemory;
  elapsedHours: number;
}

/** A decide() input that cannot be read without guessing; `field` names what is wrong. */
export class InvalidDecisionInput extends Error {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'InvalidDecisionInput';
  }
}

function finiteNumber(value: unknown): number | null {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : null;
}

function count(value: unknown): number {
  return Math.max(0, finiteNumber(value) ?? 0);
}

/** Latency / tokens: missing or unusable values mean "no data", not zero. */
function optionalNonNegative(value: unknown): number | null {
  const number = finiteNumber(value);
  return number !== null && number >= 0 ? number : null;
}

function optionalCount(value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : count(value);
}

function outcomeCounts(raw: Partial<OutcomeCounts>): OutcomeCounts {
  const n = count(raw.n);
  return {
    n,
    successes: Math.min(n, count(raw.successes)),
    ratingN: Math.min(n, count(raw.ratingN)),
    ratingSum: count(raw.ratingSum),
    ratingSumSq: count(raw.ratingSumSq),
    errors: Math.min(n, count(raw.errors)),
  };
}

function topicStats(raw: unknown): TopicStats[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  return raw
    .filter((t): t is TopicStats => typeof t === 'object' && t !== null)
    .map((t) => ({ topic: typeof t.topic === 'string' ? t.topic : null, ...outcomeCounts(t) }))
    .filter((t) => t.n > 0);
}

function windowStats(raw: unknown): WindowStats | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const w = raw as Partial<WindowStats>;
  const hours = finiteNumber(w.hours);
  return hours !== null && hours > 0 ? { hours, ...outcomeCounts(w) } : undefined;
}

function checkArm(arm: ArmStats): ArmStats {
  const outcome = outcomeCounts(arm);
  const latencyN = optionalCount(arm.latencyN);
  const tokensN = optionalCount(arm.tokensN);
  const version = finiteNumber(arm.version);
  const topics = topicStats(arm.topics);
  const recent = windowStats(arm.recent);
  return {
    arm: Math.round(finiteNumber(arm.arm) ?? -1),
    versionId: String(arm.versionId),
    ...(version !== null && version > 0 ? { version: Math.round(version) } : {}),
    weight: count(arm.weight),
    ...outcome,
    latencyP95: optionalNonNegative(arm.latencyP95),
    tokensMean: optionalNonNegative(arm.tokensMean),
    ...(latencyN !== undefined
      ? {
          latencyN,
          latencySlow: Math.min(latencyN, count(arm.latencySlow)),
          latencyThreshold: optionalNonNegative(arm.latencyThreshold),
        }
      : {}),
    ...(tokensN !== undefined ? { tokensN, tokensSum: count(arm.tokensSum), tokensSumSq: count(arm.tokensSumSq) } : {}),
    ...(topics ? { topics } : {}),
    ...(recent ? { recent } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Policy.

function numberField(value: unknown, fallback: number, field: string, valid: (n: number) => boolean, rule: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !valid(value)) {
    throw new InvalidDecisionInput(`policy.${field}`, `must be ${rule}, got ${String(value)}`);
  }
  return value;
}

const positive = (n: number) => Number.isFinite(n) && n > 0;
const nonNegative = (n: number) => Number.isFinite(n) && n >= 0;
const openUnit = (n: number) => Number.isFinite(n) && n > 0 && n < 1;
/** Hours limits: a finite non-negative number, or Infinity for "no limit". */
const hoursLimit = (n: number) => !Number.isNaN(n) && n >= 0;

function checkGuardrails(g: Partial<GuardrailPolicy> | undefined): GuardrailPolicy {
  const d = DEFAULT_POLICY.guardrails;
  const margin = (key: keyof GuardrailPolicy) => numberField(g?.[key], d[key], `guardrails.${key}`, nonNegative, 'a finite number >= 0');
  return { errorRateMargin: margin('errorRateMargin'), latencyP95Margin: margin('latencyP95Margin'), tokensMargin: margin('tokensMargin') };
}

function checkPolicy(p: Partial<ExperimentPolicy>): ExperimentPolicy {
  if (p.metric !== undefined && p.metric !== 'success' && p.metric !== 'rating') {
    throw new InvalidDecisionInput('policy.metric', `must be "success" or "rating", got ${String(p.metric)}`);
  }
  const metric = p.metric ?? DEFAULT_POLICY.metric;
  const d = DEFAULT_POLICY;
  const field = <K extends keyof ExperimentPolicy>(key: K, valid: (n: number) => boolean, rule: string, fallback = d[key] as number) =>
    numberField(p[key], fallback, key, valid, rule);
  return {
    metric,
    alpha: field('alpha', openUnit, 'in (0, 1)'),
    expectedEffect: field('expectedEffect', positive, 'a finite number > 0', METRIC_DEFAULTS[metric].expectedEffect),
    minSamplesPerArm: Math.max(1, field('minSamplesPerArm', nonNegative, 'a finite number >= 0')),
    minSuccessesPerArm: field('minSuccessesPerArm', nonNegative, 'a finite number >= 0'),
    srmPValue: field('srmPValue', openUnit, 'in (0, 1)'),
    guardrails: checkGuardrails(p.guardrails),
    minDurationHours: field('minDurationHours', hoursLimit, 'a number of hours >= 0'),
    recentWindowHours: field('recentWindowHours', positive, 'a finite number of hours > 0'),
    topicAdjustment: p.topicAdjustment ?? d.topicAdjustment,
    maxDurationHours: field('maxDurationHours', hoursLimit, 'a number of hours >= 0'),
    checkIntervalSeconds: field('checkIntervalSeconds', positive, 'a finite number > 0'),
    requireApproval: p.requireApproval ?? d.requireApproval,
    // Not used by decide(): the rollout after a promotion is checked by the policy schema and SQL.
    rollout: p.rollout ?? d.rollout,
  };
}

// ---------------------------------------------------------------------------------------------
// Memory.

function checkProbability(value: unknown, field: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidDecisionInput(field, `must be a probability in [0, 1], got ${String(value)}`);
  }
  return value;
}

function checkMemory(memory: DecisionMemory | undefined): DecisionMemory {
  const pValues: Record<string, number> = {};
  for (const [id, p] of Object.entries(memory?.pValues ?? {})) pValues[id] = checkProbability(p, `memory.pValues.${id}`);
  const out: DecisionMemory = { pValues };
  if (memory?.directional) {
    out.directional = {};
    for (const [id, d] of Object.entries(memory.directional)) {
      out.directional[id] = {
        up: checkProbability(d?.up, `memory.directional.${id}.up`),
        down: checkProbability(d?.down, `memory.directional.${id}.down`),
      };
    }
  }
  if (memory?.srm) {
    out.srm = {
      countsP: checkProbability(memory.srm.countsP, 'memory.srm.countsP'),
      topicsP: checkProbability(memory.srm.topicsP, 'memory.srm.topicsP'),
      ...(memory.srm.tripped ? { tripped: memory.srm.tripped } : {}),
    };
  }
  return out;
}

function checkElapsed(value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new InvalidDecisionInput('elapsedHours', `must be a number of hours, got ${String(value)}`);
  }
  // A clock that runs slightly behind the experiment's start gives a small negative value.
  return Math.max(0, value);
}

export function checkInput(input: DecideInput): CheckedInput {
  if (!Array.isArray(input.arms)) throw new InvalidDecisionInput('arms', 'must be an array of arm statistics');
  return {
    arms: input.arms.map(checkArm).sort((a, b) => a.arm - b.arm),
    policy: checkPolicy(input.policy ?? {}),
    memory: checkMemory(input.memory),
    elapsedHours: checkElapsed(input.elapsedHours),
  };
}
