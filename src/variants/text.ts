/**
 * Putting data (topics, conversation excerpts) into a prompt safely. Those strings come from end
 * users, so they must not be able to add template variables, open or close locked sections, or
 * carry characters the validator rejects; and they are cut short so a few examples cannot blow
 * the length budget.
 */

import { FORBIDDEN_CHAR_RE } from './template';

const FORBIDDEN_GLOBAL_RE = new RegExp(FORBIDDEN_CHAR_RE.source, 'g');
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Cut to at most `max` code points (never splitting a surrogate pair), marking the cut. */
export function truncate(text: string, max: number): string {
  const points = Array.from(text);
  if (points.length <= max) return text;
  return `${points.slice(0, Math.max(0, max - 1)).join('').trimEnd()}…`;
}

/**
 * One-line, inert version of untrusted text: control characters and lone surrogates dropped,
 * whitespace collapsed, `{{`/`}}` split apart so no placeholder can form, and HTML comment
 * openers defused so no locked marker can form.
 */
export function inertText(text: string, max: number): string {
  const cleaned = text
    .replace(FORBIDDEN_GLOBAL_RE, ' ')
    .replace(LONE_SURROGATE_RE, '')
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
