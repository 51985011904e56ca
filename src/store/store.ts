import type { PolicyOverrides } from '../domain/policy';
import type { ArmStats, ConversationSample, Decision, DecisionMemory, RolloutPlan } from '../domain/types';
import type { DbFunctionArgs, DbFunctionName } from './functions';
import type {
  AnalysisResult,
  Assignment,
  ConversationBatchResult,
  ConversationInput,
  ConversationRow,
  Created,
  ExperimentOutcome,
  ExperimentWithArms,
  FeedbackBatchResult,
  FeedbackInput,
  HealthTotals,
  InsightRow,
  JobRow,
  JobStatus,
  JobType,
  PromotionEventRow,
  PromotionWithRollout,
  PromptKeySummary,
  PromptVersionRow,
  ReviewStatus,
  RolloutCheckRow,
  RolloutRow,
  RolloutStatus,
  ServingSnapshot,
  SnapshotRow,
  TrafficSummary,
  VariantReviewRow,
} from './rows';
import type { RpcTransport } from './transport';

export type RolloutMode = 'auto' | 'manual';

export interface RolloutEnding {
  rolloutId: string;
  mode: RolloutMode;
  actor: string;
  reason: string;
  evidence?: unknown;
}

/**
 * The Store port: one typed method per database function. Adapters differ only in transport
 * (pg, PGlite, supabase-js); the SQL behind every method is the same.
 */
export class Store {
  constructor(readonly transport: RpcTransport) {}

  get kind(): RpcTransport['kind'] {
    return this.transport.kind;
  }

  private call<T, F extends DbFunctionName>(fn: F, args: DbFunctionArgs<F>): Promise<T> {
    return this.transport.call(fn, args as Record<string, unknown>) as Promise<T>;
  }

