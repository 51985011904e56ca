import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * A throw-away database on the server of DATABASE_URL (the type generator migrates one; each
 * store test file gets one). Dropped with `force`, so open connections do not keep it alive.
 */
export async function createTempDatabase(
  prefix = 'pow_test',
  serverUrl = process.env.DATABASE_URL,
): Promise<{ url: string; drop(): Promise<void> }> {
  if (!serverUrl) throw new Error('DATABASE_URL is not set');
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
