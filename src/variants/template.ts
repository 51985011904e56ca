/**
 * Structure of a prompt template: the parts a variant must carry over unchanged.
 *
 * Prompts are templates rendered by the app at request time, so a variant that loses a
 * `{{variable}}` would silently drop data, and one that edits a locked section (legal text,
 * output contracts owned by another team) would break a promise someone else made.
 */
import { BINARY_CHAR_RE } from '../domain/unicode';

/**
 * A `{{ name }}` placeholder on one line. Whitespace inside the braces is not significant, so
 * `{{name}}` and `{{ name }}` are the same variable. Braces cannot nest.
 */
const VARIABLE_RE = /\{\{([^{}\n]*)\}\}/g;

const LOCK_OPEN_RE = /<!--\s*locked\s*-->/g;
const LOCK_CLOSE_RE = /<!--\s*\/locked\s*-->/g;

/** Characters that never belong in a prompt: they signal binary data or a broken decode. */
export const FORBIDDEN_CHAR_RE = BINARY_CHAR_RE;

/**
 * Every marker that looks like a lock, whatever the case or spacing: a candidate that adds
 * `<!-- LOCKED -->` is trying to look protected (or to confuse the next editor) even though
 * extraction only honours the exact lowercase form.
 */
const LOCK_MARKER_LOOSE_RE = /<!--\s*(\/?)\s*locked\s*-->/gi;

/** Delimiters of the common template languages (Mustache/Handlebars, Jinja, JS template strings). */
const TEMPLATE_DELIMITERS = ['{{', '}}', '{%', '%}', '${'] as const;

/** Canonical variable name: whitespace-insensitive at the edges, single spaces inside. */
function variableName(inner: string): string {
  return inner.trim().replace(/\s+/g, ' ');
}

/** Distinct variable names in order of first appearance. Empty `{{ }}` is not a variable. */
export function extractVariables(text: string): string[] {
  const seen = new Set<string>();
  for (const match of text.matchAll(VARIABLE_RE)) {
    const name = variableName(match[1] ?? '');
    if (name !== '') seen.add(name);
  }
  return [...seen];
}

/**
 * Locked blocks, markers included, in order. An opener without a closer locks the rest of the
 * text: treating it as unlocked would let an edit slip into what the author meant to protect.
 */
export function extractLockedBlocks(text: string): string[] {
  const blocks: string[] = [];
  let from = 0;
  for (;;) {
    LOCK_OPEN_RE.lastIndex = from;
    const open = LOCK_OPEN_RE.exec(text);
    if (!open) break;
    LOCK_CLOSE_RE.lastIndex = open.index + open[0].length;
    const close = LOCK_CLOSE_RE.exec(text);
    const end = close ? close.index + close[0].length : text.length;
    blocks.push(text.slice(open.index, end));
    from = end;
  }
  return blocks;
}

/** Non-overlapping occurrences of `needle` in `haystack`. */
export function countOccurrences(haystack: string, needle: string): number {
  if (needle === '') return 0;
  let count = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) {
    count += 1;
  }
  return count;
}

/** Lock markers in order, `o` for an opener and `c` for a closer, e.g. `ococ`. */
export function lockMarkerSequence(text: string): string {
  return [...text.matchAll(LOCK_MARKER_LOOSE_RE)].map((m) => (m[1] === '/' ? 'c' : 'o')).join('');
}

/**
 * How often each template delimiter occurs outside the variables in `allowed`. The host app's
 * template engine may read `{{`, `{%` or `${` even where our variable pattern does not (across a
 * line break, say), so a candidate may not have more of them than the control.
 */
export function templateDelimiterCounts(text: string, allowed: ReadonlySet<string>): Map<string, number> {
  const rest = text.replace(VARIABLE_RE, (whole, inner: string) => (allowed.has(variableName(inner)) ? ' ' : whole));
  return new Map(TEMPLATE_DELIMITERS.map((d) => [d, countOccurrences(rest, d)]));
}
