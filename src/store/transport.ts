/**
 * The one thing every adapter does: call a database function by name with named arguments and
 * return its jsonb result. pg and PGlite run `select public.fn(arg => $1, ...)`; supabase-js
 * runs `.rpc(fn, args)` through PostgREST. The SQL is the same everywhere.
 */
export interface RpcTransport {
  readonly kind: 'postgres' | 'pglite' | 'supabase';
  call(fn: string, args: Record<string, unknown>): Promise<unknown>;
  /** Cheap round trip for health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
