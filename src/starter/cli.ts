/**
 * The starter CLI: `npm run starter -- <command>`. Commander wiring only; what each command does
 * is in commands.ts. Exit codes: 0 ok, 1 the API/Temporal refused or a job failed, 2 usage.
 */
import { userInfo } from 'node:os';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadClientConfig, type ClientConfig } from '../config/client';
import { ConfigError } from '../config/config';
import { JOB_TYPES } from '../domain/jobs';
import { isPromptKey, PROMPT_KEY_RULE } from '../domain/prompt-key';
import { ApiError, createApi, WorkerUnreachableError } from './api';
import * as cmd from './commands';
import { JobFailedError, UsageError, type Context } from './commands';
import { addReviewCommands, withReviewOptions } from './reviews';
import { addRolloutCommands } from './rollouts';

const ENV_HELP = `
Settings: the worker's own variables, parsed by the same rules (src/config/client.ts), so a shell
that runs the worker finds it with nothing more:
  WORKER_URL          the worker's admin API (default http://localhost:$PORT; PORT defaults to 8081)
  ADMIN_API_TOKEN     the worker's admin bearer token (required for all but "schedules")
  TEMPORAL_ADDRESS    Temporal frontend for "schedules" (default 127.0.0.1:$TEMPORAL_DEV_PORT, the
                      embedded worker's dev server; TEMPORAL_DEV_PORT defaults to 7233)
  TEMPORAL_NAMESPACE  (default "default"); TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CERT_PATH/KEY_PATH as for the worker

Exit codes: 0 ok, 1 the API or Temporal refused (or a followed job failed), 2 usage error.`;

const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ npm run starter -- ${l}`).join('\n')}`;

