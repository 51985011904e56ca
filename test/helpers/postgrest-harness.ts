/**
 * PostgREST HARNESS (a test double, NOT PostgREST).
 *
 * No PostgREST binary can be installed in this environment, so this HARNESS is a small local HTTP
 * server (node:http on 127.0.0.1, random port) that speaks the subset of PostgREST's RPC protocol
 * that supabase-js uses for `.rpc(fn, args)`:
 *
 * - `POST /rest/v1/rpc/<fn>` with a JSON object of named arguments;
 * - the `apikey` header and `Authorization: Bearer <key>` must carry a known key, otherwise 401
 *   with a PostgREST-shaped error body `{ code, message, details, hint }` (PGRST301);
 * - the function runs on the REAL PostgreSQL database, the way PostgREST runs it: one transaction
 *   per request, `set local role <role of the key>` (service_role or anon), the JWT claims in
 *   `request.jwt.claims`, then `select public.<fn>(<name> => $1::<type>, ...)` with the SQL types
 *   of DB_FUNCTIONS (buildCall from the SQL adapter; DB_FUNCTIONS is the harness's "schema cache");
 * - the jsonb result is returned verbatim as JSON with status 200 (`null` for SQL NULL);
 * - a PostgreSQL error is returned as `{ code: SQLSTATE, message, details, hint }` with PostgREST's
 *   documented SQLSTATE -> HTTP status mapping (docs/references/errors.rst, "HTTP Status Codes");
 * - an unknown function (or unknown argument name) is 404 PGRST202, as with a stale schema cache.
 *
 * For failure tests the harness can be switched into an outage (`outage = { status: 503 }`), and
 * it records every request (path, method, headers, parsed body, answered status).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { buildCall } from '../../src/store/adapters/sql';
import { DB_FUNCTIONS, type DbFunctionName } from '../../src/store/functions';

export interface PostgrestErrorBody {
  code: string;
  message: string;
  details: string | null;
  hint: string | null;
}

export interface HarnessRequest {
  method: string;
  path: string;
  /** Lower-cased header names, as node:http reports them. */
  headers: Record<string, string | undefined>;
  /** The parsed JSON body (undefined when it was not JSON). */
  body: unknown;
  /** The HTTP status the harness answered with. */
  status: number;
  /** The JSON the harness answered with. */
  response: unknown;
}

export interface PostgrestHarnessOptions {
  /** The real (migrated) PostgreSQL database the functions run on. */
  databaseUrl: string;
  /** Requests with this key run as service_role. */
  serviceRoleKey: string;
  /** Requests with this key run as anon (PostgREST's anonymous role). */
  anonKey?: string;
}

export interface PostgrestHarness {
  /** Base URL to give supabase-js (`http://127.0.0.1:<port>`). */
  readonly url: string;
  readonly requests: HarnessRequest[];
  /** When set, every request gets this status (and body, or a PostgREST 5xx error) without touching the database. */
  outage: { status: number; body?: string } | null;
  /** Functions left out of the "schema cache" (as if their migration was not applied): 404 PGRST202. */
  readonly hiddenFunctions: Set<string>;
  close(): Promise<void>;
}

