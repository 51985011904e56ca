/**
 * `npm run demo`: the whole product on one machine in about a minute, with nothing configured.
 * Starts a local Temporal dev server (Web UI included), the embedded PGlite store, the worker and
 * its HTTP API; seeds a prompt with a weak topic and its logged history; runs one optimization
 * cycle in compressed time while simulated users keep arriving through assign_prompt and
 * record_conversations; prints each step and check, then a summary. Ctrl-C stops everything.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { createPromptClient, type PromptClient } from '@prompt-optimization/client';
import type { AnalysisSummary, ExperimentInfo } from '../activities';
import { loadConfig, type Config } from '../config/config';
import { resolvePolicy } from '../domain/policy';
import { clearLeftoverDevServer, DevServerError } from '../temporal/dev-server';
import { cycleWorkflowId, monitorWorkflowId, workflowUrl } from '../domain/ids';
import { createLogger } from '../worker/logger';
import { startService, type RunningService } from '../worker/service';
import type { CycleResult } from '../workflows/cycle';
import type { optimizationCycle } from '../workflows';
import { formatSummary, stamp, type SummaryView } from './progress';
import { followRollout, regressionSummary, rolloutLine } from './regression';
import {
  addedText,
  addressesWeakTopic,
  CONTROL_PROMPT,
  DEMO_POLICY,
  HISTORY_CONVERSATIONS,
  LIFT,
  PROMPT_KEY,
  regressedRate,
  seedHistory,
  TOPICS,
  trueOverallRate,
  VARIANT_COUNT,
  WEAK_TOPIC,
} from './scenario';
import { CycleNarrator } from './narrator';
import { TrafficSimulator } from './simulator';
import { watchCycle } from './watch';

export interface DemoOptions {
  seed: number;
  seedGiven: boolean;
  keepRunning: boolean;
  keepData: boolean;
  port: number;
  uiPort: number;
  temporalPort: number;
  dataDir: string;
  /** `plain`: the cycle to its promotion; `regression`: then the promoted version turns worse and the watch rolls it back. */
  scenario: 'plain' | 'regression';
}

/** How long `--scenario regression` waits for the watch to roll back before it calls the run a failure. */
const ROLLBACK_TIMEOUT_MS = 90_000;

const BATCH_SIZE = 60;
const BATCH_INTERVAL_MS = 250;

function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

export function parseArgs(argv: string[]): DemoOptions {
  const program = new Command()
    .name('npm run demo --')
    .description('Run one full prompt optimization cycle locally (Temporal dev server + PGlite), with simulated traffic.')
    .option('--seed <n>', 'seed of every random source (same seed: same traffic, same decision)', intOption('--seed', 0, 2 ** 32 - 1))
    .option('--keep-running', 'leave the worker, the HTTP API, the Web UI and the schedules up after the summary (Ctrl-C stops)', false)
    .option('--keep-data', 'keep the data folder of earlier runs instead of wiping it', false)
    .option('--port <n>', 'HTTP API port', intOption('--port', 1, 65535), 8081)
    .option('--ui-port <n>', 'Temporal Web UI port', intOption('--ui-port', 1, 65535), 8233)
    .option('--temporal-port <n>', 'Temporal dev server gRPC port', intOption('--temporal-port', 1, 65535), 7233)
    .option('--data-dir <dir>', 'data folder (PGlite, Temporal SQLite file, worker log)', '.data/demo')
    .addOption(
      new Option(
        '--scenario <name>',
        'plain: one cycle to its promotion; regression: then the promoted version turns worse and the watch rolls it back',
      )
        .choices(['plain', 'regression'])
        .default('plain'),
    )
    .exitOverride()
    .parse(argv, { from: 'user' });
  const o = program.opts<{
    seed?: number;
    keepRunning: boolean;
    keepData: boolean;
    port: number;
    uiPort: number;
    temporalPort: number;
    dataDir: string;
    scenario: DemoOptions['scenario'];
  }>();
  return {
    seed: o.seed ?? randomBytes(4).readUInt32BE(0) % 1_000_000,
    seedGiven: o.seed !== undefined,
    keepRunning: o.keepRunning,
    keepData: o.keepData,
    port: o.port,
    uiPort: o.uiPort,
    temporalPort: o.temporalPort,
    dataDir: path.resolve(o.dataDir),
    scenario: o.scenario,
  };
}

