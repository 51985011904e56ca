/**
 * URLs, e-mail addresses and phone numbers in a text. A variant that adds one sends every user to
 * a place or a person nobody approved, the classic payload of a prompt injection, so the
 * validator refuses any the control does not already have.
 *
 * Deliberately conservative: a new dotted name like `evil.example` (or, as collateral, `Node.js`)
 * counts as a URL, because a model reads it as one. Text is NFKC-normalized first so full-width
 * look-alikes (`ｈｔｔｐｓ：／／`) are caught too. Spelled-out tricks ("evil dot example") are
 * not: that is what review before exposure is for.
 */

export interface Contacts {
  urls: string[];
  emails: string[];
  phones: string[];
}

const STOP = `[^\\s<>"'\`\\u0000-\\u001F]`;
const EMAIL_RE = /[\p{L}\p{N}._%+-]+@(?:[\p{L}\p{N}-]+\.)+\p{L}{2,63}/gu;
const SCHEME_URL_RE = new RegExp(`[a-z][a-z0-9+.-]{1,30}:\\/\\/${STOP}+`, 'gu');
const SPECIAL_SCHEME_RE = new RegExp(`\\b(?:mailto|javascript|data|vbscript|file|tel|sms):${STOP}+`, 'gu');
const BARE_HOST_RE = new RegExp(
  `(?<![\\p{L}\\p{N}_.-])(?:[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]{0,62}[\\p{L}\\p{N}])?\\.)+\\p{L}{2,63}(?![\\p{L}\\p{N}_-])(?:[/:?#]${STOP}*)?`,
  'gu',
);
/** Digit groups with the usual separators; 7 digits or more count (a phone number, or a card or account number). */
const PHONE_RE = /(?<![\p{N}.,])\+?\(?\p{Nd}[\p{Nd} ().-]{5,}\p{Nd}(?![\p{N}])/gu;
const ISO_DATE_RE = /^\p{Nd}{4}-\p{Nd}{2}-\p{Nd}{2}$/u;
const TRAILING_PUNCT_RE = /[.,;:!?)\]}]+$/u;

/** Same URL whether written with or without `http(s)://`, in any case, with or without a final `/`. */
function urlIdentity(raw: string): string {
  return raw
    .replace(TRAILING_PUNCT_RE, '')
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');
}

/** Collects matches of `re` and blanks them out, so a later, looser pattern cannot match inside them. */
function take(text: string, re: RegExp, identity: (raw: string) => string | null): { rest: string; found: string[] } {
  const found: string[] = [];
  const rest = text.replace(re, (raw) => {
    const id = identity(raw);
    if (id !== null) found.push(id);
    return ' '.repeat(raw.length);
  });
  return { rest, found };
}

function phoneIdentity(raw: string): string | null {
  const trimmed = raw.trim();
  if (ISO_DATE_RE.test(trimmed)) return null;
  const digits = trimmed.replace(/\P{Nd}/gu, '');
  return digits.length >= 7 ? digits : null;
}

export function extractContacts(text: string): Contacts {
  const normalized = text.normalize('NFKC').toLowerCase();
  const emails = take(normalized, EMAIL_RE, (raw) => raw);
  const schemes = take(emails.rest, SCHEME_URL_RE, urlIdentity);
  const special = take(schemes.rest, SPECIAL_SCHEME_RE, urlIdentity);
  const hosts = take(special.rest, BARE_HOST_RE, urlIdentity);
  const phones = take(hosts.rest, PHONE_RE, phoneIdentity);
  return {
    urls: [...schemes.found, ...special.found, ...hosts.found],
    emails: emails.found,
    phones: phones.found,
  };
}

/** Whether the text holds anything that reads as a URL, an e-mail address or a phone number. */
export function hasContacts(text: string): boolean {
  const c = extractContacts(text);
  return c.urls.length + c.emails.length + c.phones.length > 0;
}
