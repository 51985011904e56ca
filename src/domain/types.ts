/**
 * Domain types shared by the pure modules (stats, analysis, variants), the activities and the
 * store. Plain data only: everything here crosses Temporal and HTTP boundaries as JSON.
 */

export type Metric = 'success' | 'rating';

/**
 * Aggregated outcomes of one experiment arm, as computed by SQL (`experiment_arm_stats`): the
 * outcome counts of all its conversations, plus telemetry.
 */
export interface ArmStats extends OutcomeCounts {
  /** 0 is control; 1..k are variants. */
  arm: number;
  versionId: string;
  /** The prompt version number (v3), for reasons people can read; absent in older snapshots. */
  version?: number;
  weight: number;
  latencyP95: number | null;
  tokensMean: number | null;
  // The fields below feed the sequential guardrails, the topic adjustment and the recent-window
  // check. They are optional because snapshots written before them lack them; the engine then
  // falls back to what the older fields allow (and says so).
  /** Conversations with a recorded latency. */
  latencyN?: number;
  /**
   * This arm's conversations slower than `latencyThreshold`, which is (1 + latencyP95Margin) x
   * control's p95: if the arm's p95 is within the margin, at most 5% of its conversations are.
   */
  latencySlow?: number;
  latencyThreshold?: number | null;
  /** Conversations with a token count, with the sum and sum of squares of those counts. */
  tokensN?: number;
  tokensSum?: number;
  tokensSumSq?: number;
  /** The same outcome counts per topic (the most frequent topics; the rest pooled as null). */
  topics?: TopicStats[];
  /** Outcome counts over the recent window only (the last `recentHours` hours). */
  recent?: WindowStats;
}

/** Outcome counts of one group of conversations (an arm, a topic within it, or a time window). */
export interface OutcomeCounts {
  /** Conversations logged. */
  n: number;
  successes: number;
  /** Conversations with a rating, and the sum and sum of squares of those ratings (1..5). */
  ratingN: number;
  ratingSum: number;
  ratingSumSq: number;
  /** Conversations that ended in an error. */
  errors: number;
}

export interface TopicStats extends OutcomeCounts {
  /** Topic as logged (untrusted text: shown escaped, never put into a reason); null = none or pooled. */
  topic: string | null;
}

export interface WindowStats extends OutcomeCounts {
  hours: number;
}

export interface GuardrailPolicy {
  /** A variant whose error rate exceeds control's by more than this (absolute) is a loser. */
  errorRateMargin: number;
  /** Relative margin on p95 latency (0.2 = 20% slower than control). */
  latencyP95Margin: number;
  /** Relative margin on mean tokens. */
  tokensMargin: number;
}

export interface ExperimentPolicy {
  metric: Metric;
  /** Type I error of the always-valid test (per family, Holm-corrected across variants). */
  alpha: number;
  /** Expected absolute effect size; tunes the mSPRT mixing variance (tau = expectedEffect). */
  expectedEffect: number;
  minSamplesPerArm: number;
  minSuccessesPerArm: number;
  /** Sample-ratio-mismatch threshold: chi-square p below this blocks promotion. */
  srmPValue: number;
  guardrails: GuardrailPolicy;
  /**
   * No promotion before this much time has passed, whatever the evidence: behaviour differs by
   * hour and weekday, and an effect seen over less than one daily cycle may not hold.
   */
  minDurationHours: number;
  /**
   * A promotion also needs the effect over this most recent window to still look like a win, so
   * a novelty effect that is fading is not shipped on the strength of its first days.
   */
  recentWindowHours: number;
  /** Compare arms within topics (post-stratification), which removes topic-mix noise and bias. */
  topicAdjustment: boolean;
  maxDurationHours: number;
  checkIntervalSeconds: number;
  /** When true a human must approve a promotion (the `approvePromotion` update). */
  requireApproval: boolean;
  /** What a promotion does to serving: a guarded rollout (issue 15). */
  rollout: RolloutPlan;
}

/** One step of a ramp: the promoted version's share of traffic, held at least `holdHours`. */
export interface RolloutStep {
  share: number;
  holdHours: number;
}

/**
 * How a promotion reaches everyone. The winner ramps through `steps` (shares increasing to 1);
 * the previous version keeps at least `holdbackShare` of traffic until `watchHours` after the
 * promotion, and the watch rolls back when the new version is shown worse than that holdback by
 * more than `margin` (in the metric's unit) or breaks a guardrail. `holdbackShare` 0 with one step
 * is the instant switch (no rollout, no watch).
 */
export interface RolloutPlan {
  steps: RolloutStep[];
  holdbackShare: number;
  watchHours: number;
  margin: number;
}

export const DEFAULT_ROLLOUT: RolloutPlan = {
  steps: [{ share: 1, holdHours: 0 }],
  holdbackShare: 0.05,
  watchHours: 7 * 24,
  margin: 0,
};

/** A plan that leaves the previous version nothing: promotion is the instant switch. */
export const INSTANT_SWITCH: RolloutPlan = { steps: [{ share: 1, holdHours: 0 }], holdbackShare: 0, watchHours: 0, margin: 0 };

