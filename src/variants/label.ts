/**
 * Naming a segment (a topic) inside generated text. Topics are chosen by the host app or its
 * users, so a topic is never copied: it is normalized to a short label made only of letters,
 * digits, spaces and `-_.`, and a topic that does not fit that shape (or reads like a URL, an
 * e-mail address or a phone number) is not named at all. The neutral wording takes its place.
 */
import { INVISIBLE_CHAR_RE } from '../domain/unicode';
import { hasContacts } from './contacts';

/** Long enough for "account settings" or "billing-eu.v2", too short for a sentence of instructions. */
export const LABEL_MAX_LENGTH = 32;

/** Letters and digits, with single spaces and `-_.` between them. No combining marks: scripts that need them go unnamed. */
const LABEL_RE = /^[\p{L}\p{Nd}](?:[\p{L}\p{Nd}_.-]| (?! ))*$/u;

/** How an unnamed segment is referred to. */
export const UNNAMED_SEGMENT = 'one topic';

function codePoints(text: string): number {
  return Array.from(text).length;
}

/**
 * The label for a raw segment name, or null when it cannot be named safely: NFKC, lowercase,
 * spaces collapsed, then allow-listed. Deterministic, so retries propose the same text.
 */
export function segmentLabel(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  if (INVISIBLE_CHAR_RE.test(raw)) return null;
  // Runs of spaces collapse; a tab or line break is refused by the allow-list (a topic is one line).
  const label = raw.normalize('NFKC').toLowerCase().replace(/ +/g, ' ').trim();
  if (label === '' || codePoints(label) > LABEL_MAX_LENGTH) return null;
  if (!LABEL_RE.test(label) || INVISIBLE_CHAR_RE.test(label)) return null;
  return hasContacts(label) ? null : label;
}
