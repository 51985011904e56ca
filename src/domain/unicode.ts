/**
 * Character classes that untrusted text must not smuggle into what people read or what an LLM is
 * told. Shared by the HTTP edge (refuse at ingest) and the variant validator (refuse in a
 * candidate), so "unsafe" means the same thing at both ends.
 */

/**
 * C0 controls other than tab, LF and CR, and U+FFFD. They signal binary data or a broken decode
 * and have no business in a prompt, whatever the control contains.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const BINARY_CHAR_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFD]/;

/**
 * Bidirectional embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): they
 * reorder how text is displayed, so an audit entry or a prompt can read differently from what it
 * says ("Trojan Source"). The plain direction marks (LRM, RLM, ALM) are left to right-to-left
 * text, where they are legitimate.
 */
export const BIDI_CONTROL_RE = /[\u202A-\u202E\u2066-\u2069]/;

/**
 * Characters a reader cannot see but a model reads: DEL and the C1 controls (U+009B is a
 * terminal CSI), every format character (bidi marks and controls, zero-width space/joiners, word
 * joiner, BOM, soft hyphen, the "tag" block used to hide ASCII instructions), line/paragraph
 * separators, Hangul fillers, the whole tag block (assigned or not), the variation-selector
 * supplement (another hiding place), and the non-characters U+FFFE/U+FFFF.
 */
export const INVISIBLE_CHAR_RE =
  // eslint-disable-next-line no-misleading-character-class -- the variation selectors are listed on purpose, alone
  /[\u007F-\u009F\p{Cf}\u2028\u2029\u115F\u1160\u3164\uFFA0\u{E0000}-\u{E007F}\u{E0100}-\u{E01EF}\uFFFE\uFFFF]/u;

const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type UnsafeCharKind = 'control' | 'bidi' | 'lone_surrogate';

export interface UnsafeChar {
  kind: UnsafeCharKind;
  /** e.g. `U+202E`. */
  codePoint: string;
  /** UTF-16 index in the text. */
  index: number;
}

/** `U+XXXX` of the first code point of `ch`. */
export function describeCodePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * C0 and C1 controls and DEL. Multi-line fields (excerpts, prompt content) may hold `\n`, `\t`
 * and a CR that starts a CRLF line ending; a lone CR can overwrite a terminal line in a log.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_SINGLE_LINE_RE = /[\u0000-\u001F\u007F-\u009F]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_MULTI_LINE_RE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|\r(?!\n)/;

function firstMatch(re: RegExp, text: string, kind: UnsafeCharKind): UnsafeChar | null {
  const m = re.exec(text);
  return m ? { kind, codePoint: describeCodePoint(m[0]), index: m.index } : null;
}

/**
 * The first character that text arriving from outside must not contain: a control character, a
 * bidi control, or half of a surrogate pair (not valid Unicode; Postgres would store U+FFFD).
 * The earliest one wins, so the answer does not depend on which check runs first.
 */
export function findUnsafeChar(text: string, opts: { multiline?: boolean } = {}): UnsafeChar | null {
  const found = [
    firstMatch(opts.multiline ? CONTROL_MULTI_LINE_RE : CONTROL_SINGLE_LINE_RE, text, 'control'),
    firstMatch(BIDI_CONTROL_RE, text, 'bidi'),
    firstMatch(LONE_SURROGATE_RE, text, 'lone_surrogate'),
  ].filter((f): f is UnsafeChar => f !== null);
  return found.sort((a, b) => a.index - b.index)[0] ?? null;
}

/** Whether `text` holds half of a surrogate pair. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE_RE.test(text);
}

/** Occurrences of each invisible code point, e.g. `{ 'U+200B': 2 }`. */
export function countInvisible(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  // eslint-disable-next-line no-misleading-character-class -- see INVISIBLE_CHAR_RE
  for (const m of text.matchAll(new RegExp(INVISIBLE_CHAR_RE.source, 'gu'))) {
    const cp = describeCodePoint(m[0]);
    counts.set(cp, (counts.get(cp) ?? 0) + 1);
  }
  return counts;
}
