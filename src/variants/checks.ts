/**
 * The validator's rules, one function each. Every rule the generators are told (the meta-prompt
 * lists them from `GENERATOR_RULES`) has a check here, and every check answers with a reason code
 * and a sentence that never quotes candidate or conversation text: both are adversarial, and the
 * sentence ends up in logs, job rows and the dashboard.
 */
import type { Rejection } from '../domain/rejections';
import { BINARY_CHAR_RE, countInvisible, describeCodePoint, hasLoneSurrogate } from '../domain/unicode';
import { extractContacts, type Contacts } from './contacts';
import { normalizePrompt } from './normalize';
import { countOccurrences, extractLockedBlocks, extractVariables, lockMarkerSequence, templateDelimiterCounts } from './template';
import { firstCopiedSample, SHARED_RUN_WORDS } from './word-runs';

export interface CheckContext {
  control: string;
  candidate: string;
  /** Conversation text handed to the generator: excerpts and topics. */
  samples: readonly string[];
  maxLength: number;
  minLength: number;
}

export type Check = (c: CheckContext) => Rejection | null;

/** Code points rather than UTF-16 units, matching Postgres `char_length`. */
function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

function plural(n: number, word: string): string {
  return `${word}${n === 1 ? '' : 's'}`;
}

export const empty: Check = ({ candidate }) => (candidate.trim() === '' ? { code: 'empty', reason: 'Candidate is empty.' } : null);

export const binaryCharacters: Check = ({ candidate }) => {
  const bad = BINARY_CHAR_RE.exec(candidate);
  if (bad) {
    return {
      code: 'binary_character',
      reason: `Candidate contains a binary or control character (${describeCodePoint(bad[0])} at index ${bad.index}).`,
    };
  }
  return hasLoneSurrogate(candidate)
    ? { code: 'binary_character', reason: 'Candidate contains half of a surrogate pair (not valid Unicode).' }
    : null;
};

export const lengthBounds: Check = ({ candidate, maxLength, minLength }) => {
  const length = charLength(candidate);
  if (length > maxLength) {
    return { code: 'too_long', reason: `Candidate is too long (${length} characters, maximum ${maxLength}).` };
  }
  const trimmed = charLength(candidate.trim());
  if (trimmed < minLength) {
    return { code: 'too_short', reason: `Candidate is too short (${trimmed} characters, minimum ${minLength}).` };
  }
  return null;
};

/** Counted per code point: one more U+202E than the control has is one too many. */
export const invisibleCharacters: Check = ({ control, candidate }) => {
  const allowed = countInvisible(control);
  for (const [codePoint, n] of countInvisible(candidate)) {
    const has = allowed.get(codePoint) ?? 0;
    if (n > has) {
      return {
        code: 'invisible_character',
        reason: `Candidate contains ${n} invisible, bidi or zero-width ${plural(n, 'character')} ${codePoint} where the control has ${has}.`,
      };
    }
  }
  return null;
};

/** Variable names an operator can read safely in a sentence; anything else is described, not shown. */
function showVariable(name: string): string {
  return /^[\p{L}\p{N}_.-]{1,40}$/u.test(name) ? `{{${name}}}` : '(a name that cannot be shown)';
}

export const templateVariables: Check = ({ control, candidate }) => {
  const present = new Set(extractVariables(candidate));
  const known = extractVariables(control);
  const missing = known.filter((name) => !present.has(name));
  if (missing.length > 0) {
    const list = missing.map((name) => `{{${name}}}`).join(', ');
    return { code: 'missing_variable', reason: `Candidate is missing template ${plural(missing.length, 'variable')} ${list}.` };
  }
  const added = [...present].filter((name) => !known.includes(name));
  if (added.length > 0) {
    return {
      code: 'new_variable',
      reason: `Candidate adds template ${plural(added.length, 'variable')} ${added.map(showVariable).join(', ')} that the control does not have.`,
    };
  }
  return null;
};

export const templateSyntax: Check = ({ control, candidate }) => {
  const allowed = new Set(extractVariables(control));
  const has = templateDelimiterCounts(control, allowed);
  for (const [delimiter, n] of templateDelimiterCounts(candidate, allowed)) {
    if (n > (has.get(delimiter) ?? 0)) {
      return {
        code: 'template_syntax',
        reason: `Candidate adds template syntax "${delimiter}" outside the control's variables (${n} where the control has ${has.get(delimiter) ?? 0}).`,
      };
    }
  }
  return null;
};

export const lockedBlocks: Check = ({ control, candidate }) => {
  const locked = extractLockedBlocks(control);
  for (const [i, block] of locked.entries()) {
    // A block repeated in the control must be repeated in the candidate too.
    if (countOccurrences(candidate, block) < countOccurrences(control, block)) {
      return {
        code: 'locked_changed',
        reason: `Locked section ${i + 1} of ${locked.length} was changed or removed; locked sections must be kept byte-for-byte.`,
      };
    }
  }
  return null;
};

/** Same openers and closers in the same order: none added, none dropped, balanced wherever the control is. */
export const lockedMarkers: Check = ({ control, candidate }) => {
  const want = lockMarkerSequence(control);
  const got = lockMarkerSequence(candidate);
  if (want === got) return null;
  return {
    code: 'locked_markers',
    reason: `Candidate's locked markers differ from the control's (${got.length} where the control has ${want.length}, or in another order); markers may not be added, removed or unbalanced.`,
  };
};

const CONTACT_KINDS: Array<{ key: keyof Contacts; code: Rejection['code']; what: string }> = [
  { key: 'urls', code: 'new_url', what: 'URL or domain name' },
  { key: 'emails', code: 'new_email', what: 'e-mail address' },
  { key: 'phones', code: 'new_phone', what: 'phone number' },
];

export const contacts: Check = ({ control, candidate }) => {
  const have = extractContacts(control);
  const got = extractContacts(candidate);
  for (const { key, code, what } of CONTACT_KINDS) {
    const known = new Set(have[key]);
    const added = new Set(got[key].filter((c) => !known.has(c)));
    if (added.size > 0) {
      return { code, reason: `Candidate adds ${added.size} ${plural(added.size, what)} that the control does not contain.` };
    }
  }
  return null;
};

export const copiedSamples: Check = ({ control, candidate, samples }) => {
  const index = firstCopiedSample(candidate, samples, control);
  if (index === -1) return null;
  return {
    code: 'copies_sample',
    reason: `Candidate repeats ${SHARED_RUN_WORDS} or more words in a row from conversation sample #${index + 1}; conversation text is data, never prompt text.`,
  };
};

export const sameAsControl: Check = ({ control, candidate }) =>
  normalizePrompt(candidate) === normalizePrompt(control)
    ? { code: 'same_as_control', reason: 'Candidate is identical to the control prompt (after normalization).' }
    : null;

/** In order: the cheap, unambiguous rules first, so a reason names the most basic problem. */
export const CHECKS: readonly Check[] = [
  empty,
  binaryCharacters,
  lengthBounds,
  invisibleCharacters,
  templateVariables,
  templateSyntax,
  lockedBlocks,
  lockedMarkers,
  contacts,
  copiedSamples,
  sameAsControl,
];
