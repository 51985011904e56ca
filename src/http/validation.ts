import { z } from 'zod';
import { PromptKey } from '../domain/prompt-key';
import { HttpError } from './errors';

export type InputPart = 'body' | 'query' | 'params';

/** Parses one part of a request; the first problem becomes a 400 naming the field. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, where: InputPart = 'body'): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : where;
  throw new HttpError(400, `${field}: ${issue.message}`, field);
}

export const promptKey = PromptKey;
export const actor = z.string().trim().min(1).max(200);
export const note = z.string().max(2000);
export const limit = z.coerce.number().int().min(1).max(500).optional();
export const subjectId = z.string().min(1).max(200);

export const UuidParam = z.object({ id: z.uuid() });
export const PromptKeyParam = z.object({ key: promptKey });
