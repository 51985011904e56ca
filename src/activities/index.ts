import { analysisActivities } from './analysis';
import type { ActivityDeps } from './deps';
import { evaluationActivities } from './evaluate';
import { experimentActivities } from './experiments';
import { intakeActivities } from './intake';
import { jobActivities } from './jobs';
import { reconcileActivities } from './reconcile';
import { reviewActivities } from './reviews';
import { rolloutActivities } from './rollouts';
import { variantActivities } from './variants';

export type { ActivityCounters, ActivityDeps, RejectionCounter } from './deps';
export type { AnalysisSummary, TrafficKey } from './analysis';
export type { GeneratedVariants } from './variants';
export type { Evaluation } from './evaluate';
export type { CreateExperimentInput, ExperimentInfo, PromotionResult } from './experiments';
export type { MonitorEnsured } from './reconcile';
export type { RolloutCheck, WatchEnsured } from './rollouts';
export type { StartedJob } from './jobs';
export type { ReviewDecisionRecord } from './reviews';

/** Builds every activity from its dependencies (one factory, so tests can hand in real parts). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...jobActivities(deps),
    ...intakeActivities(deps),
    ...analysisActivities(deps),
    ...variantActivities(deps),
    ...experimentActivities(deps),
    ...evaluationActivities(deps),
    ...reconcileActivities(deps),
    ...reviewActivities(deps),
    ...rolloutActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
