/**
 * Row shapes as the database functions return them (to_jsonb of the table rows: snake_case,
 * timestamps as ISO strings). Derived from the generated Supabase types so a migration that
 * changes a column changes these too.
 */
import { JOB_TYPES, type JobType as DomainJobType } from '../domain/jobs';
import type { Database } from './database.types';

type PublicTables = Database['public']['Tables'];
export type Row<T extends keyof PublicTables> = PublicTables[T]['Row'];
export type Enum<T extends keyof Database['public']['Enums']> = Database['public']['Enums'][T];

export type JobRow = Row<'optimization_jobs'>;
export type JobType = Enum<'job_type'>;
export type JobStatus = Enum<'job_status'>;
export type PromptVersionRow = Row<'ai_prompt_versions'>;
export type ExperimentRow = Row<'ai_ab_experiments'>;
export type ConversationRow = Row<'ai_conversations'>;
export type InsightRow = Row<'ai_pattern_insights'>;
export type SnapshotRow = Row<'ai_experiment_snapshots'>;
export type PromotionEventRow = Row<'ai_promotion_events'>;
export type RolloutEventRow = Row<'ai_rollout_events'>;
export type RolloutCheckRow = Row<'ai_rollout_checks'>;
export type RolloutStatus = 'live' | 'completed' | 'rolled_back';
/** Where a rollout stands: `ramping` (steps left), `watching` (last step, holdback kept), `held`, or its end. */
export type RolloutPhase = 'ramping' | 'watching' | 'held' | 'completed' | 'rolled_back';

/** A rollout as `_rollout_json` builds it: the row, the two version numbers, its phase and its audit trail. */
export type RolloutRow = Omit<Row<'ai_rollouts'>, 'status'> & {
  status: RolloutStatus;
  promoted_version: number;
  holdback_version: number;
  /** Number of steps in the plan. */
  steps: number;
  phase: RolloutPhase;
  events: RolloutEventRow[];
};

/** The result of promote_variant: the event and, when the plan asked for one, the rollout it started. */
export type PromotionWithRollout = PromotionEventRow & { rollout: RolloutRow | null };
export type ExperimentOutcome = Enum<'experiment_outcome'>;
export type ReviewStatus = Enum<'review_status'>;

/**
 * A variant review with what a reviewer needs to see: the version's text and its parent's.
 * (`_review_json` is the SQL helper that builds this row; the type generator lists any function of
 * a table's row as a computed column, so it is left out here.)
 */
export type VariantReviewRow = Omit<Row<'ai_variant_reviews'>, '_review_json'> & {
  version: number;
  content: string;
  rationale: string | null;
  strategy: string;
  version_status: Enum<'prompt_status'>;
  parent_version_id: string | null;
  parent_content: string | null;
};

/** The domain's job types are exactly the database enum's (a compile error otherwise). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const jobTypesMatch: Same<DomainJobType, JobType> = true;
void jobTypesMatch;
export { JOB_TYPES };

/** Functions that may return an existing row say whether they created it. */
export type Created<T> = T & { created: boolean };

export interface ExperimentArm {
  arm: number;
  version_id: string;
  weight: number;
  version: number;
}
export type ExperimentWithArms = ExperimentRow & { arms: ExperimentArm[] };

export interface Assignment {
  prompt_key: string;
  version_id: string;
  version: number;
  content: string;
  experiment_id: string | null;
  arm: number | null;
  /** Set when a guarded rollout split the key: its id and arm (0 holdback, 1 promoted). */
  rollout_id: string | null;
  rollout_arm: 0 | 1 | null;
}

export interface AnalysisResult {
  prompt_key: string;
  version_id: string;
  version: number;
  window: { since: string; until: string };
  overall: {
    n: number;
    successes: number;
    success_rate: number | null;
    success_ci: [number, number];
    mean_rating: number | null;
    error_rate: number | null;
    latency_p95_ms: number | null;
  };
  insights: InsightRow[];
  actionable: number;
}

/** health_totals(): what the database holds, across every worker and restart (/health `totals`). */
export interface HealthTotals {
  jobs: Record<JobStatus, number>;
  experiments: { running: number; paused: number; concluded: number; promoted: number };
  promptKeys: number;
  promptVersions: number;
  promotions: number;
  rollbacks: number;
}

export interface PromptKeySummary {
  prompt_key: string;
  active_version_id: string;
  active_version: number;
  versions: number;
}

export interface TrafficSummary {
  prompt_key: string;
  conversations: number;
  live_experiment: boolean;
}

export interface ConversationInput {
  prompt_key: string;
  version_id: string;
  success: boolean;
  subject_id?: string;
  topic?: string;
  rating?: number;
  latency_ms?: number;
  tokens?: number;
  error?: string;
  external_id?: string;
  input_excerpt?: string;
  output_excerpt?: string;
  created_at?: string;
}

// Host-app SDK (GET /v1/serving, POST /v1/conversations/batch, POST /v1/feedback) --------------

export interface ServingVersion {
  versionId: string;
  version: number;
  content: string;
}

export interface ServingArm extends ServingVersion {
  arm: number;
  weight: number;
}

/**
 * The live split of a key: an experiment, or a guarded rollout (`kind: 'rollout'`, `experimentId`
 * the rollout's id, arm 0 the holdback). The SDK assigns both the same way.
 */
export interface ServingExperiment {
  kind: 'experiment' | 'rollout';
  experimentId: string;
  status: 'running' | 'paused';
  paused: boolean;
  arms: ServingArm[];
}

export interface ServingPrompt {
  promptKey: string;
  active: ServingVersion;
  /** The live split (an experiment, running or paused, or a rollout), or null. */
  experiment: ServingExperiment | null;
}

/** serving_snapshot(): deterministic for the same state (no clock), so an ETag can be derived from it. */
export interface ServingSnapshot {
  prompts: ServingPrompt[];
}

export type ConversationBatchRowResult =
  | { index: number; status: 'created' | 'duplicate'; id: number; external_id: string; experiment_id: string | null; arm: number | null }
  | { index: number; status: 'error'; error: string; code: string; external_id: unknown };

export interface ConversationBatchResult {
  received: number;
  created: number;
  duplicates: number;
  errors: number;
  results: ConversationBatchRowResult[];
}

export interface FeedbackInput {
  external_id: string;
  success?: boolean;
  rating?: number;
}

export type FeedbackStatus = 'updated' | 'unchanged' | 'not_found' | 'window_closed' | 'error';

export interface FeedbackItemResult {
  index: number;
  status: FeedbackStatus;
  external_id?: unknown;
  conversation_id?: number;
  success?: boolean;
  rating?: number | null;
  /** When the outcome last changed (null: never changed since it was logged). */
  changed_at?: string | null;
  previous_success?: boolean;
  previous_rating?: number | null;
  error?: string;
}

export interface FeedbackBatchResult {
  received: number;
  updated: number;
  results: FeedbackItemResult[];
}
