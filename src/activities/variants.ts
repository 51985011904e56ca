import { ApplicationFailure, cancellationSignal } from '@temporalio/activity';
import { FAILURE } from '../domain/failures';
import type { RejectedCandidate } from '../domain/rejections';
import type { Insight } from '../domain/types';
import type { InsightRow } from '../store';
import { generateVariants as runStrategy, LlmError } from '../variants';
import type { ActivityDeps } from './deps';
import { finalOnBadInput, safeHeartbeat, withHeartbeat } from './errors';

export interface GeneratedVariants {
  controlVersionId: string;
  versionIds: string[];
  /** Versions that already existed with the same normalized content (a retry, or an earlier run). */
  reused: number;
  /** Every refused candidate with its reason code (also counted in /metrics). */
  rejected: RejectedCandidate[];
  strategy: string;
}

function toInsight(row: InsightRow): Insight {
  return {
    id: row.id,
    promptKey: row.prompt_key,
    versionId: row.version_id,
    kind: row.kind,
    segment: row.segment,
    evidence: row.evidence as Record<string, unknown>,
    severity: row.severity,
    isActionable: row.is_actionable,
    fingerprint: row.fingerprint,
  };
}

function currentSignal(): AbortSignal | undefined {
  try {
    return cancellationSignal();
  } catch {
    return undefined;
  }
}

export function variantActivities(deps: ActivityDeps) {
  const { store, counters } = deps;
  return {
    /**
     * Generates, validates and stores candidate versions. Idempotent: the database dedupes by
     * normalized content, so a retry gets the same version rows back instead of new ones.
     */
    async generateVariants(input: { promptKey: string; count?: number; strategy?: string }): Promise<GeneratedVariants> {
      const name = input.strategy ?? deps.defaultStrategy;
      const strategy = deps.strategies[name];
      if (!strategy) {
        throw ApplicationFailure.create({
          type: FAILURE.UnknownStrategy,
          message: `variant strategy "${name}" is not configured`,
          nonRetryable: true,
        });
      }
      const control = await finalOnBadInput(() => store.getActivePrompt(input.promptKey));
      const [insights, best, failures, versions] = await Promise.all([
        store.listInsights(input.promptKey, 'open'),
        store.sampleConversations(control.id, 'best', 5),
        store.sampleConversations(control.id, 'failures', 5),
        store.listPromptVersions(input.promptKey),
      ]);
      // Versions that already ran and lost (or were replaced) are not worth trying again. Live
      // candidates are not "earlier": a retry must find and reuse them.
      const earlier = versions.filter((v) => v.status === 'archived' || v.status === 'rejected').map((v) => v.content);
      let generated;
      try {
        generated = await withHeartbeat(
          runStrategy(
            strategy,
            {
              promptKey: input.promptKey,
              control: { versionId: control.id, content: control.content },
              insights: insights.filter((i) => i.version_id === control.id).map(toInsight),
              best,
              failures,
              count: input.count ?? 2,
            },
            earlier,
            { signal: currentSignal() },
          ),
        );
      } catch (err) {
        if (err instanceof LlmError && !err.retryable) {
          throw ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: true });
        }
        throw err;
      }
      safeHeartbeat();
      for (const r of generated.rejected) {
        deps.rejections.count({ code: r.code, strategy: strategy.name });
        deps.logger.warn(
          { promptKey: input.promptKey, strategy: strategy.name, code: r.code, reason: r.reason },
          'variant candidate rejected',
        );
      }

      const versionIds: string[] = [];
      let reused = 0;
      for (const candidate of generated.accepted) {
        const row = await finalOnBadInput(() =>
          store.createPromptVersion({
            promptKey: input.promptKey,
            content: candidate.content,
            parentVersionId: control.id,
            strategy: candidate.strategy,
            rationale: candidate.rationale,
          }),
        );
        // Content equal to an archived or rejected version is not a new idea: skip it.
        if (row.status !== 'candidate') continue;
        if (!row.created) reused++;
        else counters.variantsGenerated++;
        versionIds.push(row.id);
      }
      return { controlVersionId: control.id, versionIds, reused, rejected: generated.rejected, strategy: strategy.name };
    },
  };
}