  ping(): Promise<void> {
    return this.transport.ping();
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  // Jobs ------------------------------------------------------------------------------------

  createJob(input: { type: JobType; params?: Record<string, unknown>; createdBy?: string; idempotencyKey?: string }): Promise<JobRow> {
    return this.call('create_job', {
      p_type: input.type,
      p_params: input.params ?? {},
      p_created_by: input.createdBy,
      p_idempotency_key: input.idempotencyKey,
    });
  }

  getJob(jobId: number): Promise<JobRow> {
    return this.call('get_job', { p_job_id: jobId });
  }

  listJobs(filter: { status?: JobStatus; limit?: number } = {}): Promise<JobRow[]> {
    return this.call('list_jobs', { p_status: filter.status, p_limit: filter.limit });
  }

  /**
   * Null when nothing is claimable. A job already claimed `maxClaims` times (default 10) without
   * being started is marked failed with the reason instead of being claimed again.
   */
  claimNextJob(worker: string, leaseSeconds?: number, maxClaims?: number): Promise<JobRow | null> {
    return this.call('claim_next_job', { p_worker: worker, p_lease_seconds: leaseSeconds, p_max_claims: maxClaims });
  }

  startJob(jobId: number, workflowId: string): Promise<JobRow> {
    return this.call('start_job', { p_job_id: jobId, p_workflow_id: workflowId });
  }

  completeJob(jobId: number, result: unknown): Promise<JobRow> {
    return this.call('complete_job', { p_job_id: jobId, p_result: result ?? {} });
  }

  failJob(jobId: number, error: string): Promise<JobRow> {
    return this.call('fail_job', { p_job_id: jobId, p_error: error });
  }

  // Prompt versions -------------------------------------------------------------------------

  createPromptVersion(input: {
    promptKey: string;
    content: string;
    parentVersionId?: string;
    strategy?: string;
    rationale?: string;
    activate?: boolean;
  }): Promise<Created<PromptVersionRow>> {
    return this.call('create_prompt_version', {
      p_prompt_key: input.promptKey,
      p_content: input.content,
      p_parent_version_id: input.parentVersionId,
      p_strategy: input.strategy,
      p_rationale: input.rationale,
      p_activate: input.activate,
    });
  }

  getActivePrompt(promptKey: string): Promise<PromptVersionRow> {
    return this.call('get_active_prompt', { p_prompt_key: promptKey });
  }

  getPromptVersion(versionId: string): Promise<PromptVersionRow> {
    return this.call('get_prompt_version', { p_version_id: versionId });
  }

  listPromptVersions(promptKey: string): Promise<PromptVersionRow[]> {
    return this.call('list_prompt_versions', { p_prompt_key: promptKey });
  }

  listPromptKeys(): Promise<PromptKeySummary[]> {
    return this.call('list_prompt_keys', {});
  }

  /** Counts of jobs, experiments, versions and promotions in the database (for /health). */
  healthTotals(): Promise<HealthTotals> {
    return this.call('health_totals', {});
  }

  // Traffic ---------------------------------------------------------------------------------

  assignPrompt(promptKey: string, subjectId: string): Promise<Assignment> {
    return this.call('assign_prompt', { p_prompt_key: promptKey, p_subject_id: subjectId });
  }

  recordConversation(c: ConversationInput): Promise<Created<ConversationRow>> {
    return this.call('record_conversation', {
      p_prompt_key: c.prompt_key,
      p_version_id: c.version_id,
      p_success: c.success,
      p_subject_id: c.subject_id,
      p_topic: c.topic,
      p_rating: c.rating,
      p_latency_ms: c.latency_ms,
      p_tokens: c.tokens,
      p_error: c.error,
      p_external_id: c.external_id,
      p_input_excerpt: c.input_excerpt,
      p_output_excerpt: c.output_excerpt,
      p_created_at: c.created_at,
    });
  }

  /** All rows or none (at most 10,000 per call). */
  recordConversations(rows: ConversationInput[]): Promise<{ received: number; created: number }> {
    return this.call('record_conversations', { p_rows: rows });
  }

  // Host-app SDK ----------------------------------------------------------------------------

  /** What to serve: every key's active version and live experiment (all keys, or only promptKeys). */
  servingSnapshot(promptKeys?: string[]): Promise<ServingSnapshot> {
    return this.call('serving_snapshot', { p_prompt_keys: promptKeys });
  }

  /** Up to 500 rows, each with an external_id; one result per row, a bad row never fails the others. */
  recordConversationBatch(rows: ConversationInput[]): Promise<ConversationBatchResult> {
    return this.call('record_conversation_batch', { p_rows: rows });
  }

  /** Late outcomes by external_id (up to 500); conversations older than the window (default 7 days) are not changed. */
  recordFeedback(items: FeedbackInput[], opts: { windowSeconds?: number } = {}): Promise<FeedbackBatchResult> {
    return this.call('record_feedback', { p_items: items, p_window_seconds: opts.windowSeconds });
  }

  async sampleConversations(versionId: string, kind: 'best' | 'failures', limit?: number): Promise<ConversationSample[]> {
    const rows = await this.call<
      Array<{ topic: string | null; success: boolean; rating: number | null; input_excerpt: string | null; output_excerpt: string | null }>,
      'sample_conversations'
    >('sample_conversations', { p_version_id: versionId, p_kind: kind, p_limit: limit });
    return rows.map((r) => ({
      topic: r.topic,
      success: r.success,
      rating: r.rating,
      inputExcerpt: r.input_excerpt,
      outputExcerpt: r.output_excerpt,
    }));
  }

  // Analysis --------------------------------------------------------------------------------

  analyzePrompt(
    promptKey: string,
    opts: { windowHours?: number; minSamples?: number; latencyP95Ms?: number; now?: Date } = {},
  ): Promise<AnalysisResult> {
    return this.call('analyze_prompt', {
      p_prompt_key: promptKey,
      p_window_hours: opts.windowHours,
      p_min_samples: opts.minSamples,
      p_latency_p95_ms: opts.latencyP95Ms,
      p_now: opts.now,
    });
  }

  upsertInsight(i: {
    promptKey: string;
    versionId: string;
    kind: string;
    segment: string | null;
    evidence: Record<string, unknown>;
    severity: string;
    isActionable: boolean;
  }): Promise<InsightRow> {
    return this.call('upsert_insight', {
      p_prompt_key: i.promptKey,
      p_version_id: i.versionId,
      p_kind: i.kind,
      p_segment: i.segment,
      p_evidence: i.evidence,
      p_severity: i.severity,
      p_is_actionable: i.isActionable,
    });
  }

  listInsights(promptKey: string, status: 'open' | 'resolved' | null = 'open'): Promise<InsightRow[]> {
    return this.call('list_insights', { p_prompt_key: promptKey, p_status: status });
  }

  promptKeysWithTraffic(since: Date, minConversations?: number): Promise<TrafficSummary[]> {
    return this.call('prompt_keys_with_traffic', { p_since: since, p_min_conversations: minConversations });
  }

  // Experiments -----------------------------------------------------------------------------

  createExperiment(input: {
    promptKey: string;
    variantVersionIds: string[];
    weights?: number[];
    metric?: 'success' | 'rating';
    policy?: PolicyOverrides;
    idempotencyKey?: string;
    workflowId?: string;
  }): Promise<Created<ExperimentWithArms>> {
    return this.call('create_experiment', {
      p_prompt_key: input.promptKey,
      p_variant_version_ids: input.variantVersionIds,
      p_weights: input.weights,
      p_metric: input.metric,
      p_policy: input.policy ?? {},
      p_idempotency_key: input.idempotencyKey,
      p_workflow_id: input.workflowId,
    });
  }

  getExperiment(experimentId: string): Promise<ExperimentWithArms> {
    return this.call('get_experiment', { p_experiment_id: experimentId });
  }

  /**
   * Concludes a live experiment as stopped and creates its twin (same control, variants, weights,
   * metric and policy) with fresh evidence and fresh assignment; a retry returns the same twin.
   */
  restartExperiment(input: { experimentId: string; actor: string; reason: string }): Promise<Created<ExperimentWithArms>> {
    return this.call('restart_experiment', { p_experiment_id: input.experimentId, p_actor: input.actor, p_reason: input.reason });
  }

  listExperiments(
    filter: { status?: 'running' | 'paused' | 'concluded'; promptKey?: string; limit?: number } = {},
  ): Promise<ExperimentWithArms[]> {
    return this.call('list_experiments', { p_status: filter.status, p_prompt_key: filter.promptKey, p_limit: filter.limit });
  }

  setExperimentStatus(experimentId: string, status: 'running' | 'paused'): Promise<ExperimentWithArms> {
    return this.call('set_experiment_status', { p_experiment_id: experimentId, p_status: status });
  }

  setExperimentWorkflow(experimentId: string, workflowId: string | null, stale = false): Promise<ExperimentWithArms> {
    return this.call('set_experiment_workflow', { p_experiment_id: experimentId, p_workflow_id: workflowId, p_stale: stale });
  }

  /**
   * Per-arm aggregates for the decision engine. The options tune the new fields and are sent only
   * when given (SQL defaults otherwise): `latencyFactor` (default 1.25) times control's p95 is the
   * threshold `latencySlow` counts against, `recentHours` (default 24) is the `recent` window and
   * `maxTopics` (default 20, at most 100) the number of topics kept apart before the rest pool.
   */
  experimentArmStats(
    experimentId: string,
    options: { latencyFactor?: number; recentHours?: number; maxTopics?: number } = {},
  ): Promise<ArmStats[]> {
    return this.call('experiment_arm_stats', {
      p_experiment_id: experimentId,
      p_latency_factor: options.latencyFactor,
      p_recent_hours: options.recentHours,
      p_max_topics: options.maxTopics,
    });
  }

  writeSnapshot(input: {
    experimentId: string;
    checkNo: number;
    arms: ArmStats[];
    decision: Decision;
    memory: DecisionMemory;
  }): Promise<Created<SnapshotRow>> {
    return this.call('write_snapshot', {
      p_experiment_id: input.experimentId,
      p_check_no: input.checkNo,
      p_arms: input.arms,
      p_decision: input.decision,
      p_memory: input.memory,
    });
  }

  listSnapshots(experimentId: string, afterCheck?: number): Promise<SnapshotRow[]> {
    return this.call('list_snapshots', { p_experiment_id: experimentId, p_after_check: afterCheck });
  }

  latestSnapshot(experimentId: string): Promise<SnapshotRow | null> {
    return this.call('latest_snapshot', { p_experiment_id: experimentId });
  }

  promoteVariant(input: {
    experimentId: string;
    versionId: string;
    kind: 'auto' | 'approval' | 'manual';
    actor: string;
    reason: string;
    decision?: unknown;
    /** Starts a guarded rollout in the same transaction (none for a plan that is the instant switch). */
    rollout?: RolloutPlan;
  }): Promise<Created<PromotionWithRollout>> {
    return this.call('promote_variant', {
      p_experiment_id: input.experimentId,
      p_version_id: input.versionId,
      p_kind: input.kind,
      p_actor: input.actor,
      p_reason: input.reason,
      p_decision: input.decision ?? null,
      p_rollout: input.rollout ?? null,
    });
  }

  concludeExperiment(input: {
    experimentId: string;
    outcome: Exclude<ExperimentOutcome, 'promoted'>;
    reason: string;
    decision?: unknown;
  }): Promise<Created<ExperimentWithArms>> {
    return this.call('conclude_experiment', {
      p_experiment_id: input.experimentId,
      p_outcome: input.outcome,
      p_reason: input.reason,
      p_decision: input.decision ?? null,
    });
  }

  rollbackPrompt(promptKey: string, actor: string, reason: string): Promise<PromotionEventRow> {
    return this.call('rollback_prompt', { p_prompt_key: promptKey, p_actor: actor, p_reason: reason });
  }

  listPromotionEvents(promptKey?: string, limit?: number): Promise<PromotionEventRow[]> {
    return this.call('list_promotion_events', { p_prompt_key: promptKey, p_limit: limit });
  }

  // Rollouts (after a promotion) -----------------------------------------------------------

  getRollout(rolloutId: string): Promise<RolloutRow> {
    return this.call('get_rollout', { p_rollout_id: rolloutId });
  }

  listRollouts(filter: { status?: RolloutStatus; promptKey?: string; limit?: number } = {}): Promise<RolloutRow[]> {
    return this.call('list_rollouts', { p_status: filter.status, p_prompt_key: filter.promptKey, p_limit: filter.limit });
  }

  /** From the step the caller saw to the next; a repeat finds the step taken ("created": false). */
  advanceRollout(input: {
    rolloutId: string;
    fromStep: number;
    mode: RolloutMode;
    actor: string;
    reason: string;
  }): Promise<Created<RolloutRow>> {
    return this.call('advance_rollout', {
      p_rollout_id: input.rolloutId,
      p_from_step: input.fromStep,
      p_mode: input.mode,
      p_actor: input.actor,
      p_reason: input.reason,
    });
  }

  setRolloutHeld(input: { rolloutId: string; held: boolean; actor: string; reason: string }): Promise<Created<RolloutRow>> {
    return this.call('set_rollout_held', {
      p_rollout_id: input.rolloutId,
      p_held: input.held,
      p_actor: input.actor,
      p_reason: input.reason,
    });
  }

  /** Releases the holdback: the rollout ends clean. */
  completeRollout(input: RolloutEnding): Promise<Created<RolloutRow>> {
    return this.call('complete_rollout', this.endingArgs(input));
  }

  /** Puts the holdback's version back, closes the rollout, writes the `rollback` promotion event: one transaction. */
  rollbackRollout(input: RolloutEnding): Promise<Created<RolloutRow & { promotion_event: PromotionEventRow }>> {
    return this.call('rollback_rollout', this.endingArgs(input));
  }

  private endingArgs(input: RolloutEnding) {
    return {
      p_rollout_id: input.rolloutId,
      p_mode: input.mode,
      p_actor: input.actor,
      p_reason: input.reason,
      p_evidence: input.evidence ?? null,
    };
  }

  /** The holdback (arm 0) and the promoted version (arm 1), with the watch's sufficient statistics and steps as strata. */
  rolloutArmStats(rolloutId: string, options: { latencyFactor?: number } = {}): Promise<ArmStats[]> {
    return this.call('rollout_arm_stats', { p_rollout_id: rolloutId, p_latency_factor: options.latencyFactor });
  }

  writeRolloutCheck(input: {
    rolloutId: string;
    checkNo: number;
    arms: ArmStats[];
    decision: unknown;
    memory: unknown;
  }): Promise<Created<RolloutCheckRow>> {
    return this.call('write_rollout_check', {
      p_rollout_id: input.rolloutId,
      p_check_no: input.checkNo,
      p_arms: input.arms,
      p_decision: input.decision,
      p_memory: input.memory,
    });
  }

  listRolloutChecks(rolloutId: string, afterCheck?: number): Promise<RolloutCheckRow[]> {
    return this.call('list_rollout_checks', { p_rollout_id: rolloutId, p_after_check: afterCheck });
  }

  latestRolloutCheck(rolloutId: string): Promise<RolloutCheckRow | null> {
    return this.call('latest_rollout_check', { p_rollout_id: rolloutId });
  }

  // Variant reviews (review before exposure) --------------------------------------------------

  /** Opens (or finds again) one pending review per version for the workflow that waits on them. */
  requestVariantReviews(input: {
    promptKey: string;
    versionIds: string[];
    workflowId: string;
    deadline: Date;
  }): Promise<VariantReviewRow[]> {
    return this.call('request_variant_reviews', {
      p_prompt_key: input.promptKey,
      p_version_ids: input.versionIds,
      p_workflow_id: input.workflowId,
      p_deadline: input.deadline,
    });
  }

  decideVariantReview(input: {
    versionId: string;
    workflowId: string;
    decision: 'accepted' | 'rejected';
    reviewer: string;
    note?: string;
  }): Promise<Created<VariantReviewRow>> {
    return this.call('decide_variant_review', {
      p_version_id: input.versionId,
      p_workflow_id: input.workflowId,
      p_decision: input.decision,
      p_reviewer: input.reviewer,
      p_note: input.note,
    });
  }

  expireVariantReviews(workflowId: string): Promise<VariantReviewRow[]> {
    return this.call('expire_variant_reviews', { p_workflow_id: workflowId });
  }

  /** `status: null` lists every status; the default is the pending ones. */
  listVariantReviews(
    filter: { status?: ReviewStatus | null; promptKey?: string; versionId?: string; limit?: number } = {},
  ): Promise<VariantReviewRow[]> {
    return this.call('list_variant_reviews', {
      p_status: filter.status === undefined ? 'pending' : filter.status,
      p_prompt_key: filter.promptKey,
      p_version_id: filter.versionId,
      p_limit: filter.limit,
    });
  }
}
