import { analysisActivities } from './analysis';
import type { ActivityDeps } from './deps';
import { experimentActivities } from './experiments';
import { jobActivities } from './jobs';
import { variantActivities } from './variants';

export type { ActivityDeps } from './deps';
export type { AnalysisSummary, TrafficKey } from './analysis';
export type { GeneratedVariants } from './variants';
export type { Evaluation, ExperimentInfo, PromotionResult } from './experiments';
export type { StartedJob } from './jobs';

/** Builds every activity from its dependencies (one factory, so tests can hand in real parts). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...jobActivities(deps),
    ...analysisActivities(deps),
    ...variantActivities(deps),
    ...experimentActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