/** A JWT-shaped key (header.payload.signature). supabase-js sends such keys as the bearer token too. */
export function fakeJwt(role: string, secret = 'harness'): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ role, iss: 'postgrest-harness' })}.${Buffer.from(`${secret}:${role}`).toString('base64url')}`;
}

/**
 * PostgREST's SQLSTATE -> HTTP status mapping, as documented (docs.postgrest.org, references/errors,
 * "HTTP Status Codes"). `authenticated` is false for the anonymous role (401 vs 403 on 42501).
 */
export function postgrestStatus(sqlstate: string, authenticated: boolean): number {
  const c = sqlstate.toUpperCase();
  const exact: Record<string, number> = {
    '23503': 409,
    '23505': 409,
    '25006': 405,
    '53400': 500,
    P0001: 400,
    '42883': 404,
    '42P01': 404,
    '42P17': 500,
  };
  if (c in exact) return exact[c]!;
  if (c === '42501') return authenticated ? 403 : 401;
  if (/^PT\d{3}$/.test(c)) return Number(c.slice(2));
  const byPrefix: Array<[string, number]> = [
    ['08', 503],
    ['09', 500],
    ['0L', 403],
    ['0P', 403],
    ['25', 500],
    ['28', 403],
    ['2D', 500],
    ['38', 500],
    ['39', 500],
    ['3B', 500],
    ['40', 500],
    ['53', 503],
    ['54', 500],
    ['55', 500],
    ['57', 500],
    ['58', 500],
    ['F0', 500],
    ['HV', 500],
    ['P0', 500],
    ['XX', 500],
  ];
  for (const [prefix, status] of byPrefix) if (c.startsWith(prefix)) return status;
  return 400;
}

function pgrstError(code: string, message: string, hint: string | null = null, details: string | null = null): PostgrestErrorBody {
  return { code, message, details, hint };
}

const OUTAGE_ERRORS: Record<number, PostgrestErrorBody> = {
  503: pgrstError('PGRST001', 'Database client error. Retrying the connection.'),
  504: pgrstError('PGRST003', 'Timed out acquiring connection from connection pool.'),
};

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startPostgrestHarness(options: PostgrestHarnessOptions): Promise<PostgrestHarness> {
  const pool = new Pool({ connectionString: options.databaseUrl, max: 10, application_name: 'postgrest-harness' });
  pool.on('error', () => {
    /* idle client lost: the next request reconnects */
  });
  const roles = new Map<string, 'service_role' | 'anon'>([[options.serviceRoleKey, 'service_role']]);
  if (options.anonKey) roles.set(options.anonKey, 'anon');

  const requests: HarnessRequest[] = [];
  const hiddenFunctions = new Set<string>();
  const state: { outage: PostgrestHarness['outage'] } = { outage: null };

  /** Runs one RPC like PostgREST: own transaction, the key's role, JSON text of the result. */
  async function runRpc(role: string, fn: DbFunctionName, args: Record<string, unknown>): Promise<{ status: number; json: string }> {
    let call: { text: string; params: unknown[] };
    try {
      call = buildCall(fn, args);
    } catch (err) {
      const message = (err as Error).message;
      if (/has no argument/.test(message)) {
        return {
          status: 404,
          json: JSON.stringify(
            pgrstError(
              'PGRST202',
              `Could not find the function public.${fn}(${Object.keys(args).sort().join(', ')}) in the schema cache`,
              'Perhaps you meant to call a function with other argument names.',
            ),
          ),
        };
      }
      return { status: 400, json: JSON.stringify(pgrstError('22P02', message)) };
    }
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(`set local role ${role}`); // role comes from the fixed key map above
      await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ role })]);
      const res = await client.query<{ result: string | null }>(`select (q.result)::text as result from (${call.text}) q`, call.params);
      await client.query('commit');
      return { status: 200, json: res.rows[0]?.result ?? 'null' };
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      const e = err as { code?: string; message?: string; detail?: string; hint?: string };
      const code = e.code ?? 'XX000';
      return {
        status: postgrestStatus(code, role !== 'anon'),
        json: JSON.stringify(pgrstError(code, e.message ?? 'error', e.hint ?? null, e.detail ?? null)),
      };
    } finally {
      client.release();
    }
  }

  async function handle(req: http.IncomingMessage): Promise<{ status: number; json: string; body: unknown }> {
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw === '' ? {} : JSON.parse(raw);
    } catch {
      body = undefined;
    }
    if (state.outage) {
      const { status, body: outageBody } = state.outage;
      return { status, json: outageBody ?? JSON.stringify(OUTAGE_ERRORS[status] ?? pgrstError('PGRSTX00', 'Internal server error')), body };
    }

    const apikey = req.headers.apikey;
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const role = typeof apikey === 'string' ? roles.get(apikey) : undefined;
    if (!role || bearer !== apikey) {
      // Never echo a key back (PostgREST does not either).
      return {
        status: 401,
        json: JSON.stringify(
          pgrstError(
            'PGRST301',
            apikey ? 'Invalid API key or JWT' : 'No API key found in request',
            'Double check the apikey header and the Authorization bearer token.',
          ),
        ),
        body,
      };
    }

    const path = new URL(req.url ?? '/', 'http://harness').pathname;
    const m = /^\/rest\/v1\/rpc\/([A-Za-z0-9_]+)$/.exec(path);
    if (!m) return { status: 404, json: JSON.stringify(pgrstError('PGRST125', `Invalid path ${path}`)), body };
    if (req.method !== 'POST') {
      return {
        status: 405,
        json: JSON.stringify(pgrstError('PGRST101', 'Only GET and POST are allowed for functions (this harness: POST)')),
        body,
      };
    }
    const profile = req.headers['content-profile'];
    if (profile !== undefined && profile !== 'public') {
      return { status: 406, json: JSON.stringify(pgrstError('PGRST106', 'The schema must be one of the following: public')), body };
    }
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
      return { status: 400, json: JSON.stringify(pgrstError('PGRST102', 'Empty or invalid json')), body };
    }
    const fn = m[1]!;
    if (!(fn in DB_FUNCTIONS) || hiddenFunctions.has(fn)) {
      return {
        status: 404,
        json: JSON.stringify(
          pgrstError(
            'PGRST202',
            `Could not find the function public.${fn}(${Object.keys(body).sort().join(', ')}) in the schema cache`,
            'If a new function was created in the database with this name and parameters, try reloading the schema cache.',
          ),
        ),
        body,
      };
    }
    return { ...(await runRpc(role, fn as DbFunctionName, body as Record<string, unknown>)), body };
  }

  const server = http.createServer((req, res) => {
    void handle(req)
      .catch((err: unknown) => ({ status: 500, json: JSON.stringify(pgrstError('PGRSTX00', (err as Error).message)), body: undefined }))
      .then(({ status, json, body }) => {
        requests.push({
          method: req.method ?? '',
          path: new URL(req.url ?? '/', 'http://harness').pathname,
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v])),
          body,
          status,
          response: (() => {
            try {
              return JSON.parse(json) as unknown;
            } catch {
              return json;
            }
          })(),
        });
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(json);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    hiddenFunctions,
    get outage() {
      return state.outage;
    },
    set outage(value) {
      state.outage = value;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
