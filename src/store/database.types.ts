export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  public: {
    Tables: {
      ai_ab_experiments: {
        Row: {
          concluded_at: string | null
          control_version_id: string
          created_at: string
          decision: Json | null
          id: string
          idempotency_key: string | null
          metric: Database["public"]["Enums"]["experiment_metric"]
          outcome: Database["public"]["Enums"]["experiment_outcome"] | null
          policy: NonNullable<Json>
          prompt_key: string
          stale_since: string | null
          status: Database["public"]["Enums"]["experiment_status"]
          winner_version_id: string | null
          workflow_id: string | null
        }
        Insert: {
          concluded_at?: string | null
          control_version_id: string
          created_at?: string
          decision?: Json | null
          id?: string
          idempotency_key?: string | null
          metric?: Database["public"]["Enums"]["experiment_metric"]
          outcome?: Database["public"]["Enums"]["experiment_outcome"] | null
          policy?: NonNullable<Json>
          prompt_key: string
          stale_since?: string | null
          status?: Database["public"]["Enums"]["experiment_status"]
          winner_version_id?: string | null
          workflow_id?: string | null
        }
        Update: {
          concluded_at?: string | null
          control_version_id?: string
          created_at?: string
          decision?: Json | null
          id?: string
          idempotency_key?: string | null
          metric?: Database["public"]["Enums"]["experiment_metric"]
          outcome?: Database["public"]["Enums"]["experiment_outcome"] | null
          policy?: NonNullable<Json>
          prompt_key?: string
          stale_since?: string | null
          status?: Database["public"]["Enums"]["experiment_status"]
          winner_version_id?: string | null
          workflow_id?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "ai_ab_experiments_control_version_id_fkey"
            columns: ["control_version_id"]
            referencedRelation: "ai_prompt_versions"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "ai_ab_experiments_winner_version_id_fkey"
            columns: ["winner_version_id"]
            referencedRelation: "ai_prompt_versions"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_conversation_feedback: {
        Row: {
          conversation_id: number
          created_at: string
          external_id: string
          id: number
          previous_rating: number | null
          previous_success: boolean
          rating: number | null
          success: boolean
        }
        Insert: {
          conversation_id: number
          created_at?: string
          external_id: string
          id?: never
          previous_rating?: number | null
          previous_success: boolean
          rating?: number | null
          success: boolean
        }
        Update: {
          conversation_id?: number
          created_at?: string
          external_id?: string
          id?: never
          previous_rating?: number | null
          previous_success?: boolean
          rating?: number | null
          success?: boolean
        }
        Relationships: [
          {
            foreignKeyName: "ai_conversation_feedback_conversation_id_fkey"
            columns: ["conversation_id"]
            referencedRelation: "ai_conversations"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_conversations: {
        Row: {
          arm: number | null
          created_at: string
          error: string | null
          experiment_id: string | null
          external_id: string | null
          id: number
          input_excerpt: string | null
          latency_ms: number | null
          output_excerpt: string | null
          prompt_key: string
          rating: number | null
          rollout_arm: number | null
          rollout_id: string | null
          rollout_step: number | null
          subject_id: string | null
          success: boolean
          tokens: number | null
          topic: string | null
          version_id: string
        }
        Insert: {
          arm?: number | null
          created_at?: string
          error?: string | null
          experiment_id?: string | null
          external_id?: string | null
          id?: never
          input_excerpt?: string | null
          latency_ms?: number | null
          output_excerpt?: string | null
          prompt_key: string
          rating?: number | null
          rollout_arm?: number | null
          rollout_id?: string | null
          rollout_step?: number | null
          subject_id?: string | null
          success: boolean
          tokens?: number | null
          topic?: string | null
          version_id: string
        }
        Update: {
          arm?: number | null
          created_at?: string
          error?: string | null
          experiment_id?: string | null
          external_id?: string | null
          id?: never
          input_excerpt?: string | null
          latency_ms?: number | null
          output_excerpt?: string | null
          prompt_key?: string
          rating?: number | null
          rollout_arm?: number | null
          rollout_id?: string | null
          rollout_step?: number | null
          subject_id?: string | null
          success?: boolean
          tokens?: number | null
          topic?: string | null
          version_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "ai_conversations_experiment_id_arm_fkey"
            columns: ["experiment_id", "arm"]
            referencedRelation: "ai_experiment_arms"
            referencedColumns: ["experiment_id", "arm"]
          },
          {
            foreignKeyName: "ai_conversations_experiment_id_fkey"
            columns: ["experiment_id"]
            referencedRelation: "ai_ab_experiments"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "ai_conversations_rollout_id_fkey"
            columns: ["rollout_id"]
            referencedRelation: "ai_rollouts"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "ai_conversations_version_id_fkey"
            columns: ["version_id"]
            referencedRelation: "ai_prompt_versions"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_experiment_arms: {
        Row: {
          arm: number
          experiment_id: string
          version_id: string
          weight: number
        }
        Insert: {
          arm: number
          experiment_id: string
          version_id: string
          weight: number
        }
        Update: {
          arm?: number
          experiment_id?: string
          version_id?: string
          weight?: number
        }
        Relationships: [
          {
            foreignKeyName: "ai_experiment_arms_experiment_id_fkey"
            columns: ["experiment_id"]
            referencedRelation: "ai_ab_experiments"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "ai_experiment_arms_version_id_fkey"
            columns: ["version_id"]
            referencedRelation: "ai_prompt_versions"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_experiment_snapshots: {
        Row: {
          arms: NonNullable<Json>
          check_no: number
          created_at: string
          decision: NonNullable<Json>
          experiment_id: string
          id: number
          memory: NonNullable<Json>
        }
        Insert: {
          arms: NonNullable<Json>
          check_no: number
          created_at?: string
          decision: NonNullable<Json>
          experiment_id: string
          id?: never
          memory?: NonNullable<Json>
        }
        Update: {
          arms?: NonNullable<Json>
          check_no?: number
          created_at?: string
          decision?: NonNullable<Json>
          experiment_id?: string
          id?: never
          memory?: NonNullable<Json>
        }
        Relationships: [
          {
            foreignKeyName: "ai_experiment_snapshots_experiment_id_fkey"
            columns: ["experiment_id"]
            referencedRelation: "ai_ab_experiments"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_pattern_insights: {
        Row: {
          evidence: NonNullable<Json>
          fingerprint: string
          first_seen_at: string
          id: string
          is_actionable: boolean
          kind: Database["public"]["Enums"]["insight_kind"]
          last_seen_at: string
          occurrences: number
          prompt_key: string
          segment: string | null
          severity: Database["public"]["Enums"]["insight_severity"]
          status: Database["public"]["Enums"]["insight_status"]
          version_id: string
        }
        Insert: {
          evidence: NonNullable<Json>
          fingerprint: string
          first_seen_at?: string
          id?: string
          is_actionable: boolean
          kind: Database["public"]["Enums"]["insight_kind"]
          last_seen_at?: string
          occurrences?: number
          prompt_key: string
          segment?: string | null
          severity: Database["public"]["Enums"]["insight_severity"]
          status?: Database["public"]["Enums"]["insight_status"]
          version_id: string
        }
        Update: {
          evidence?: NonNullable<Json>
          fingerprint?: string
          first_seen_at?: string
          id?: string
          is_actionable?: boolean
          kind?: Database["public"]["Enums"]["insight_kind"]
          last_seen_at?: string
          occurrences?: number
          prompt_key?: string
          segment?: string | null
          severity?: Database["public"]["Enums"]["insight_severity"]
          status?: Database["public"]["Enums"]["insight_status"]
          version_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "ai_pattern_insights_version_id_fkey"
            columns: ["version_id"]
            referencedRelation: "ai_prompt_versions"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_promotion_events: {
        Row: {
          actor: string
          created_at: string
          decision: Json | null
          experiment_id: string | null
          from_version_id: string | null
          id: string
          kind: Database["public"]["Enums"]["promotion_kind"]
          mode: string | null
          prompt_key: string
          reason: string
          rollout_id: string | null
          to_version_id: string
        }
        Insert: {
          actor: string
          created_at?: string
          decision?: Json | null
          experiment_id?: string | null
          from_version_id?: string | null
          id?: string
          kind: Database["public"]["Enums"]["promotion_kind"]
          mode?: string | null
          prompt_key: string
          reason: string
          rollout_id?: string | null
          to_version_id: string
        }
        Update: {
          actor?: string
          created_at?: string
          decision?: Json | null
          experiment_id?: string | null
          from_version_id?: string | null
          id?: string
          kind?: Database["public"]["Enums"]["promotion_kind"]
          mode?: string | null
          prompt_key?: string
          reason?: string
          rollout_id?: string | null
          to_version_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "ai_promotion_events_experiment_id_fkey"
            columns: ["experiment_id"]
            referencedRelation: "ai_ab_experiments"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "ai_promotion_events_from_version_id_fkey"
            columns: ["from_version_id"]
            referencedRelation: "ai_prompt_versions"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "ai_promotion_events_rollout_id_fkey"
            columns: ["rollout_id"]
            referencedRelation: "ai_rollouts"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "ai_promotion_events_to_version_id_fkey"
            columns: ["to_version_id"]
            referencedRelation: "ai_prompt_versions"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_prompt_versions: {
        Row: {
          activated_at: string | null
          content: string
          content_hash: string
          created_at: string
          id: string
          parent_version_id: string | null
          prompt_key: string
          rationale: string | null
          status: Database["public"]["Enums"]["prompt_status"]
          strategy: string
          version: number
        }
        Insert: {
          activated_at?: string | null
          content: string
          content_hash: string
          created_at?: string
          id?: string
          parent_version_id?: string | null
          prompt_key: string
          rationale?: string | null
          status?: Database["public"]["Enums"]["prompt_status"]
          strategy?: string
          version: number
        }
        Update: {
          activated_at?: string | null
          content?: string
          content_hash?: string
          created_at?: string
          id?: string
          parent_version_id?: string | null
          prompt_key?: string
          rationale?: string | null
          status?: Database["public"]["Enums"]["prompt_status"]
          strategy?: string
          version?: number
        }
        Relationships: [
          {
            foreignKeyName: "ai_prompt_versions_parent_version_id_fkey"
            columns: ["parent_version_id"]
            referencedRelation: "ai_prompt_versions"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_rollout_checks: {
        Row: {
          arms: NonNullable<Json>
          check_no: number
          created_at: string
          decision: NonNullable<Json>
          memory: NonNullable<Json>
          rollout_id: string
        }
        Insert: {
          arms: NonNullable<Json>
          check_no: number
          created_at?: string
          decision: NonNullable<Json>
          memory?: NonNullable<Json>
          rollout_id: string
        }
        Update: {
          arms?: NonNullable<Json>
          check_no?: number
          created_at?: string
          decision?: NonNullable<Json>
          memory?: NonNullable<Json>
          rollout_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "ai_rollout_checks_rollout_id_fkey"
            columns: ["rollout_id"]
            referencedRelation: "ai_rollouts"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_rollout_events: {
        Row: {
          actor: string
          created_at: string
          evidence: Json | null
          id: number
          kind: string
          mode: string
          reason: string
          rollout_id: string
          step: number
        }
        Insert: {
          actor: string
          created_at?: string
          evidence?: Json | null
          id?: never
          kind: string
          mode: string
          reason: string
          rollout_id: string
          step: number
        }
        Update: {
          actor?: string
          created_at?: string
          evidence?: Json | null
          id?: never
          kind?: string
          mode?: string
          reason?: string
          rollout_id?: string
          step?: number
        }
        Relationships: [
          {
            foreignKeyName: "ai_rollout_events_rollout_id_fkey"
            columns: ["rollout_id"]
            referencedRelation: "ai_rollouts"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_rollouts: {
        Row: {
          ended_at: string | null
          experiment_id: string
          held: boolean
          holdback_version_id: string
          holdback_weight: number
          id: string
          plan: NonNullable<Json>
          promoted_version_id: string
          prompt_key: string
          reason: string | null
          started_at: string
          status: string
          step: number
          step_started_at: string
        }
        Insert: {
          ended_at?: string | null
          experiment_id: string
          held?: boolean
          holdback_version_id: string
          holdback_weight: number
          id?: string
          plan: NonNullable<Json>
          promoted_version_id: string
          prompt_key: string
          reason?: string | null
          started_at?: string
          status?: string
          step?: number
          step_started_at?: string
        }
        Update: {
          ended_at?: string | null
          experiment_id?: string
          held?: boolean
          holdback_version_id?: string
          holdback_weight?: number
          id?: string
          plan?: NonNullable<Json>
          promoted_version_id?: string
          prompt_key?: string
          reason?: string | null
          started_at?: string
          status?: string
          step?: number
          step_started_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "ai_rollouts_experiment_id_fkey"
            columns: ["experiment_id"]
            referencedRelation: "ai_ab_experiments"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "ai_rollouts_holdback_version_id_fkey"
            columns: ["holdback_version_id"]
            referencedRelation: "ai_prompt_versions"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "ai_rollouts_promoted_version_id_fkey"
            columns: ["promoted_version_id"]
            referencedRelation: "ai_prompt_versions"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_variant_reviews: {
        Row: {
          deadline: string
          decided_at: string | null
          decided_by: string | null
          id: string
          note: string | null
          prompt_key: string
          requested_at: string
          status: Database["public"]["Enums"]["review_status"]
          version_id: string
          workflow_id: string
        }
        Insert: {
          deadline: string
          decided_at?: string | null
          decided_by?: string | null
          id?: string
          note?: string | null
          prompt_key: string
          requested_at?: string
          status?: Database["public"]["Enums"]["review_status"]
          version_id: string
          workflow_id: string
        }
        Update: {
          deadline?: string
          decided_at?: string | null
          decided_by?: string | null
          id?: string
          note?: string | null
          prompt_key?: string
          requested_at?: string
          status?: Database["public"]["Enums"]["review_status"]
          version_id?: string
          workflow_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "ai_variant_reviews_version_id_fkey"
            columns: ["version_id"]
            referencedRelation: "ai_prompt_versions"
            referencedColumns: ["id"]
          },
        ]
      }
      optimization_jobs: {
        Row: {
          attempts: number
          created_at: string
          created_by: string
          error: string | null
          finished_at: string | null
          id: number
          idempotency_key: string | null
          lease_expires_at: string | null
          lease_owner: string | null
          params: NonNullable<Json>
          result: Json | null
          started_at: string | null
          status: Database["public"]["Enums"]["job_status"]
          type: Database["public"]["Enums"]["job_type"]
          updated_at: string
          workflow_id: string | null
        }
        Insert: {
          attempts?: number
          created_at?: string
          created_by?: string
          error?: string | null
          finished_at?: string | null
          id?: never
          idempotency_key?: string | null
          lease_expires_at?: string | null
          lease_owner?: string | null
          params?: NonNullable<Json>
          result?: Json | null
          started_at?: string | null
          status?: Database["public"]["Enums"]["job_status"]
          type: Database["public"]["Enums"]["job_type"]
          updated_at?: string
          workflow_id?: string | null
        }
        Update: {
          attempts?: number
          created_at?: string
          created_by?: string
          error?: string | null
          finished_at?: string | null
          id?: never
          idempotency_key?: string | null
          lease_expires_at?: string | null
          lease_owner?: string | null
          params?: NonNullable<Json>
          result?: Json | null
          started_at?: string | null
          status?: Database["public"]["Enums"]["job_status"]
          type?: Database["public"]["Enums"]["job_type"]
          updated_at?: string
          workflow_id?: string | null
        }
        Relationships: []
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      advance_rollout: {
        Args: {
          p_actor: string
          p_from_step: number
          p_mode: string
          p_reason: string
          p_rollout_id: string
        }
        Returns: Json
      }
      analyze_prompt: {
        Args: {
          p_latency_p95_ms?: number
          p_min_samples?: number
          p_now?: string
          p_prompt_key: string
          p_window_hours?: number
        }
        Returns: Json
      }
      assign_prompt: {
        Args: { p_prompt_key: string; p_subject_id: string }
        Returns: Json
      }
      claim_next_job: {
        Args: {
          p_lease_seconds?: number
          p_max_claims?: number
          p_worker: string
        }
        Returns: Json
      }
      complete_job: {
        Args: { p_job_id: number; p_result?: Json }
        Returns: Json
      }
      complete_rollout: {
        Args: {
          p_actor: string
          p_evidence?: Json
          p_mode: string
          p_reason: string
          p_rollout_id: string
        }
        Returns: Json
      }
      conclude_experiment: {
        Args: {
          p_decision?: Json
          p_experiment_id: string
          p_outcome: string
          p_reason: string
        }
        Returns: Json
      }
      create_experiment: {
        Args: {
          p_idempotency_key?: string
          p_metric?: string
          p_policy?: Json
          p_prompt_key: string
          p_variant_version_ids: string[]
          p_weights?: number[]
          p_workflow_id?: string
        }
        Returns: Json
      }
      create_job: {
        Args: {
          p_created_by?: string
          p_idempotency_key?: string
          p_params?: Json
          p_type: string
        }
        Returns: Json
      }
      create_prompt_version: {
        Args: {
          p_activate?: boolean
          p_content: string
          p_parent_version_id?: string
          p_prompt_key: string
          p_rationale?: string
          p_strategy?: string
        }
        Returns: Json
      }
      decide_variant_review: {
        Args: {
          p_decision: string
          p_note?: string
          p_reviewer: string
          p_version_id: string
          p_workflow_id: string
        }
        Returns: Json
      }
      experiment_arm_stats: {
        Args: {
          p_experiment_id: string
          p_latency_factor?: number
          p_max_topics?: number
          p_recent_hours?: number
        }
        Returns: Json
      }
      expire_variant_reviews: { Args: { p_workflow_id: string }; Returns: Json }
      fail_job: { Args: { p_error: string; p_job_id: number }; Returns: Json }
      get_active_prompt: { Args: { p_prompt_key: string }; Returns: Json }
      get_experiment: { Args: { p_experiment_id: string }; Returns: Json }
      get_job: { Args: { p_job_id: number }; Returns: Json }
      get_prompt_version: { Args: { p_version_id: string }; Returns: Json }
      get_rollout: { Args: { p_rollout_id: string }; Returns: Json }
      health_totals: { Args: Record<PropertyKey, never>; Returns: Json }
      latest_rollout_check: { Args: { p_rollout_id: string }; Returns: Json }
      latest_snapshot: { Args: { p_experiment_id: string }; Returns: Json }
      list_experiments: {
        Args: { p_limit?: number; p_prompt_key?: string; p_status?: string }
        Returns: Json
      }
      list_insights: {
        Args: { p_prompt_key: string; p_status?: string }
        Returns: Json
      }
      list_jobs: {
        Args: { p_limit?: number; p_status?: string }
        Returns: Json
      }
      list_promotion_events: {
        Args: { p_limit?: number; p_prompt_key?: string }
        Returns: Json
      }
      list_prompt_keys: { Args: Record<PropertyKey, never>; Returns: Json }
      list_prompt_versions: { Args: { p_prompt_key: string }; Returns: Json }
      list_rollout_checks: {
        Args: { p_after_check?: number; p_rollout_id: string }
        Returns: Json
      }
      list_rollouts: {
        Args: { p_limit?: number; p_prompt_key?: string; p_status?: string }
        Returns: Json
      }
      list_snapshots: {
        Args: { p_after_check?: number; p_experiment_id: string }
        Returns: Json
      }
      list_variant_reviews: {
        Args: {
          p_limit?: number
          p_prompt_key?: string
          p_status?: string
          p_version_id?: string
        }
        Returns: Json
      }
      promote_variant: {
        Args: {
          p_actor?: string
          p_decision?: Json
          p_experiment_id: string
          p_kind?: string
          p_reason?: string
          p_rollout?: Json
          p_version_id: string
        }
        Returns: Json
      }
      prompt_keys_with_traffic: {
        Args: { p_min_conversations?: number; p_since: string }
        Returns: Json
      }
      record_conversation: {
        Args: {
          p_created_at?: string
          p_error?: string
          p_external_id?: string
          p_input_excerpt?: string
          p_latency_ms?: number
          p_output_excerpt?: string
          p_prompt_key: string
          p_rating?: number
          p_subject_id?: string
          p_success: boolean
          p_tokens?: number
          p_topic?: string
          p_version_id: string
        }
        Returns: Json
      }
      record_conversation_batch: { Args: { p_rows: Json }; Returns: Json }
      record_conversations: { Args: { p_rows: Json }; Returns: Json }
      record_feedback: {
        Args: { p_items: Json; p_window_seconds?: number }
        Returns: Json
      }
      request_variant_reviews: {
        Args: {
          p_deadline: string
          p_prompt_key: string
          p_version_ids: string[]
          p_workflow_id: string
        }
        Returns: Json
      }
      restart_experiment: {
        Args: { p_actor: string; p_experiment_id: string; p_reason: string }
        Returns: Json
      }
      rollback_prompt: {
        Args: { p_actor: string; p_prompt_key: string; p_reason: string }
        Returns: Json
      }
      rollback_rollout: {
        Args: {
          p_actor: string
          p_evidence?: Json
          p_mode: string
          p_reason: string
          p_rollout_id: string
        }
        Returns: Json
      }
      rollout_arm_stats: {
        Args: { p_latency_factor?: number; p_rollout_id: string }
        Returns: Json
      }
      sample_conversations: {
        Args: { p_kind: string; p_limit?: number; p_version_id: string }
        Returns: Json
      }
      serving_snapshot: { Args: { p_prompt_keys?: string[] }; Returns: Json }
      set_experiment_status: {
        Args: { p_experiment_id: string; p_status: string }
        Returns: Json
      }
      set_experiment_workflow: {
        Args: {
          p_experiment_id: string
          p_stale?: boolean
          p_workflow_id: string
        }
        Returns: Json
      }
      set_rollout_held: {
        Args: {
          p_actor: string
          p_held: boolean
          p_reason: string
          p_rollout_id: string
        }
        Returns: Json
      }
      start_job: {
        Args: { p_job_id: number; p_workflow_id: string }
        Returns: Json
      }
      upsert_insight: {
        Args: {
          p_evidence: Json
          p_is_actionable: boolean
          p_kind: string
          p_prompt_key: string
          p_segment: string
          p_severity: string
          p_version_id: string
        }
        Returns: Json
      }
      write_rollout_check: {
        Args: {
          p_arms: Json
          p_check_no: number
          p_decision: Json
          p_memory: Json
          p_rollout_id: string
        }
        Returns: Json
      }
      write_snapshot: {
        Args: {
          p_arms: Json
          p_check_no: number
          p_decision: Json
          p_experiment_id: string
          p_memory?: Json
        }
        Returns: Json
      }
    }
    Enums: {
      experiment_metric: "success" | "rating"
      experiment_outcome:
        | "promoted"
        | "kept_control"
        | "stopped"
        | "guardrail_stop"
        | "timed_out"
      experiment_status: "running" | "paused" | "concluded"
      insight_kind:
        | "low_success_segment"
        | "low_rating"
        | "verbosity"
        | "latency"
        | "error_rate"
        | "regression"
      insight_severity: "low" | "medium" | "high"
      insight_status: "open" | "resolved"
      job_status: "pending" | "running" | "completed" | "failed"
      job_type:
        | "pattern_analysis"
        | "variant_generation"
        | "experiment_creation"
        | "experiment_monitoring"
        | "full_cycle"
      promotion_kind: "auto" | "approval" | "rollback" | "manual"
      prompt_status: "candidate" | "active" | "archived" | "rejected"
      review_status: "pending" | "accepted" | "rejected" | "expired"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

export const Constants = {
  public: {
    Enums: {
      experiment_metric: ["success", "rating"],
      experiment_outcome: [
        "promoted",
        "kept_control",
        "stopped",
        "guardrail_stop",
        "timed_out",
      ],
      experiment_status: ["running", "paused", "concluded"],
      insight_kind: [
        "low_success_segment",
        "low_rating",
        "verbosity",
        "latency",
        "error_rate",
        "regression",
      ],
      insight_severity: ["low", "medium", "high"],
      insight_status: ["open", "resolved"],
      job_status: ["pending", "running", "completed", "failed"],
      job_type: [
        "pattern_analysis",
        "variant_generation",
        "experiment_creation",
        "experiment_monitoring",
        "full_cycle",
      ],
      promotion_kind: ["auto", "approval", "rollback", "manual"],
      prompt_status: ["candidate", "active", "archived", "rejected"],
      review_status: ["pending", "accepted", "rejected", "expired"],
    },
  },
} as const

