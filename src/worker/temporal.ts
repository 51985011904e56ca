import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config/config';
import { findTemporalCli } from '../temporal/cli';

export interface TemporalConnections {
  address: string;
  client: Client;
  nativeConnection: NativeConnection;
  /** Closes connections and, for the embedded server, stops it. */
  close(): Promise<void>;
}

/**
 * Embedded: a `temporal server start-dev` (SQLite file, Web UI) started through
 * @temporalio/testing, with the installed CLI when there is one and the SDK's download
 * otherwise. Remote: Temporal Cloud or a cluster (TLS, mTLS or API key).
 */
export async function connectTemporal(cfg: Config['temporal']): Promise<TemporalConnections> {
  let address: string;
  let stopServer: () => Promise<void> = async () => {};
  let tls: boolean | { clientCertPair: { crt: Buffer; key: Buffer } } = false;
  let apiKey: string | undefined;

  if (cfg.kind === 'embedded') {
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    mkdirSync(path.dirname(path.resolve(cfg.dbFile)), { recursive: true });
    const cli = cfg.cliPath ?? findTemporalCli();
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: cli ? { type: 'existing-path', path: cli } : { type: 'cached-download' },
        dbFilename: path.resolve(cfg.dbFile),
        namespace: cfg.namespace,
        port: cfg.port,
        ui: true,
        uiPort: cfg.uiPort,
        log: { format: 'pretty', level: 'warn' },
      },
    });
    address = env.address;
    stopServer = () => env.teardown();
  } else {
    address = cfg.address;
    apiKey = cfg.apiKey;
    tls = typeof cfg.tls === 'object'
      ? { clientCertPair: { crt: readFileSync(cfg.tls.certPath), key: readFileSync(cfg.tls.keyPath) } }
      : cfg.tls;
  }

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
      await stopServer();
    },
  };
}
