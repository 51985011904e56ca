/**
 * Review before exposure from the command line: list the variants waiting for an operator, and
 * accept or reject each one. The decision goes through the worker's admin API to the cycle that
 * waits for it (its `reviewVariant` update), like the dashboard's buttons.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { isPromptKey, PROMPT_KEY_RULE } from '../domain/prompt-key';
import { MAX_REVIEW_TIMEOUT_HOURS } from '../domain/review';
import type { VariantReviewRow } from '../store/rows';
import type { Context } from './commands';
import { formatAge, formatTime, table } from './format';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REVIEW_STATUSES = ['pending', 'accepted', 'rejected', 'expired', 'all'] as const;
export type ReviewListStatus = (typeof REVIEW_STATUSES)[number];

const versionId = (v: string) => {
  if (!UUID.test(v)) throw new InvalidArgumentError('must be a version id (a UUID).');
  return v;
};
const limit = (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 500) throw new InvalidArgumentError('must be an integer from 1 to 500.');
  return n;
};
const promptKey = (v: string) => {
  if (!isPromptKey(v)) throw new InvalidArgumentError(`${PROMPT_KEY_RULE}.`);
  return v;
};
const hours = (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > MAX_REVIEW_TIMEOUT_HOURS)
    throw new InvalidArgumentError(`must be a whole number of hours from 1 to ${MAX_REVIEW_TIMEOUT_HOURS}.`);
  return n;
};

export interface ReviewCycleOptions {
  review?: boolean;
  reviewTimeout?: number;
}

/** `--review` / `--no-review` / `--review-timeout` on the cycle command. */
export function withReviewOptions(c: Command): Command {
  return c
    .option('--review', "variants wait for an operator's review before any traffic sees them (default: on for llm, off for rules)")
    .option('--no-review', 'expose variants without review')
    .addOption(
      new Option(
        '--review-timeout <hours>',
        `undecided variants expire after this long (default 72, at most ${MAX_REVIEW_TIMEOUT_HOURS})`,
      ).argParser(hours),
    );
}

/** The cycle job parameters the options ask for. */
export function reviewParams(o: ReviewCycleOptions): Record<string, unknown> {
  return {
    ...(o.review !== undefined ? { review: o.review } : {}),
    ...(o.reviewTimeout !== undefined ? { reviewTimeoutHours: o.reviewTimeout } : {}),
  };
}

/** One row per review: the full version id (what accept/reject take), what it is, and its state. */
export function reviewsTable(reviews: VariantReviewRow[], now: Date): string {
  if (reviews.length === 0) return 'no reviews';
  return table(
    ['version id', 'prompt', 'ver', 'strategy', 'status', 'requested', 'deadline', 'decided by'],
    reviews.map((r) => [
      r.version_id,
      r.prompt_key,
      `v${r.version}`,
      r.strategy,
      r.status,
      formatAge(r.requested_at, now),
      r.status === 'pending' ? `${formatTime(r.deadline)} (${formatAge(r.deadline, now)})` : '-',
      r.decided_by ?? '-',
    ]),
  );
}

export async function listReviews(ctx: Context, q: { status?: ReviewListStatus; promptKey?: string; limit?: number }): Promise<void> {
  const { reviews } = await ctx.api().listReviews(q);
  if (ctx.json) ctx.out(JSON.stringify({ reviews }, null, 2));
  else ctx.out(reviewsTable(reviews, ctx.now()));
}

export async function decideReview(
  ctx: Context,
  action: 'accept' | 'reject',
  id: string,
  o: { reviewer: string; note?: string },
): Promise<void> {
  const res = await ctx.api().decideReview(id, action, o);
  if (ctx.json) return ctx.out(JSON.stringify(res, null, 2));
  const left = res.result.pending.length;
  const next =
    left === 0
      ? 'every variant of the cycle is decided: it goes on with the accepted ones'
      : `${left} more variant${left === 1 ? '' : 's'} of the cycle wait${left === 1 ? 's' : ''} for review`;
  ctx.out(
    `${res.result.decision} by ${res.result.reviewer}: ${res.review?.prompt_key ?? ''} v${res.review?.version ?? '?'} (${id}); ${next}`,
  );
}

export function addReviewCommands(
  program: Command,
  deps: { ctx: (c: Command) => Context; examples: (...lines: string[]) => string },
): void {
  program
    .command('reviews')
    .description('list generated variants waiting for review before exposure (or decided ones)')
    .addOption(new Option('--status <status>', 'which reviews (default pending)').choices(REVIEW_STATUSES))
    .option('--prompt-key <key>', 'only reviews of this prompt', promptKey)
    .option('--limit <n>', 'at most n reviews (1-500)', limit)
    .addHelpText('after', deps.examples('reviews', 'reviews --status all --prompt-key support-bot'))
    .action((o: { status?: ReviewListStatus; promptKey?: string; limit?: number }, c: Command) => listReviews(deps.ctx(c), o));

  for (const action of ['accept', 'reject'] as const) {
    program
      .command(`review:${action}`)
      .description(
        action === 'accept'
          ? "accept a variant: it may run in the cycle's experiment"
          : 'reject a variant: it never runs and is not proposed again',
      )
      .argument('<versionId>', 'the variant\'s version id (from "reviews")', versionId)
      .requiredOption('--reviewer <name>', 'who decides (recorded in the audit trail)')
      .option('--note <text>', 'why (recorded with the decision)')
      .addHelpText('after', deps.examples(`review:${action} 5b1e0c2a-... --reviewer alice --note "checked the diff"`))
      .action((id: string, o: { reviewer: string; note?: string }, c: Command) => decideReview(deps.ctx(c), action, id, o));
  }
}
