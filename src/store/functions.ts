/**
 * The database API: every SQL function the store calls, with its argument names and SQL types.
 * The SQL transports cast each parameter to its type (so pg and PGlite agree on arrays and
 * jsonb); the supabase transport sends the same names to PostgREST. Keep in sync with
 * supabase/migrations (a contract test checks every entry exists with these arguments).
 */
import type { Database } from './database.types';

export type SqlType =
  'text' | 'uuid' | 'integer' | 'bigint' | 'boolean' | 'double precision' | 'jsonb' | 'timestamptz' | 'uuid[]' | 'numeric[]' | 'text[]';

export const DB_FUNCTIONS = {
  create_job: { p_type: 'text', p_params: 'jsonb', p_created_by: 'text', p_idempotency_key: 'text' },
  get_job: { p_job_id: 'bigint' },
  list_jobs: { p_status: 'text', p_limit: 'integer' },
  claim_next_job: { p_worker: 'text', p_lease_seconds: 'integer', p_max_claims: 'integer' },
  start_job: { p_job_id: 'bigint', p_workflow_id: 'text' },
  complete_job: { p_job_id: 'bigint', p_result: 'jsonb' },
  fail_job: { p_job_id: 'bigint', p_error: 'text' },

  create_prompt_version: {
    p_prompt_key: 'text',
    p_content: 'text',
    p_parent_version_id: 'uuid',
    p_strategy: 'text',
    p_rationale: 'text',
    p_activate: 'boolean',
  },
  get_active_prompt: { p_prompt_key: 'text' },
  get_prompt_version: { p_version_id: 'uuid' },
  list_prompt_versions: { p_prompt_key: 'text' },
  list_prompt_keys: {},
  health_totals: {},

  assign_prompt: { p_prompt_key: 'text', p_subject_id: 'text' },
  record_conversation: {
    p_prompt_key: 'text',
    p_version_id: 'uuid',
    p_success: 'boolean',
    p_subject_id: 'text',
    p_topic: 'text',
    p_rating: 'integer',
    p_latency_ms: 'integer',
    p_tokens: 'integer',
    p_error: 'text',
    p_external_id: 'text',
    p_input_excerpt: 'text',
    p_output_excerpt: 'text',
    p_created_at: 'timestamptz',
  },
  record_conversations: { p_rows: 'jsonb' },
  sample_conversations: { p_version_id: 'uuid', p_kind: 'text', p_limit: 'integer' },
  serving_snapshot: { p_prompt_keys: 'text[]' },
  record_conversation_batch: { p_rows: 'jsonb' },
  record_feedback: { p_items: 'jsonb', p_window_seconds: 'integer' },

  create_experiment: {
    p_prompt_key: 'text',
    p_variant_version_ids: 'uuid[]',
    p_weights: 'numeric[]',
    p_metric: 'text',
    p_policy: 'jsonb',
    p_idempotency_key: 'text',
    p_workflow_id: 'text',
  },
  get_experiment: { p_experiment_id: 'uuid' },
  list_experiments: { p_status: 'text', p_prompt_key: 'text', p_limit: 'integer' },
  set_experiment_status: { p_experiment_id: 'uuid', p_status: 'text' },
  set_experiment_workflow: { p_experiment_id: 'uuid', p_workflow_id: 'text', p_stale: 'boolean' },
  experiment_arm_stats: {
    p_experiment_id: 'uuid',
    p_latency_factor: 'double precision',
    p_recent_hours: 'double precision',
    p_max_topics: 'integer',
  },
  write_snapshot: { p_experiment_id: 'uuid', p_check_no: 'integer', p_arms: 'jsonb', p_decision: 'jsonb', p_memory: 'jsonb' },
  list_snapshots: { p_experiment_id: 'uuid', p_after_check: 'integer' },
  latest_snapshot: { p_experiment_id: 'uuid' },
  promote_variant: {
    p_experiment_id: 'uuid',
    p_version_id: 'uuid',
    p_kind: 'text',
    p_actor: 'text',
    p_reason: 'text',
    p_decision: 'jsonb',
    p_rollout: 'jsonb',
  },
  conclude_experiment: { p_experiment_id: 'uuid', p_outcome: 'text', p_reason: 'text', p_decision: 'jsonb' },
  restart_experiment: { p_experiment_id: 'uuid', p_actor: 'text', p_reason: 'text' },
  rollback_prompt: { p_prompt_key: 'text', p_actor: 'text', p_reason: 'text' },
  list_promotion_events: { p_prompt_key: 'text', p_limit: 'integer' },

  get_rollout: { p_rollout_id: 'uuid' },
  list_rollouts: { p_status: 'text', p_prompt_key: 'text', p_limit: 'integer' },
  advance_rollout: { p_rollout_id: 'uuid', p_from_step: 'integer', p_mode: 'text', p_actor: 'text', p_reason: 'text' },
  set_rollout_held: { p_rollout_id: 'uuid', p_held: 'boolean', p_actor: 'text', p_reason: 'text' },
  complete_rollout: { p_rollout_id: 'uuid', p_mode: 'text', p_actor: 'text', p_reason: 'text', p_evidence: 'jsonb' },
  rollback_rollout: { p_rollout_id: 'uuid', p_mode: 'text', p_actor: 'text', p_reason: 'text', p_evidence: 'jsonb' },
  rollout_arm_stats: { p_rollout_id: 'uuid', p_latency_factor: 'double precision' },
  write_rollout_check: { p_rollout_id: 'uuid', p_check_no: 'integer', p_arms: 'jsonb', p_decision: 'jsonb', p_memory: 'jsonb' },
  list_rollout_checks: { p_rollout_id: 'uuid', p_after_check: 'integer' },
  latest_rollout_check: { p_rollout_id: 'uuid' },

  upsert_insight: {
    p_prompt_key: 'text',
    p_version_id: 'uuid',
    p_kind: 'text',
    p_segment: 'text',
    p_evidence: 'jsonb',
    p_severity: 'text',
    p_is_actionable: 'boolean',
  },
  analyze_prompt: {
    p_prompt_key: 'text',
    p_window_hours: 'integer',
    p_min_samples: 'integer',
    p_latency_p95_ms: 'integer',
    p_now: 'timestamptz',
  },
  list_insights: { p_prompt_key: 'text', p_status: 'text' },
  prompt_keys_with_traffic: { p_since: 'timestamptz', p_min_conversations: 'integer' },

  request_variant_reviews: { p_prompt_key: 'text', p_version_ids: 'uuid[]', p_workflow_id: 'text', p_deadline: 'timestamptz' },
  decide_variant_review: { p_version_id: 'uuid', p_workflow_id: 'text', p_decision: 'text', p_reviewer: 'text', p_note: 'text' },
  expire_variant_reviews: { p_workflow_id: 'text' },
  list_variant_reviews: { p_status: 'text', p_prompt_key: 'text', p_version_id: 'uuid', p_limit: 'integer' },
} as const satisfies Record<string, Record<string, SqlType>>;

export type DbFunctionName = keyof typeof DB_FUNCTIONS;
export type DbFunctionArgs<F extends DbFunctionName> = {
  [K in keyof (typeof DB_FUNCTIONS)[F]]?: unknown;
};

/** Compile-time contract with the generated schema types: every function and argument exists. */
type GeneratedFunctions = Database['public']['Functions'];
type ArgsExist<F extends DbFunctionName> = F extends keyof GeneratedFunctions
  ? Exclude<keyof (typeof DB_FUNCTIONS)[F], keyof GeneratedFunctions[F]['Args']> extends never
    ? true
    : ['unknown argument of', F]
  : ['function missing from the migrated schema', F];
export type DbFunctionsMatchSchema = { [F in DbFunctionName]: ArgsExist<F> };
// Fails to compile when DB_FUNCTIONS and supabase/migrations disagree (regenerate the types).
const schemaContract: { [F in DbFunctionName]: true } = null as unknown as DbFunctionsMatchSchema;
void schemaContract;
