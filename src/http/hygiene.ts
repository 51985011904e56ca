/**
 * Input hygiene every request part gets before its zod schema runs. It walks the raw value (zod
 * objects drop unknown keys, so `__proto__` would otherwise vanish silently) and refuses:
 * - the keys `__proto__`, `constructor` and `prototype` anywhere (JSON.parse keeps `__proto__`
 *   as an own key; merged into an object later it would set the prototype);
 * - in any string: NUL and the other C0/C1 controls (tab, LF and CRLF excepted: excerpts and
 *   prompts are multi-line), bidi embeddings/overrides/isolates, and half surrogate pairs;
 * - nesting deeper than any of our bodies needs (a deep array would otherwise cost stack).
 * Fields that must be one line refuse tab and LF too, in their schema (validation.ts).
 */
import { findUnsafeChar, type UnsafeChar } from '../domain/unicode';

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Our deepest body is a job's params.policy.guardrails; 16 leaves room without inviting abuse. */
export const MAX_DEPTH = 16;

export interface InputProblem {
  /** Dotted path of the offending key or value, e.g. `params.policy.__proto__`. */
  field: string;
  message: string;
}

const KIND_TEXT: Record<UnsafeChar['kind'], string> = {
  control: 'a control character',
  bidi: 'a bidirectional control character',
  lone_surrogate: 'half of a surrogate pair (not valid Unicode)',
};

/** "contains a control character (U+0000 at index 3)": the code point, never the text around it. */
export function describeUnsafe(found: UnsafeChar): string {
  return `contains ${KIND_TEXT[found.kind]} (${found.codePoint} at index ${found.index})`;
}

function join(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

function checkString(text: string, path: string, where: string): InputProblem | null {
  const found = findUnsafeChar(text, { multiline: true });
  return found ? { field: path || where, message: describeUnsafe(found) } : null;
}

function checkKey(key: string, path: string, where: string): InputProblem | null {
  const field = join(path, key);
  if (FORBIDDEN_KEYS.has(key)) return { field, message: `the key "${key}" is not allowed` };
  const found = findUnsafeChar(key);
  return found ? { field: path || where, message: `a key ${describeUnsafe(found)}` } : null;
}

/** The first problem in `value` (depth first, in key order), or null. `where` names the part for top-level strings. */
export function findInputProblem(value: unknown, where: string, path = '', depth = 0): InputProblem | null {
  if (typeof value === 'string') return checkString(value, path, where);
  if (value === null || typeof value !== 'object') return null;
  if (depth >= MAX_DEPTH) return { field: path || where, message: `is nested more than ${MAX_DEPTH} levels deep` };
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = findInputProblem(item, where, join(path, i), depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const problem =
      checkKey(key, path, where) ?? findInputProblem((value as Record<string, unknown>)[key], where, join(path, key), depth + 1);
    if (problem) return problem;
  }
  return null;
}
