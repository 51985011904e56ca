import { loadConfig, type Config } from '../../src/config/config';
import { startService, type RunningService, type ServiceOptions } from '../../src/worker/service';
import { createLogger } from '../../src/worker/logger';
import { createTempDatabase, postgresUrl } from './backends';
import { connectTestTemporal } from './temporal';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const INGEST_TOKEN = 'test-ingest-token-0123456789';

export interface TestService extends RunningService {
  namespace: string;
  baseUrl: string;
  /** The fresh PostgreSQL database of this service (when DATABASE_URL is set; absent on PGlite). */
  databaseUrl?: string;
  teardown(): Promise<void>;
}

/**
 * The real worker service (Temporal worker + HTTP API + store) on the shared dev server, with
 * PostgreSQL (a fresh database) when DATABASE_URL is set and in-memory PGlite otherwise.
 */
export async function startTestService(env: Record<string, string> = {}, opts: ServiceOptions = {}): Promise<TestService> {
  const temporal = await connectTestTemporal();
  const db = postgresUrl ? await createTempDatabase('pow_svc') : undefined;
  const config: Config = loadConfig({
    PORT: '0',
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    TEMPORAL_TASK_QUEUE: 'prompt-optimization-test',
    ...(db ? { DATABASE_URL: db.url } : { PGLITE_DATA_DIR: ':memory:' }),
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    INGEST_API_TOKEN: INGEST_TOKEN,
    SCHEDULES_ENABLED: 'false',
    SHUTDOWN_GRACE: '2s',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    ...env,
  });
  const logger = createLogger({ level: config.logLevel, secrets: [ADMIN_TOKEN, INGEST_TOKEN] });
  const service = await startService(config, { logger, temporal, ...opts });
  return {
    ...service,
    namespace: temporal.namespace,
    baseUrl: `http://127.0.0.1:${service.httpPort}`,
    databaseUrl: db?.url,
    teardown: async () => {
      await service.stop();
      await temporal.close();
      await db?.drop();
    },
  };
}
