/**
 * `npm start`: the worker process. Reads the environment once (a bad setting stops here with
 * a message naming the variable), then runs the Temporal worker, the schedules and the HTTP API
 * until SIGTERM/SIGINT, when it drains and exits 0.
 */
import { ConfigError, loadConfig } from '../config/config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }

  // Loaded only once the configuration is valid: a bad setting exits in about a second instead of
  // first loading the Temporal native bridge, the store adapters and the workflow bundler.
  const { Runtime } = await import('@temporalio/worker');
  const { startService } = await import('./service');

  const metricsAddress = config.temporalMetricsAddress;
  Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } });
  const extraMetrics = async () => (await fetch(`http://${metricsAddress}/metrics`)).text();

  const service = await startService(config, { extraMetrics, workflowBundlePath: config.workflowBundlePath });
  const { logger } = service;
  if (config.temporal.kind === 'embedded') {
    logger.info(`Temporal Web UI: ${config.temporal.uiUrl}`);
  }

  let signals = 0;
  let firstSignalAt = 0;
  const onSignal = (signal: string) => {
    signals++;
    if (signals > 1) {
      // Ctrl-C under npm/tsx reaches us twice at once; only a deliberate second signal forces exit.
      if (Date.now() - firstSignalAt < 2_000) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    firstSignalAt = Date.now();
    logger.info({ signal }, 'signal received');
    service.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await service.done;
  if (signals === 0) {
    logger.error('worker stopped unexpectedly');
    await service.stop();
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(`worker failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
