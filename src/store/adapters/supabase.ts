import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { DB_FUNCTIONS } from '../functions';
import { errorFromCode, StoreError, StoreUnavailableError, StoreValidationError } from '../errors';
import type { RpcTransport } from '../transport';

export interface SupabaseOptions {
  url: string;
  serviceRoleKey: string;
  /** For tests and custom networking: the fetch supabase-js uses. */
  fetch?: typeof fetch;
}

interface PostgrestErrorLike {
  message?: string;
  code?: string;
  details?: string | null;
  hint?: string | null;
}

/**
 * supabase-js reports failures as data ({ error, status }), network failures included
 * (status 0, or a fetch TypeError in the message). Turn every one into a thrown StoreError so
 * the activities' retry policy sees the difference between "try again" and "never works".
 */
export function supabaseError(fn: string, error: PostgrestErrorLike, status: number): StoreError {
  const message = `${fn}: ${error.message ?? 'request failed'}`;
  const code = error.code || undefined;
  if (code && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('PGRST')) {
    return errorFromCode(code, message);
  }
  if (status === 0 || /fetch failed|network|ECONNREFUSED|ETIMEDOUT|socket/i.test(error.message ?? '') || status >= 500 || status === 429) {
    return new StoreUnavailableError(message, code ?? String(status));
  }
  if (status === 401 || status === 403) return new StoreError(message, 'permission', false, code ?? String(status));
  if (status === 404 && code === 'PGRST202')
    return new StoreError(`${message} (function missing: migrations not applied?)`, 'internal', false, code);
  return new StoreError(message, 'internal', false, code ?? String(status));
}

/** RPC through PostgREST with the service-role key; no session, no token refresh. */
export class SupabaseTransport implements RpcTransport {
  readonly kind = 'supabase' as const;
  readonly client: SupabaseClient;

  constructor(options: SupabaseOptions) {
    this.client = createClient(options.url, options.serviceRoleKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      // Node 20 has no global WebSocket; supabase-js throws at createClient without a transport.
      realtime: { transport: WebSocket as never },
      global: options.fetch ? { fetch: options.fetch } : undefined,
    });
  }

  async call(fn: string, args: Record<string, unknown>): Promise<unknown> {
    if (!(fn in DB_FUNCTIONS)) throw new StoreValidationError(`unknown database function ${fn}`);
    const body = Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
    let res: { data: unknown; error: PostgrestErrorLike | null; status: number };
    try {
      res = await this.client.rpc(fn, body);
    } catch (err) {
      throw new StoreUnavailableError(`${fn}: ${(err as Error).message}`);
    }
    if (res.error) throw supabaseError(fn, res.error, res.status);
    return res.data ?? null;
  }

  async ping(): Promise<void> {
    await this.call('list_prompt_keys', {});
  }

  async close(): Promise<void> {
    await this.client.removeAllChannels();
  }
}
