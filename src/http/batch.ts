import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { findInputProblem } from './hygiene';

/**
 * Helpers of the host-app SDK routes (GET /v1/serving, POST /v1/conversations/batch,
 * POST /v1/feedback): per-item validation that turns a bad item into its own result instead of
 * a 400 for the whole request, SQL messages mapped back to the API's field names, and the ETag.
 */

/** A per-item problem, named as the API names the field. */
export interface ItemProblem {
  index: number;
  status: 'error';
  field: string;
  error: string;
  externalId?: unknown;
}

/** Splits items into the ones the schema accepts (with their index) and per-item problems. */
export function partition<T extends z.ZodType>(
  schema: T,
  items: unknown[],
): { valid: Array<{ index: number; value: z.infer<T> }>; problems: ItemProblem[] } {
  const valid: Array<{ index: number; value: z.infer<T> }> = [];
  const problems: ItemProblem[] = [];
  items.forEach((item, index) => {
    // The edge hygiene of every body (forbidden keys, control and bidi characters), per item; a
    // NUL would also make the whole batch's jsonb unparsable in SQL.
    const unsafe = findInputProblem(item, 'item');
    if (unsafe) {
      problems.push({ index, status: 'error', field: unsafe.field, error: `${unsafe.field}: ${unsafe.message}` });
      return;
    }
    const r = schema.safeParse(item);
    if (r.success) {
      valid.push({ index, value: r.data });
      return;
    }
    const issue = r.error.issues[0]!;
    const unknownKey = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const field = issue.path.length > 0 ? issue.path.join('.') : (unknownKey ?? 'item');
    const externalId = typeof item === 'object' && item !== null ? (item as { externalId?: unknown }).externalId : undefined;
    problems.push({
      index,
      status: 'error',
      field,
      error: `${field}: ${issue.message}`,
      ...(typeof externalId === 'string' ? { externalId } : {}),
    });
  });
  return { valid, problems };
}

const SQL_FIELDS: Record<string, string> = {
  prompt_key: 'promptKey',
  version_id: 'versionId',
  success: 'success',
  subject_id: 'subjectId',
  topic: 'topic',
  rating: 'rating',
  latency_ms: 'latencyMs',
  tokens: 'tokens',
  error: 'error',
  external_id: 'externalId',
  input_excerpt: 'inputExcerpt',
  output_excerpt: 'outputExcerpt',
  created_at: 'createdAt',
};

/** The API field a SQL validation message is about ("version_id ... is not a version of ..." -> versionId). */
export function fieldOfSqlMessage(message: string): string {
  const first = /^([a-z_]+)\b/.exec(message)?.[1] ?? '';
  return SQL_FIELDS[first] ?? 'item';
}

/** The SQL message with its snake_case field names in the API's camelCase. */
export function apiMessage(message: string): string {
  return message.replace(/\b[a-z]+(?:_[a-z]+)+\b/g, (w) => SQL_FIELDS[w] ?? w);
}

/** Strong ETag of a response body: the same snapshot always gets the same tag. */
export function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
}

/** If-None-Match (RFC 9110 13.1.2): "*" or any listed tag, compared weakly. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}
