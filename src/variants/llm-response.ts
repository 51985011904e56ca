/**
 * Reading the model's answer. We ask for a JSON object, but many OpenAI-compatible servers
 * ignore `response_format` and wrap the JSON in a Markdown fence or add a sentence around it,
 * so we try the strict form first and then the usual wrappings.
 */
import { z } from 'zod';

export const LlmVariantsSchema = z.object({
  variants: z
    .array(
      z.object({
        content: z.string().min(1),
        rationale: z.string().default(''),
      }),
    )
    .min(1),
});

export type LlmVariants = z.infer<typeof LlmVariantsSchema>;

export type ParseOutcome = { ok: true; value: LlmVariants } | { ok: false; problem: string };

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The answer as JSON: whole text, else the first ```json (or bare ```) fence, else the outermost braces. */
function extractJson(text: string): unknown {
  const whole = tryJson(text.trim());
  if (whole !== undefined) return whole;
  const fence = /```(?:json)?[^\S\n]*\n([\s\S]*?)```/i.exec(text);
  if (fence) {
    const fenced = tryJson(fence[1] ?? '');
    if (fenced !== undefined) return fenced;
  }
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  return start !== -1 && end > start ? tryJson(text.slice(start, end + 1)) : undefined;
}

export function parseLlmVariants(text: string): ParseOutcome {
  const json = extractJson(text);
  if (json === undefined) return { ok: false, problem: 'the answer is not JSON' };
  const parsed = LlmVariantsSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first && first.path.length > 0 ? ` at ${first.path.join('.')}` : '';
    return {
      ok: false,
      problem: `the JSON does not match {"variants":[{"content","rationale"}]} (${first?.message ?? 'invalid'}${where})`,
    };
  }
  return { ok: true, value: parsed.data };
}