function listenable(port: number, host?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** True when nothing listens on the port (IPv4 loopback and all interfaces). */
export async function portFree(port: number): Promise<boolean> {
  return (await listenable(port, '127.0.0.1')) && (await listenable(port));
}

function demoConfig(opts: DemoOptions, tokens: { admin: string; ingest: string }): Config {
  // Only what the demo decides: no TEMPORAL_ADDRESS / DATABASE_URL, whatever the shell has set.
  const env: NodeJS.ProcessEnv = {
    PORT: String(opts.port),
    TEMPORAL_DEV_PORT: String(opts.temporalPort),
    TEMPORAL_UI_PORT: String(opts.uiPort),
    TEMPORAL_DEV_DB_FILE: path.join(opts.dataDir, 'temporal.db'),
    PGLITE_DATA_DIR: path.join(opts.dataDir, 'pglite'),
    ADMIN_API_TOKEN: tokens.admin,
    INGEST_API_TOKEN: tokens.ingest,
    SCHEDULES_ENABLED: 'true',
    SHUTDOWN_GRACE: '5s',
    LOG_LEVEL: 'info',
  };
  if (process.env.TEMPORAL_CLI_PATH) env.TEMPORAL_CLI_PATH = process.env.TEMPORAL_CLI_PATH;
  return loadConfig(env);
}

/**
 * The Temporal SDK's logs (its own and the native core's) go to the worker log at WARN, not the
 * terminal; signals are ours to handle.
 */
function installSdkRuntime(sdkLogger: pino.Logger): void {
  Runtime.install({
    logger: new DefaultLogger('WARN', ({ level, message, meta }) => {
      const fields = meta && typeof meta === 'object' ? { sdk: meta } : {};
      if (level === 'ERROR') sdkLogger.error(fields, message);
      else if (level === 'WARN') sdkLogger.warn(fields, message);
      else sdkLogger.debug(fields, message);
    }),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
    shutdownSignals: [],
  });
}

class Demo {
  private readonly t0 = Date.now();
  private readonly abort = new AbortController();
  private starting: Promise<RunningService> | undefined;
  private service: RunningService | undefined;
  private simulator: TrafficSimulator | undefined;
  private client: PromptClient | undefined;
  /** Content of the version whose TRUE success has regressed (`--scenario regression`), or null. */
  private degraded: string | null = null;
  private stopping: Promise<void> | undefined;
  private finished = false;
  private signals = 0;
  private firstSignalAt = 0;

  constructor(private readonly opts: DemoOptions) {}

  private out(text = ''): void {
    process.stdout.write(`${text}\n`);
  }

  private step(text: string): void {
    this.out(stamp(Date.now() - this.t0, text));
  }

  installSignalHandlers(): void {
    const onSignal = (signal: NodeJS.Signals) => {
      this.signals++;
      if (this.signals > 1) {
        // One Ctrl-C can reach us twice (terminal + npm/tsx relay); only a deliberate second one forces.
        if (Date.now() - this.firstSignalAt < 2_000) return;
        this.out('Second signal: exiting now (a Temporal dev server left running is stopped by the next run on this data folder).');
        process.exit(130);
      }
      this.firstSignalAt = Date.now();
      this.out();
      this.step(`${signal} received: shutting down (Ctrl-C again to force)`);
      const code = this.finished ? 0 : signal === 'SIGINT' ? 130 : 143;
      void this.shutdown(code);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  /** Idempotent: simulator, then service (worker, HTTP, store, Temporal dev server), then exit. */
  async shutdown(code: number): Promise<never> {
    this.stopping ??= (async () => {
      this.abort.abort();
      await this.simulator?.stop().catch(() => undefined);
      await this.client?.close({ timeoutMs: 3_000 }).catch(() => undefined);
      if (!this.service && this.starting) {
        this.step('waiting for start-up to finish before stopping it…');
        this.service = await this.starting.catch(() => undefined);
        if (!this.service) this.step('start-up did not complete; everything it started is closed');
      }
      if (this.service) {
        this.step('stopping the worker, the HTTP API, the store and the Temporal dev server…');
        await this.service.stop();
        this.step('stopped cleanly');
      }
    })().catch((err: unknown) => {
      this.out(`shutdown failed: ${(err as Error).message}`);
      code = code === 0 ? 1 : code;
    });
    await this.stopping;
    process.exit(code);
  }

  /** Worker log lines go to a file; the few that mark start-up progress and every warning are echoed. */
  private logDestination(file: string): pino.DestinationStream {
    const dest = pino.destination({ dest: file, sync: true, mkdir: true });
    return {
      write: (line: string) => {
        dest.write(line);
        let o: {
          level?: number;
          msg?: string;
          err?: string;
          store?: string;
          address?: string;
          port?: number;
          cli?: string;
          source?: string;
          schedules?: Array<{ id: string; action: string }>;
        };
        try {
          o = JSON.parse(line) as typeof o;
        } catch {
          return;
        }
        if (o.msg === 'store ready') this.step(`  store ready: ${o.store} (migrations applied)`);
        else if (o.msg === 'temporal CLI') this.step(`  temporal CLI: ${o.cli} (${o.source})`);
        else if (o.msg?.startsWith('installing ') || o.msg?.startsWith('could not install')) this.step(`  ${o.msg}`);
        else if (o.msg === 'temporal connected') this.step(`  Temporal dev server up at ${o.address}`);
        else if (o.msg === 'schedules ensured')
          this.step(`  schedules: ${(o.schedules ?? []).map((s) => `${s.id} ${s.action}`).join(', ')}`);
        else if (o.msg === 'http listening') this.step(`  worker polling task queue, HTTP API on :${o.port}`);
        else if ((o.level ?? 0) >= 40 && !this.abort.signal.aborted)
          this.step(`  worker ${o.level! >= 50 ? 'error' : 'warning'}: ${o.msg}${o.err ? ` (${o.err})` : ''}`);
      },
    };
  }

  async run(): Promise<void> {
    const { opts } = this;
    this.out(`Prompt optimization demo: seed ${opts.seed}${opts.seedGiven ? '' : ` (random; reproduce with --seed ${opts.seed})`}`);
    await this.prepareDataDir();
    await this.checkPorts();
    const tokens = { admin: randomBytes(18).toString('base64url'), ingest: randomBytes(18).toString('base64url') };
    const { service, config } = await this.startWorker(tokens);
    if (this.abort.signal.aborted) return;
    const promptKey = await this.freshPromptKey(service);
    this.printAccess(service, config, tokens, promptKey);
    const seeded = await this.seed(service, promptKey);
    const workflowId = await this.startCycle(service, config, promptKey);
    this.client = await this.connectSdk(service.httpPort, tokens.ingest);

    const narrator = new CycleNarrator({
      store: service.store,
      promptKey,
      controlVersion: seeded.controlVersion,
      policy: resolvePolicy(DEMO_POLICY),
      ui: config.temporal.uiUrl,
      namespace: config.temporal.namespace,
      step: (t) => this.step(t),
      onExperiment: () => this.startTraffic(promptKey),
      sent: () => this.simulator?.total,
    });
    const result: CycleResult = await watchCycle({
      client: service.temporal.client,
      store: service.store,
      workflowId,
      onEvent: (e) => narrator.onEvent(e),
      signal: this.abort.signal,
    });
    const regression = this.opts.scenario === 'regression' ? await this.regress(service, result) : undefined;
    await this.simulator?.stop();
    const delivered = await this.client.flush();
    this.step(
      `cycle finished: ${result.outcome}; traffic simulator stopped after ${this.simulator?.total ?? 0} live conversations` +
        ` (${this.client.stats().delivered} delivered through the SDK${delivered.ok ? '' : `, ${delivered.pending} still queued`})`,
    );
    const summary = await this.summary({
      promptKey,
      result,
      analysis: narrator.analysis ?? result.analysis,
      controlVersion: seeded.controlVersion,
      armOf: (id) => narrator.armOf(id),
      experiment: narrator.experiment,
      ui: config.temporal.uiUrl,
      ns: config.temporal.namespace,
      workflowId,
    });
    for (const l of formatSummary(summary)) this.out(l);
    const rolloutId = result.monitor?.promotion?.rolloutId;
    if (rolloutId) this.out(rolloutLine(await service.store.getRollout(rolloutId)));
    for (const l of regression?.lines ?? []) this.out(l);
    this.finished = true;
    if (regression && !regression.ok && !this.opts.keepRunning) return this.shutdown(1);
    await this.finish(service);
  }

  /**
   * `--scenario regression`: the model behind the promoted version changes (the simulator lowers
   * its TRUE success on every topic) while traffic keeps flowing through the rollout's split;
   * waits for the watch to roll it back and checks the outcome against the truth.
   */
  private async regress(service: RunningService, result: CycleResult) {
    const promotion = result.monitor?.promotion;
    if (!promotion?.rolloutId) {
      return {
        ok: false,
        lines: [`Truth check: the regression scenario needs a promotion with a rollout; the cycle ended ${result.outcome} (WRONG).`],
      };
    }
    const store = service.store;
    const promoted = await store.getPromptVersion(promotion.toVersionId);
    const started = await store.getRollout(promotion.rolloutId);
    const holdback = await store.getPromptVersion(started.holdback_version_id);
    this.step(rolloutLine(started));
    this.step(`simulating a regression: the model behind v${promoted.version} changes, its TRUE success drops on every topic`);
    this.degraded = promoted.content;
    const t0 = Date.now();
    const end = await followRollout(store, promotion.rolloutId, {
      timeoutMs: ROLLBACK_TIMEOUT_MS,
      signal: this.abort.signal,
      step: (t) => this.step(t),
    });
    const seconds = (Date.now() - t0) / 1000;
    this.step(`rollout ${end.status} after ${seconds.toFixed(1)} s`);
    return regressionSummary({
      rollout: end,
      events: await store.listPromotionEvents(end.prompt_key),
      activeVersionId: (await store.getActivePrompt(end.prompt_key)).id,
      trueRates: {
        promotedBefore: trueOverallRate(promoted.content),
        promotedAfter: TOPICS.reduce((sum, t) => sum + t.share * regressedRate(promoted.content)(promoted.content, t.name), 0),
        holdback: trueOverallRate(holdback.content),
      },
      secondsToRollback: seconds,
    });
  }

  /**
   * Stops a dev server that a killed earlier run left on this data folder (found by its pidfile;
   * one whose owner still runs means another demo uses the folder); wipes the folder unless --keep-data.
   */
  private async prepareDataDir(): Promise<void> {
    const { opts } = this;
    try {
      await clearLeftoverDevServer(path.join(opts.dataDir, 'temporal.db'), {
        debug: () => undefined,
        info: (_o, msg) => this.step(msg),
        warn: (o, msg) => this.step(`${msg} (pid ${(o as { pid?: number }).pid})`),
      });
    } catch (err) {
      if (!(err instanceof DevServerError)) throw err;
      this.out(`Another demo is running on ${opts.dataDir} (${err.message}): stop it first, or use --data-dir.`);
      process.exit(2);
    }
    if (!opts.keepData) rmSync(opts.dataDir, { recursive: true, force: true });
    mkdirSync(opts.dataDir, { recursive: true });
  }

  private async checkPorts(): Promise<void> {
    const { opts } = this;
    const busy: string[] = [];
    for (const [flag, port] of [
      ['--port', opts.port],
      ['--ui-port', opts.uiPort],
      ['--temporal-port', opts.temporalPort],
    ] as const) {
      if (!(await portFree(port))) busy.push(`${flag} ${port}`);
    }
    if (busy.length > 0) {
      this.out(`Port in use: ${busy.join(', ')}. Is another demo or Temporal dev server running? Choose other ports with those flags.`);
      process.exit(2);
    }
  }

  /** The worker in-process (Temporal dev server, PGlite, HTTP API); its logs go to a file, a few lines are echoed. */
  private async startWorker(tokens: { admin: string; ingest: string }): Promise<{ service: RunningService; config: Config }> {
    const { opts } = this;
    const config = demoConfig(opts, tokens);
    const logFile = path.join(opts.dataDir, 'worker.log');
    const logger = createLogger({ level: 'info', secrets: [tokens.admin, tokens.ingest], destination: this.logDestination(logFile) });
    installSdkRuntime(logger.child({ component: 'temporal-sdk' }));
    this.step('starting: Temporal dev server, embedded PGlite store, worker (bundling workflows), HTTP API');
    this.step(`  data folder ${opts.dataDir}${opts.keepData ? ' (kept)' : ' (fresh)'}; worker log ${logFile}`);
    this.starting = startService(config, { logger });
    this.service = await this.starting;
    return { service: this.service, config };
  }

  /** A kept data folder already has the demo's key: use a fresh one so every run starts from v1. */
  private async freshPromptKey(service: RunningService): Promise<string> {
    let promptKey = PROMPT_KEY;
    if (!this.opts.keepData) return promptKey;
    const keys = new Set((await service.store.listPromptKeys()).map((k) => k.prompt_key));
    for (let i = 2; keys.has(promptKey); i++) promptKey = `${PROMPT_KEY}-${i}`;
    return promptKey;
  }

  private printAccess(service: RunningService, config: Config, tokens: { admin: string; ingest: string }, promptKey: string): void {
    const port = service.httpPort;
    this.out();
    this.out(`  Temporal Web UI: ${config.temporal.uiUrl}`);
    this.out(`  HTTP API:        http://localhost:${port}   admin token ${tokens.admin}   ingest token ${tokens.ingest}`);
    this.out(`  Dashboard:       http://localhost:${port}/dashboard/   (sign in with the admin token)`);
    this.out();
    this.out(`  try:  curl -s -H "Authorization: Bearer ${tokens.admin}" http://localhost:${port}/v1/prompts/${promptKey}`);
    this.out(
      `        curl -s -H "Authorization: Bearer ${tokens.ingest}" -H 'content-type: application/json' ` +
        `-d '{"promptKey":"${promptKey}","subjectId":"me"}' http://localhost:${port}/v1/assign`,
    );
    this.out(
      `        curl -s -H "Authorization: Bearer ${tokens.ingest}" http://localhost:${port}/v1/serving   (what the SDK serves from)`,
    );
    this.out();
  }

  private async seed(service: RunningService, promptKey: string): Promise<{ controlVersion: number }> {
    const truth = TOPICS.map((t) => `${t.name} ${Math.round(t.share * 100)}% of traffic at ${Math.round(t.baseRate * 100)}%`).join(', ');
    this.step(`seeding ${promptKey} v1 ({{product}} variable, one locked section) and ${HISTORY_CONVERSATIONS} logged conversations`);
    this.step(`  TRUE success rates: ${truth}`);
    const seeded = await seedHistory(service.store, { promptKey, seed: this.opts.seed });
    this.step(`  ${seeded.conversations} conversations logged on v${seeded.controlVersion}`);
    return seeded;
  }

  private async startCycle(service: RunningService, config: Config, promptKey: string): Promise<string> {
    const workflowId = cycleWorkflowId(promptKey);
    const taskQueue = config.temporal.taskQueue;
    this.step(`starting workflow optimizationCycle (id ${workflowId}, task queue ${taskQueue})`);
    this.step(`  ${workflowUrl(config.temporal.uiUrl, config.temporal.namespace, workflowId)}`);
    try {
      await service.temporal.client.workflow.start<typeof optimizationCycle>('optimizationCycle', {
        taskQueue,
        workflowId,
        args: [{ promptKey, variantCount: VARIANT_COUNT, policy: { ...DEMO_POLICY } }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // The hourly sweep schedule fired in the very same second and owns the cycle now.
      this.step('  a cycle for this key is already running (the analysis schedule started it): following that one');
    }
    return workflowId;
  }

  /** The host-app SDK on the demo's own HTTP API: the traffic simulator serves and logs through it. */
  private async connectSdk(port: number, ingestToken: string): Promise<PromptClient> {
    const client = createPromptClient({
      baseUrl: `http://127.0.0.1:${port}`,
      ingestToken,
      refreshIntervalMs: 1_000,
      flushIntervalMs: BATCH_INTERVAL_MS,
      onError: (err) => {
        if (!this.abort.signal.aborted) this.step(`  SDK: ${err.message}`);
      },
    });
    await client.ready({ timeoutMs: 10_000 });
    return client;
  }

  private async startTraffic(promptKey: string): Promise<void> {
    // The SDK polls every second; fetch the new experiment now so the first users are already split.
    await this.client!.refresh();
    this.simulator = new TrafficSimulator({
      client: this.client!,
      promptKey,
      seed: this.opts.seed,
      batchSize: BATCH_SIZE,
      intervalMs: BATCH_INTERVAL_MS,
      successRate: (content, topic) => regressedRate(this.degraded)(content, topic),
      onError: (err) => this.step(`  traffic simulator: ${err.message}`),
    });
    this.simulator.start();
    this.step(
      `  live traffic on: ${BATCH_SIZE} simulated users every ${BATCH_INTERVAL_MS} ms through the SDK (getPrompt from its local snapshot, logConversation in batches)`,
    );
  }

  private async finish(service: RunningService): Promise<void> {
    if (!this.opts.keepRunning) return this.shutdown(0);
    this.out();
    this.out(
      `Still running: worker, HTTP API (:${service.httpPort}), Temporal Web UI (${service.config.temporal.uiUrl}) and the schedules. Press Ctrl-C to stop.`,
    );
    await service.done;
    if (!this.stopping) {
      this.out('the worker stopped unexpectedly');
      await this.shutdown(1);
    }
  }

  private async summary(a: {
    promptKey: string;
    result: CycleResult;
    analysis: AnalysisSummary;
    controlVersion: number;
    armOf: (id: string) => number | null;
    experiment: ExperimentInfo | undefined;
    ui: string;
    ns: string;
    workflowId: string;
  }): Promise<SummaryView> {
    const store = this.service!.store;
    const [versions, insights, last] = await Promise.all([
      store.listPromptVersions(a.promptKey),
      store.listInsights(a.promptKey, null),
      a.result.experimentId ? store.latestSnapshot(a.result.experimentId) : Promise.resolve(null),
    ]);
    const byId = new Map(versions.map((v) => [v.id, v]));
    const control = versions.find((v) => v.version === a.controlVersion);
    const hash = (id: string | null | undefined) => (id ? (byId.get(id)?.content_hash ?? '').slice(0, 12) : '');
    const variantIds = a.result.variants?.versionIds ?? [];
    const promotion = a.result.monitor?.promotion;
    return {
      promptKey: a.promptKey,
      elapsedMs: Date.now() - this.t0,
      outcome: a.result.outcome,
      analysis: { conversations: a.analysis.conversations, successRate: a.analysis.successRate, controlVersion: a.controlVersion },
      insights: insights
        .filter((i) => !control || i.version_id === control.id)
        .map((i) => ({
          kind: i.kind,
          segment: i.segment,
          severity: i.severity,
          isActionable: i.is_actionable,
          evidence: (i.evidence ?? {}) as Record<string, unknown>,
        })),
      control: { version: a.controlVersion, hash: hash(control?.id), trueRate: trueOverallRate(CONTROL_PROMPT) },
      variants: variantIds.map((id, i) => {
        const v = byId.get(id);
        const content = v?.content ?? '';
        return {
          arm: a.armOf(id) ?? i + 1,
          version: v?.version ?? 0,
          hash: hash(id),
          rationale: v?.rationale ?? null,
          added: addedText(content),
          trueRate: trueOverallRate(content),
          trulyBetter: addressesWeakTopic(content),
        };
      }),
      checks: a.result.monitor?.checks ?? 0,
      arms: Array.isArray(last?.arms)
        ? (last.arms as Array<{ arm: number; n: number; successes: number }>).map((x) => ({ arm: x.arm, n: x.n, successes: x.successes }))
        : [],
      decision: a.result.monitor?.decision ?? null,
      alpha: a.experiment?.policy.alpha ?? resolvePolicy(DEMO_POLICY).alpha,
      promotion: promotion
        ? {
            fromVersion: promotion.fromVersionId ? (byId.get(promotion.fromVersionId)?.version ?? null) : null,
            toVersion: byId.get(promotion.toVersionId)?.version ?? 0,
            arm: a.armOf(promotion.toVersionId),
            hash: hash(promotion.toVersionId),
            kind: promotion.kind,
            actor: promotion.actor,
          }
        : null,
      links: {
        ui: a.ui,
        cycle: workflowUrl(a.ui, a.ns, a.workflowId),
        monitor: a.result.experimentId ? workflowUrl(a.ui, a.ns, monitorWorkflowId(a.result.experimentId)) : null,
      },
      weakTopic: WEAK_TOPIC,
      lift: LIFT,
    };
  }

  fail(err: unknown): Promise<never> {
    if (this.stopping || (err instanceof Error && err.name === 'AbortError')) return this.shutdown(130);
    this.out(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    return this.shutdown(1);
  }
}

async function main(): Promise<void> {
  let opts: DemoOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    process.exit(typeof code === 'number' ? code : 2);
  }
  const demo = new Demo(opts);
  demo.installSignalHandlers();
  await demo.run().catch((err: unknown) => demo.fail(err));
}

if (require.main === module) void main();
