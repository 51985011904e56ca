/**
 * Showing untrusted text (conversation excerpts, LLM rationales) in the meta-prompt, a rationale
 * or a log line. It never goes into a variant: see `label.ts` for how a topic is named there.
 * Made inert, it cannot add template variables, open or close locked sections, or carry
 * characters the validator rejects; and it is cut short so it cannot blow a length budget.
 */

import { INVISIBLE_CHAR_RE } from '../domain/unicode';
import { FORBIDDEN_CHAR_RE } from './template';

const FORBIDDEN_GLOBAL_RE = new RegExp(FORBIDDEN_CHAR_RE.source, 'g');
const INVISIBLE_GLOBAL_RE = new RegExp(INVISIBLE_CHAR_RE.source, 'gu');
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Cut to at most `max` code points (never splitting a surrogate pair), marking the cut. */
export function truncate(text: string, max: number): string {
  const points = Array.from(text);
  if (points.length <= max) return text;
  return `${points
    .slice(0, Math.max(0, max - 1))
    .join('')
    .trimEnd()}…`;
}

/**
 * One-line, inert version of untrusted text: control, invisible and bidi characters and lone
 * surrogates dropped, whitespace collapsed, `{{`/`}}` split apart so no placeholder can form, and
 * HTML comment openers defused so no locked marker can form.
 */
export function inertText(text: string, max: number): string {
  const cleaned = text
    .replace(FORBIDDEN_GLOBAL_RE, ' ')
    .replace(LONE_SURROGATE_RE, '')
    .replace(INVISIBLE_GLOBAL_RE, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\{(?=\{)/g, '{ ')
    .replace(/\}(?=\})/g, '} ')
    .replace(/<!--/g, '< !--');
  return truncate(cleaned, max);
}

/**
 * Inert text as a double-quoted string literal. JSON escaping makes the boundaries unambiguous
 * (a quote inside an excerpt cannot end the quotation early).
 */
export function quote(text: string, max: number): string {
  return JSON.stringify(inertText(text, max));
}
