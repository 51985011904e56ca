import { z } from 'zod';
import { PromptKey } from '../domain/prompt-key';
import { findUnsafeChar } from '../domain/unicode';
import { HttpError } from './errors';
import { describeUnsafe, findInputProblem } from './hygiene';

export type InputPart = 'body' | 'query' | 'params';

/**
 * Parses one part of a request; the first problem becomes a 400 naming the field. Hygiene
 * (forbidden keys, control and bidi characters, nesting) runs on the raw value first, so every
 * route gets it whatever its schema says, and nothing is written for a refused request. A batch
 * route names its array in `items` and checks each item itself (batch.ts `partition`).
 */
export function parse<T extends z.ZodType>(schema: T, value: unknown, where: InputPart = 'body', opts: { items?: string } = {}): z.infer<T> {
  const problem = findInputProblem(value, where, { skip: opts.items });
  if (problem) throw new HttpError(400, `${problem.field}: ${problem.message}`, problem.field);
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join('.') : where;
  throw new HttpError(400, `${field}: ${issue.message}`, field);
}

/**
 * Text that must stay on one line (names, reasons shown in one audit row, topics, ids): on top of
 * the hygiene every string gets, no tab or line break either, so it cannot forge a log line.
 */
export const singleLine = (max: number) =>
  z.string().max(max).superRefine((text, ctx) => {
    const found = findUnsafeChar(text, { multiline: false });
    if (found) ctx.addIssue({ code: 'custom', message: describeUnsafe(found) });
  });

/** Multi-line text (excerpts, prompt content, notes): tab, LF and CRLF allowed; the rest as above. */
export const multiLine = (max: number) => z.string().max(max);

/** Strictly decimal digits: Number() and z.coerce would also read "0x1", "1e3", " 1" or "1.0". */
const decimal = (what: string, maxDigits: number) =>
  z.string().regex(new RegExp(`^(?:0|[1-9][0-9]{0,${maxDigits - 1}})$`), `must be ${what} in decimal digits`).transform(Number);

export const promptKey = PromptKey;
export const actor = singleLine(200).trim().min(1);
export const note = multiLine(2000);
export const limit = decimal('a number from 1 to 500', 3).pipe(z.number().int().min(1).max(500)).optional();
export const subjectId = singleLine(200).min(1);

export const UuidParam = z.object({ id: z.uuid() });
export const PromptKeyParam = z.object({ key: promptKey });
/** A job id in a path: positive, decimal, within the bigint range JavaScript represents exactly. */
export const JobIdParam = z.object({ id: decimal('a positive job id', 15).pipe(z.number().int().positive()) });
