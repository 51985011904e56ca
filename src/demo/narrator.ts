/**
 * What the demo prints while the cycle runs: one line per workflow step and per monitoring
 * check, from the events watchCycle reports. It also remembers what the summary needs (the
 * analysis, the experiment and its arms) and starts the live traffic when the experiment exists.
 */
import type { AnalysisSummary, ExperimentInfo, GeneratedVariants } from '../activities';
import type { ExperimentPolicy } from '../domain/types';
import { workflowUrl } from '../domain/ids';
import type { PromptVersionRow, Store } from '../store';
import { formatAnalysis, formatCheck, formatExperimentCreated, formatGenerated } from './progress';
import type { WatchEvent } from './watch';

export interface NarratorOptions {
  store: Pick<Store, 'listPromptVersions'>;
  promptKey: string;
  controlVersion: number;
  policy: ExperimentPolicy;
  ui: string;
  namespace: string;
  step: (text: string) => void;
  /** The experiment exists: start the traffic (resolves once it runs). */
  onExperiment: (experiment: ExperimentInfo) => Promise<void>;
  /** Conversations the traffic has sent so far. */
  sent: () => number | undefined;
}

const STEP_TITLES: Record<string, string> = {
  analyzePatterns: '▸ 1/4 analyzing patterns (activity analyzePatterns: SQL aggregates per topic)',
  generateVariants: '▸ 2/4 generating variants (activity generateVariants, strategy rules)',
  createExperiment: '▸ 3/4 creating the experiment (activity createExperiment)',
};

export class CycleNarrator {
  analysis: AnalysisSummary | undefined;
  experiment: ExperimentInfo | undefined;
  private readonly versions = new Map<string, PromptVersionRow>();

  constructor(private readonly opts: NarratorOptions) {}

  /** The arm a version serves in the experiment, or null. */
  armOf(versionId: string): number | null {
    return this.experiment?.arms.find((a) => a.versionId === versionId)?.arm ?? null;
  }

  async onEvent(e: WatchEvent): Promise<void> {
    const { step } = this.opts;
    if (e.type === 'activity-scheduled') step(STEP_TITLES[e.name] ?? `▸ activity ${e.name}`);
    else if (e.type === 'activity-completed') await this.completed(e.name, e.result);
    else if (e.type === 'monitor-started') {
      step(`▸ 4/4 monitoring (child workflow ${e.workflowId}; one line per check from its status query)`);
      step(`  ${workflowUrl(this.opts.ui, this.opts.namespace, e.workflowId)}`);
    } else if (e.type === 'check') {
      step(
        formatCheck({
          checkNo: e.checkNo,
          arms: e.arms,
          decision: e.decision,
          minSamplesPerArm: this.opts.policy.minSamplesPerArm,
          sent: this.opts.sent(),
        }),
      );
    }
  }

  private async completed(name: string, result: unknown): Promise<void> {
    const { step } = this.opts;
    if (name === 'analyzePatterns') {
      this.analysis = result as AnalysisSummary;
      step(formatAnalysis(this.analysis, this.opts.controlVersion));
    } else if (name === 'generateVariants') {
      const g = result as GeneratedVariants;
      await this.loadVersions();
      const rows = g.versionIds.map((id, i) => ({
        arm: i + 1,
        version: this.versions.get(id)?.version ?? 0,
        rationale: this.versions.get(id)?.rationale ?? null,
      }));
      for (const l of formatGenerated(g.strategy, rows, g.rejected.length)) step(l);
    } else if (name === 'createExperiment') {
      this.experiment = result as ExperimentInfo;
      await this.loadVersions();
      const arms = this.experiment.arms.map((a) => ({
        arm: a.arm,
        version: this.versions.get(a.versionId)?.version ?? 0,
        weight: a.weight,
      }));
      for (const l of formatExperimentCreated(this.experiment.experimentId, arms, this.experiment.policy)) step(l);
      await this.opts.onExperiment(this.experiment);
    }
  }

  private async loadVersions(): Promise<void> {
    for (const v of await this.opts.store.listPromptVersions(this.opts.promptKey)) this.versions.set(v.id, v);
  }
}
