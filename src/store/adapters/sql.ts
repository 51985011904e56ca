import { DB_FUNCTIONS, type DbFunctionName, type SqlType } from '../functions';
import { StoreValidationError, toStoreError } from '../errors';
import type { RpcTransport } from '../transport';

/** The query surface pg (Pool) and PGlite share. */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

function arrayLiteral(values: unknown[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${String(v).replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
}

/** Encodes a JS value for a parameter cast to `type`, identically for pg and PGlite. */
export function encodeParam(value: unknown, type: SqlType): unknown {
  if (value === null) return null;
  if (type === 'jsonb') return JSON.stringify(value);
  if (type.endsWith('[]')) {
    if (!Array.isArray(value)) throw new StoreValidationError(`expected an array for a ${type} argument`);
    return arrayLiteral(value);
  }
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') throw new StoreValidationError(`expected a scalar for a ${type} argument`);
  return value;
}

/** Builds `select public.fn(p_a => $1::type, ...) as result`, skipping undefined arguments. */
export function buildCall(fn: DbFunctionName, args: Record<string, unknown>): { text: string; params: unknown[] } {
  const spec = DB_FUNCTIONS[fn] as Record<string, SqlType>;
  const params: unknown[] = [];
  const parts: string[] = [];
  for (const [name, value] of Object.entries(args)) {
    if (value === undefined) continue;
    const type = spec[name];
    if (!type) throw new StoreValidationError(`${fn} has no argument ${name}`);
    params.push(encodeParam(value, type));
    parts.push(`${name} => $${params.length}::${type}`);
  }
  return { text: `select public.${fn}(${parts.join(', ')}) as result`, params };
}

/** RPC over SQL, for pg and PGlite: the same statement text on both. */
export class SqlTransport implements RpcTransport {
  constructor(
    readonly kind: 'postgres' | 'pglite',
    private readonly db: Queryable,
    private readonly onClose: () => Promise<void>,
  ) {}

  async call(fn: string, args: Record<string, unknown>): Promise<unknown> {
    if (!(fn in DB_FUNCTIONS)) throw new StoreValidationError(`unknown database function ${fn}`);
    const { text, params } = buildCall(fn as DbFunctionName, args);
    try {
      const res = await this.db.query<{ result: unknown }>(text, params);
      return res.rows[0]?.result ?? null;
    } catch (err) {
      throw toStoreError(err);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.db.query('select 1');
    } catch (err) {
      throw toStoreError(err);
    }
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