// --- argument parsers: a bad value is a usage error (exit 2) reported by commander -------------
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const intIn = (min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
  return n;
};
const promptKey = (v: string) => {
  if (!isPromptKey(v)) throw new InvalidArgumentError(`${PROMPT_KEY_RULE}.`);
  return v;
};
const uuid = (v: string) => {
  if (!UUID.test(v)) throw new InvalidArgumentError('must be an experiment id (a UUID).');
  return v;
};
const jsonObject = (what: string) => (v: string) => {
  try {
    return cmd.readJsonObject(v, what);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

function defaultActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** The client settings, parsed once per command; a bad value is a usage error naming the variable. */
function settingsFrom(env: NodeJS.ProcessEnv): () => ClientConfig {
  let settings: ClientConfig | undefined;
  return () => {
    try {
      settings ??= loadClientConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    return settings;
  };
}

function makeContext(io: Io, json: boolean): Context {
  const settings = settingsFrom(io.env);
  return {
    json,
    out: io.stdout,
    note: io.stderr,
    now: () => new Date(),
    pollMs: 1000,
    settings,
    api: () => {
      const { workerUrl, adminToken } = settings();
      if (!adminToken) throw new UsageError("ADMIN_API_TOKEN is not set: export the worker's admin token");
      return createApi({ baseUrl: workerUrl, token: adminToken });
    },
  };
}

/** What every command registration needs: where to add commands and how to build its context. */
interface Wiring {
  program: Command;
  ctx: (c: Command) => Context;
}

const waitOpt = () =>
  new Option('--wait', "follow the job until it ends (exit 0 completed, 1 failed), showing the experiment's live status");
const submitOpts = (c: Command) =>
  c
    .addOption(waitOpt())
    .option('--idempotency-key <key>', 'the same key never creates a second job')
    .option('--created-by <name>', 'recorded on the job row', defaultActor());

/** `cycle` and `job`: create work. */
function addSubmitCommands({ program, ctx }: Wiring): void {
  withReviewOptions(
    submitOpts(
      program
        .command('cycle')
        .description('run a full optimization cycle for a prompt: analyze -> generate variants -> experiment -> monitor -> promote')
        .argument('<promptKey>', 'the prompt to optimize', promptKey)
        .option('--variants <n>', 'variants to generate (1-5, default 2)', intIn(1, 5))
        .addOption(new Option('--strategy <name>', "variant strategy (default: the worker's VARIANT_STRATEGY)").choices(['rules', 'llm']))
        .option('--force', 'run even when the analysis finds nothing actionable')
        .option('--policy <json|@file>', 'experiment policy overrides, e.g. {"requireApproval":true}', jsonObject('--policy')),
    ),
  )
    .addHelpText(
      'after',
      examples(
        'cycle support-bot --wait',
        'cycle support-bot --variants 3 --policy \'{"requireApproval":true}\'',
        'cycle support-bot --force --policy @policy.json --json',
      ),
    )
    .action((key: string, o: cmd.CycleOptions, c: Command) => cmd.cycle(ctx(c), key, o));

  submitOpts(
    program
      .command('job')
      .description('create a job of any type; the worker starts its workflow at once')
      .addArgument(new Argument('<type>', 'job type').choices(JOB_TYPES))
      .option('--params <json|@file>', 'job parameters, e.g. {"promptKey":"support-bot"}', jsonObject('--params'), {}),
  )
    .addHelpText(
      'after',
      examples(
        'job pattern_analysis --params \'{"promptKey":"support-bot","windowHours":48}\'',
        'job variant_generation --params \'{"promptKey":"support-bot","variantCount":2}\'',
        'job experiment_creation --params @experiment.json --wait',
        'job experiment_monitoring --params \'{"experimentId":"<uuid>"}\'',
      ),
    )
    .action((type: (typeof JOB_TYPES)[number], o: cmd.SubmitOptions & { params: Record<string, unknown> }, c: Command) =>
      cmd.submitJob(ctx(c), type, o.params, o),
    );
}

/** `jobs` and `job:show`. */
function addJobCommands({ program, ctx }: Wiring): void {
  program
    .command('jobs')
    .description('list recent jobs, newest first')
    .addOption(new Option('--status <status>', 'only jobs in this status').choices(['pending', 'running', 'completed', 'failed']))
    .option('--limit <n>', 'at most n jobs (1-500)', intIn(1, 500))
    .addHelpText('after', examples('jobs', 'jobs --status failed --limit 5'))
    .action((o: { status?: 'pending' | 'running' | 'completed' | 'failed'; limit?: number }, c: Command) => cmd.listJobs(ctx(c), o));

  program
    .command('job:show')
    .description('show one job: parameters, status, result or error, workflow link')
    .argument('<id>', 'job id', intIn(1, Number.MAX_SAFE_INTEGER))
    .addOption(waitOpt())
    .addHelpText('after', examples('job:show 42', 'job:show 42 --wait'))
    .action((id: number, o: { wait?: boolean }, c: Command) => cmd.showJob(ctx(c), id, o));
}

/** Experiments: list, show, approve, stop, restart, pause, resume. */
function addExperimentCommands({ program, ctx }: Wiring): void {
  program
    .command('experiments')
    .description('list experiments, newest first')
    .addOption(new Option('--status <status>', 'only experiments in this status').choices(['running', 'paused', 'concluded']))
    .option('--prompt-key <key>', 'only experiments of this prompt', promptKey)
    .option('--limit <n>', 'at most n experiments (1-500)', intIn(1, 500))
    .addHelpText('after', examples('experiments --status running', 'experiments --prompt-key support-bot'))
    .action((o: { status?: string; promptKey?: string; limit?: number }, c: Command) => cmd.listExperiments(ctx(c), o));

  program
    .command('experiment:show')
    .description('show one experiment: arms, live monitor status, latest decision and its reason, snapshots, link')
    .argument('<experimentId>', 'experiment id', uuid)
    .addHelpText('after', examples('experiment:show 3f0c9a6e-...'))
    .action((id: string, _o: unknown, c: Command) => cmd.showExperiment(ctx(c), id));

  program
    .command('approve')
    .description('approve the pending winner of an experiment whose policy requires approval; it is promoted')
    .argument('<experimentId>', 'experiment id', uuid)
    .requiredOption('--approver <name>', 'who approves (recorded in the audit trail)')
    .option('--note <text>', 'why (recorded as the promotion reason)')
    .addHelpText('after', examples('approve 3f0c9a6e-... --approver alice --note "reviewed transcripts"'))
    .action((id: string, o: { approver: string; note?: string }, c: Command) => cmd.approve(ctx(c), id, o));

  program
    .command('stop')
    .description('stop an experiment: control stays active, the variants are rejected')
    .argument('<experimentId>', 'experiment id', uuid)
    .option('--reason <text>', 'recorded as the decision reason')
    .option('--actor <name>', 'who stops it', defaultActor())
    .addHelpText('after', examples('stop 3f0c9a6e-... --reason "wrong audience" --actor carol'))
    .action((id: string, o: { reason?: string; actor?: string }, c: Command) => cmd.signal(ctx(c), 'stop', id, o));

  program
    .command('restart')
    .description('restart an experiment as a new one (after a sample ratio mismatch, once the assignment is fixed)')
    .argument('<experimentId>', 'experiment id', uuid)
    .option('--reason <text>', 'recorded on the old experiment')
    .option('--actor <name>', 'who restarts it', defaultActor())
    .addHelpText('after', examples('restart 3f0c9a6e-... --reason "assignment fixed" --actor carol'))
    .action((id: string, o: { reason?: string; actor: string }, c: Command) => cmd.restart(ctx(c), id, o));

  for (const name of ['pause', 'resume'] as const) {
    program
      .command(name)
      .description(name === 'pause' ? 'pause an experiment: all traffic goes to control, no checks run' : 'resume a paused experiment')
      .argument('<experimentId>', 'experiment id', uuid)
      .addHelpText('after', examples(`${name} 3f0c9a6e-...`))
      .action((id: string, _o: unknown, c: Command) => cmd.signal(ctx(c), name, id));
  }
}

/** Prompts: roll back, seed. */
function addPromptCommands({ program, ctx }: Wiring): void {
  program
    .command('rollback')
    .description('make the previously active version of a prompt active again (audited)')
    .argument('<promptKey>', 'the prompt', promptKey)
    .requiredOption('--actor <name>', 'who rolls back')
    .requiredOption('--reason <text>', 'why')
    .addHelpText('after', examples('rollback support-bot --actor alice --reason "complaints since the promotion"'))
    .action((key: string, o: { actor: string; reason: string }, c: Command) => cmd.rollback(ctx(c), key, o));

  program
    .command('seed')
    .description('store a prompt version from a file (same content twice is a no-op)')
    .argument('<promptKey>', 'the prompt', promptKey)
    .requiredOption('--file <path>', 'file with the prompt text')
    .option('--activate', 'make it the active version')
    .option('--rationale <text>', 'why this version exists')
    .addHelpText('after', examples('seed support-bot --file prompts/support.txt --activate'))
    .action((key: string, o: { file: string; activate?: boolean; rationale?: string }, c: Command) => cmd.seed(ctx(c), key, o));
}

/** `schedules list|pause|resume|trigger`, through Temporal directly. */
function addScheduleCommands({ program, ctx }: Wiring): void {
  const schedules = program
    .command('schedules')
    .description("the worker's Temporal Schedules (analysis sweep, reconcile, job intake), via Temporal directly")
    .addHelpText(
      'after',
      examples('schedules list', 'schedules pause all --note "maintenance"', 'schedules resume all', 'schedules trigger job-intake'),
    );
  schedules
    .command('list')
    .description('id, interval, paused, next run, recent actions')
    .action((_o: unknown, c: Command) => cmd.schedulesList(ctx(c)));
  schedules
    .command('pause')
    .description('pause one schedule, or all')
    .argument('<id|all>', 'schedule id or "all"')
    .option('--note <text>', 'why (shown by "schedules list")')
    .action((id: string, o: { note?: string }, c: Command) => cmd.schedulesPause(ctx(c), id, 'pause', o.note));
  schedules
    .command('resume')
    .description('resume one schedule, or all')
    .argument('<id|all>', 'schedule id or "all"')
    .option('--note <text>', 'why')
    .action((id: string, o: { note?: string }, c: Command) => cmd.schedulesPause(ctx(c), id, 'resume', o.note));
  schedules
    .command('trigger')
    .description("run a schedule's workflow now (also when paused)")
    .argument('<id>', 'schedule id')
    .action((id: string, _o: unknown, c: Command) => cmd.schedulesTrigger(ctx(c), id));
}

export function buildProgram(io: Io): Command {
  const program = new Command('starter')
    .description(
      'Operate the prompt optimization worker: start jobs and cycles, follow experiments, approve, steer rollouts, roll back, manage schedules.',
    )
    .option('--json', 'machine-readable output (one JSON document on stdout)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (s, write) => write(s) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', ENV_HELP);
  const wiring: Wiring = { program, ctx: (c: Command) => makeContext(io, Boolean(c.optsWithGlobals<{ json?: boolean }>().json)) };
  for (const add of [addSubmitCommands, addJobCommands, addExperimentCommands, addPromptCommands]) add(wiring);
  addReviewCommands(program, { ctx: wiring.ctx, examples });
  addRolloutCommands(program, { ctx: wiring.ctx, examples });
  addScheduleCommands(wiring);
  return program;
}

/** One line on stderr per expected error, and its exit code; never a stack trace. */
export function reportError(err: unknown, stderr: (text: string) => void): number {
  if (err instanceof CommanderError) {
    // commander already printed the message or the help; help on request is a success.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof UsageError) {
    stderr(`error: ${err.message}`);
    return 2;
  }
  if (err instanceof ApiError) {
    const hint = err.status === 401 ? ' (check ADMIN_API_TOKEN)' : '';
    stderr(`error: ${err.message} (HTTP ${err.status})${hint}`);
    return 1;
  }
  // TemporalCliError by name: its module is imported lazily, and under tsx a dynamic import may be
  // a second module instance whose class is not the one a static import would see.
  if (err instanceof WorkerUnreachableError || err instanceof JobFailedError || (err instanceof Error && err.name === 'TemporalCliError')) {
    stderr(`error: ${err.message}`);
    return 1;
  }
  stderr(`error: unexpected: ${(err as Error)?.message ?? String(err)}`);
  return 1;
}

/** Runs the CLI and resolves to its exit code. Every line written passes the token redactor. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const secrets = [env.ADMIN_API_TOKEN?.trim(), env.TEMPORAL_API_KEY?.trim()].filter((s): s is string => Boolean(s));
  const redact = (text: string) => secrets.reduce((t, s) => t.split(s).join('***'), text);
  const line = (stream: NodeJS.WriteStream) => (text: string) => {
    stream.write(redact(text.endsWith('\n') ? text : `${text}\n`));
  };
  const io: Io = { stdout: line(process.stdout), stderr: line(process.stderr), env };
  try {
    await buildProgram(io).parseAsync(argv);
    return 0;
  } catch (err) {
    return reportError(err, io.stderr);
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
    // Keep-alive sockets must not hold a finished command open; stdout drains first.
    setTimeout(() => process.exit(code), 200).unref();
  });
}
