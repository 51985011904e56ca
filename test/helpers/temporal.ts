import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';
import type { TemporalConnections } from '../../src/worker/temporal';

/** Claims a namespace of the shared dev server for this test file (mkdir is atomic). */
export function claimNamespace(): string {
  for (const ns of inject('temporalNamespaces')) {
    try {
      mkdirSync(path.join(inject('namespaceClaimDir'), ns));
      return ns;
    } catch {
      // taken by another file
    }
  }
  throw new Error('no free test namespace: add more in test/global-setup.ts');
}

let runtimeInstalled = false;
/** The SDK's own logs at WARN: state changes at INFO drown the test output. */
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this process
  }
}

/** Connections to the run's real Temporal dev server, in a namespace of this file's own. */
export async function connectTestTemporal(namespace = claimNamespace()): Promise<TemporalConnections & { namespace: string }> {
  quietRuntime();
  const address = inject('temporalAddress');
  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  return {
    address,
    namespace,
    client,
    nativeConnection,
    close: async () => {
      await connection.close();
      await nativeConnection.close();
    },
  };
}
