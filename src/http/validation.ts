import { z } from 'zod';
import { PromptKey } from '../domain/prompt-key';
import { findUnsafeChar } from '../domain/unicode';
import { HttpError } from './errors';
import { describeUnsafe, findInputProblem } from './hygiene';

export type InputPart = 'body' | 'query' | 'params';

/**
 * Parses one part of a request; the first problem becomes a 400 naming the field. Hygiene
 * (forbidden keys, control and bidi characters, nesting) runs on the raw value first, so every
 * route gets it whatever its schema says, and nothing is written for a refused request.
 */
export function parse<T extends z.ZodType>(schema: T, value: unknown, where: InputPart = 'body'): z.infer<T> {
  refuseUnsafe(value, where);
  return parseSchema(schema, value, where);
}

function refuseUnsafe(value: unknown, where: string): void {
  const problem = findInputProblem(value, where);
  if (problem) throw new HttpError(400, `${problem.field}: ${problem.message}`, problem.field);
}

function parseSchema<T extends z.ZodType>(schema: T, value: unknown, where: InputPart): z.infer<T> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : where;
  throw new HttpError(400, `${field}: ${issue.message}`, field);
}

/**
 * A batch body `{ <key>: [items] }`: the envelope is parsed like any body (a 400 when it is not a
 * batch), while the items are left to the route, which checks each one on its own (hygiene
 * included, see batch.ts), so one bad item is its own result instead of refusing the others.
 */
export function parseBatch(key: 'rows' | 'items', value: unknown, max: number): unknown[] {
  const envelope =
    value !== null && typeof value === 'object' && !Array.isArray(value) && Array.isArray((value as Record<string, unknown>)[key])
      ? { ...(value as Record<string, unknown>), [key]: [] }
      : value;
  refuseUnsafe(envelope, 'body');
  const schema = z.object({ [key]: z.array(z.unknown()).min(1).max(max) }).strict();
  return (parseSchema(schema, value, 'body') as Record<string, unknown[]>)[key]!;
}

/**
 * Text that must stay on one line (names, reasons shown in one audit row, topics, ids): on top of
 * the hygiene every string gets, no tab or line break either, so it cannot forge a log line.
 */
export const singleLine = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine((text, ctx) => {
      const found = findUnsafeChar(text, { multiline: false });
      if (found) ctx.addIssue({ code: 'custom', message: describeUnsafe(found) });
    });

/** Multi-line text (excerpts, prompt content, notes): tab, LF and CRLF allowed; the rest as above. */
export const multiLine = (max: number) => z.string().max(max);

/** Strictly decimal digits: Number() and z.coerce would also read "0x1", "1e3", " 1" or "1.0". */
const decimal = (what: string, maxDigits: number) =>
  z
    .string()
    .regex(new RegExp(`^(?:0|[1-9][0-9]{0,${maxDigits - 1}})$`), `must be ${what} in decimal digits`)
    .transform(Number);

export const promptKey = PromptKey;
export const actor = singleLine(200).trim().min(1);
export const note = multiLine(2000);
export const limit = decimal('a number from 1 to 500', 3).pipe(z.number().int().min(1).max(500)).optional();
export const subjectId = singleLine(200).min(1);

export const UuidParam = z.object({ id: z.uuid() });
export const PromptKeyParam = z.object({ key: promptKey });
/** A job id in a path: positive, decimal, within the bigint range JavaScript represents exactly. */
export const JobIdParam = z.object({ id: decimal('a positive job id', 15).pipe(z.number().int().positive()) });