export const DEFAULT_POLICY: ExperimentPolicy = {
  metric: 'success',
  alpha: 0.05,
  expectedEffect: 0.05,
  minSamplesPerArm: 100,
  minSuccessesPerArm: 25,
  srmPValue: 0.001,
  guardrails: { errorRateMargin: 0.02, latencyP95Margin: 0.25, tokensMargin: 0.3 },
  minDurationHours: 24,
  recentWindowHours: 24,
  topicAdjustment: true,
  maxDurationHours: 14 * 24,
  checkIntervalSeconds: 15 * 60,
  requireApproval: false,
  rollout: DEFAULT_ROLLOUT,
};

/**
 * Defaults that depend on the metric's unit. `expectedEffect` is an absolute difference in the
 * metric's own unit: 5 points of success rate, or 0.15 stars on the 1-5 rating scale (a typical
 * prompt change moves a mean rating by a tenth or two; 0.05 stars would tune the test for lifts
 * nobody ships and make it slow on the ones that matter).
 */
export const METRIC_DEFAULTS: Record<Metric, { expectedEffect: number }> = {
  success: { expectedEffect: 0.05 },
  rating: { expectedEffect: 0.15 },
};

export type DecisionAction =
  /** Not enough evidence yet: keep collecting. */
  | 'continue'
  /** A variant wins: promote `winner`. */
  | 'promote'
  /** Concluded without a winner (max duration reached, or every variant lost): keep control. */
  | 'keep_control'
  /** A variant broke a guardrail badly enough to end the experiment early. */
  | 'stop_guardrail';

export interface VariantAssessment {
  arm: number;
  versionId: string;
  /** Estimated difference variant - control on the metric. */
  estimate: number;
  /** Always-valid confidence sequence for the difference at level 1 - alpha. */
  ci: [number, number];
  /** Always-valid one-sided p-value of the stronger direction (never increases), before Holm. */
  pValue: number;
  /** Holm-adjusted p-value across the variants. */
  adjustedPValue: number;
  probBeatControl: number;
  expectedLoss: number;
  /** Holm-adjusted one-sided "better" p-value of this check alone: a promotion needs it <= alpha. */
  currentPValue?: number;
  guardrailViolations: string[];
  /** Each guardrail's sequential test (absent in decisions of the first engine). */
  guardrails?: GuardrailReading[];
  /** The estimate compares arms within topics (post-stratification). */
  adjusted?: boolean;
  /** The recent-window check (absent before the window has passed once). */
  recent?: { hours: number; recent: number; earlier: number; notWinning: boolean; fading: boolean };
  eligible: boolean;
}

/** One guardrail's reading at a check (see src/stats/guardrails.ts for the tests). */
export interface GuardrailReading {
  name: 'error_rate' | 'latency_p95' | 'tokens';
  estimate: number;
  interval: [number, number] | null;
  limit: number;
  beyondMargin: boolean;
  breached: boolean;
  withinMargin: boolean;
  text: string;
}

export interface Decision {
  action: DecisionAction;
  winner?: { arm: number; versionId: string };
  /** One sentence a person can read. */
  reason: string;
  engine: string;
  variants: VariantAssessment[];
  /**
   * Sample ratio checks. `chiSquare`/`pValue`: Pearson's test of this look (for reading only).
   * `sequentialPValue` (arm totals) and `balancePValue` (topic mix per arm) are the always-valid
   * running minima that decide; `mismatch` is true once either has tripped, and stays true.
   */
  srm: {
    chiSquare: number;
    pValue: number;
    mismatch: boolean;
    sequentialPValue?: number;
    balancePValue?: number;
    tripped?: SrmTrip;
  };
  gatesMet: boolean;
}

/** State carried from one check to the next (p-values are running minima). */
export interface DecisionMemory {
  pValues: Record<string, number>;
  /**
   * Optional (added by the stats engine): one-sided running minima per versionId, `up` over checks
   * where the variant led and `down` where it trailed. They keep a win from being declared on
   * evidence gathered while the variant was losing. Absent in older memories: the engine then
   * starts them at 1 (conservative).
   */
  directional?: Record<string, { up: number; down: number }>;
  /** Running minima of the sequential SRM p-values, and the trip once it happened (sticky). */
  srm?: { countsP: number; topicsP: number; tripped?: SrmTrip };
}

/** When and how the sample ratio check tripped. */
export interface SrmTrip {
  test: 'counts' | 'topics';
  pValue: number;
  atHours: number;
}

export type InsightKind = 'low_success_segment' | 'low_rating' | 'verbosity' | 'latency' | 'error_rate' | 'regression';

export type Severity = 'low' | 'medium' | 'high';

export interface Insight {
  id?: string;
  promptKey: string;
  versionId: string;
  kind: InsightKind;
  segment: string | null;
  evidence: Record<string, unknown>;
  severity: Severity;
  isActionable: boolean;
  fingerprint?: string;
}

/** One conversation offered to variant generators as an example (best-rated or failed). */
export interface ConversationSample {
  topic: string | null;
  success: boolean;
  rating: number | null;
  inputExcerpt: string | null;
  outputExcerpt: string | null;
}

export interface VariantCandidate {
  content: string;
  rationale: string;
  strategy: string;
}

export interface GenerationInput {
  promptKey: string;
  control: { versionId: string; content: string };
  insights: Insight[];
  best: ConversationSample[];
  failures: ConversationSample[];
  count: number;
}
