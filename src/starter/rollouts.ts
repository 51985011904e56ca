/**
 * Guarded rollouts from the command line: list them, show one (step, split, plan, audit trail,
 * the latest evidence), and steer one (advance, hold, resume, finish, roll back) through the
 * worker's admin API, like the dashboard's buttons. Every steering write is an audited event.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { isPromptKey, PROMPT_KEY_RULE } from '../domain/prompt-key';
import { DEFAULT_POLICY, type Metric } from '../domain/types';
import type { RolloutStatus } from '../store/rows';
import type { AdminApi, RolloutAction } from './api';
import { ApiError } from './api';
import type { Context } from './commands';
import { rolloutDetailLines, rolloutsTable, steeredLines, type EvidenceScale } from './rollout-format';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUSES = ['live', 'completed', 'rolled_back'] as const;
const ACTIONS: ReadonlyArray<{ name: RolloutAction; description: string }> = [
  { name: 'advance', description: 'move the ramp to its next step now (pinned to the step it read: a second run does not skip a step)' },
  { name: 'hold', description: 'hold the ramp at its step: the split and the watch go on (it still rolls back), no automatic step' },
  { name: 'resume', description: 'let a held ramp go on by itself' },
  { name: 'finish', description: 'end the rollout now: the holdback is released, the promoted version serves everyone' },
  { name: 'rollback', description: 'put the holdback version back as the active version and end the rollout' },
];

const rolloutId = (v: string) => {
  if (!UUID.test(v)) throw new InvalidArgumentError('must be a rollout id (a UUID).');
  return v;
};
const promptKey = (v: string) => {
  if (!isPromptKey(v)) throw new InvalidArgumentError(`${PROMPT_KEY_RULE}.`);
  return v;
};
const intIn = (min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
  return n;
};

const printJson = (ctx: Context, value: unknown) => ctx.out(JSON.stringify(value, null, 2));

export async function listRollouts(ctx: Context, q: { status?: RolloutStatus; promptKey?: string; limit?: number }): Promise<void> {
  const { rollouts } = await ctx.api().listRollouts(q);
  if (ctx.json) printJson(ctx, { rollouts });
  else ctx.out(rolloutsTable(rollouts, ctx.now()));
}

/** The metric and alpha of the rollout's experiment: how to read its estimate. */
async function evidenceScale(api: AdminApi, experimentId: string): Promise<EvidenceScale> {
  try {
    const { experiment } = await api.getExperiment(experimentId);
    const alpha = (experiment.policy as { alpha?: unknown } | null)?.alpha;
    return { metric: experiment.metric as Metric, alpha: typeof alpha === 'number' ? alpha : DEFAULT_POLICY.alpha };
  } catch (err) {
    if (err instanceof ApiError) return { metric: 'success', alpha: DEFAULT_POLICY.alpha };
    throw err;
  }
}

export async function showRollout(ctx: Context, id: string): Promise<void> {
  const api = ctx.api();
  const detail = await api.getRollout(id);
  if (ctx.json) return printJson(ctx, detail);
  const scale = await evidenceScale(api, detail.rollout.experiment_id);
  ctx.out(rolloutDetailLines(detail, scale, ctx.now()).join('\n'));
}

export async function steerRollout(
  ctx: Context,
  action: RolloutAction,
  id: string,
  o: { actor: string; reason?: string; fromStep?: number },
): Promise<void> {
  const api = ctx.api();
  // An advance names the step it leaves (1-based): the one given, else the one read now. A
  // second run (or a second operator) then finds that step left and changes nothing.
  const fromStep = action === 'advance' ? (o.fromStep ?? (await api.getRollout(id)).rollout.step + 1) : undefined;
  const body = { actor: o.actor, ...(o.reason !== undefined ? { reason: o.reason } : {}), ...(fromStep !== undefined ? { fromStep } : {}) };
  const res = await api.steerRollout(id, action, body);
  if (ctx.json) return printJson(ctx, res);
  ctx.out(steeredLines(action, res, fromStep).join('\n'));
}

export function addRolloutCommands(
  program: Command,
  deps: { ctx: (c: Command) => Context; examples: (...lines: string[]) => string },
): void {
  program
    .command('rollouts')
    .description('list guarded rollouts after promotions, newest first: phase, step, holdback/promoted split')
    .addOption(new Option('--status <status>', 'only rollouts in this status').choices(STATUSES))
    .option('--prompt-key <key>', 'only rollouts of this prompt', promptKey)
    .option('--limit <n>', 'at most n rollouts (1-500)', intIn(1, 500))
    .addHelpText('after', deps.examples('rollouts --status live', 'rollouts --prompt-key support-bot'))
    .action((o: { status?: RolloutStatus; promptKey?: string; limit?: number }, c: Command) => listRollouts(deps.ctx(c), o));

  const rollout = program
    .command('rollout')
    .description(
      'show one rollout (phase, step, split, plan, audit trail, latest evidence, link); steer it with "rollout advance|hold|resume|finish|rollback <rolloutId> --actor <name>"',
    )
    .argument('<rolloutId>', 'rollout id (from "rollouts")', rolloutId)
    .addHelpText(
      'after',
      deps.examples(
        'rollout 3f0c9a6e-...',
        'rollout hold 3f0c9a6e-... --actor alice --reason "incident review"',
        'rollout advance 3f0c9a6e-... --actor alice',
        'rollout rollback 3f0c9a6e-... --actor alice --reason "complaints since the promotion"',
      ),
    )
    .action((id: string, _o: unknown, c: Command) => showRollout(deps.ctx(c), id));

  for (const a of ACTIONS) {
    const sub = rollout
      .command(a.name)
      .description(a.description)
      .argument('<rolloutId>', 'rollout id', rolloutId)
      .requiredOption('--actor <name>', 'who does it (recorded in the audit trail)')
      .option('--reason <text>', 'why (recorded in the audit trail)');
    if (a.name === 'advance')
      sub.option('--from-step <n>', 'the step (1-based, as shown) to leave; default: the step the rollout is at now', intIn(1, 10));
    sub.action((id: string, o: { actor: string; reason?: string; fromStep?: number }, c: Command) =>
      steerRollout(deps.ctx(c), a.name, id, o),
    );
  }
}
