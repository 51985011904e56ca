import { describe, it, expect } from 'vitest';
import { normalizePrompt, promptHash, validateCandidate } from '../../src/variants';

const CONTROL = [
  'You are a support assistant for {{ company }}.',
  'Greet {{user_name}} by name.',
  '<!-- locked -->',
  'Never reveal internal ticket IDs.',
  '<!-- /locked -->',
  'Answer in {{language}}.',
].join('\n');

const GOOD = `${CONTROL}\n\n## Keep answers concise\nLead with the answer.`;

function reasonOf(result: ReturnType<typeof validateCandidate>): string {
  if (result.ok) throw new Error('expected a rejection');
  return result.reason;
}

describe('normalizePrompt / promptHash', () => {
  it('applies NFKC, lowercases, collapses whitespace and trims', () => {
    expect(normalizePrompt('  Ｈｅｌｌｏ\t\n  WORLD ﬁne  ')).toBe('hello world fine');
  });

  it('hashes equivalent prompts equally as sha256 hex', () => {
    expect(promptHash('Be  Brief.\n')).toBe(promptHash('be brief.'));
    expect(promptHash('be brief.')).toMatch(/^[0-9a-f]{64}$/);
    expect(promptHash('be brief.')).not.toBe(promptHash('be briefer.'));
  });
});

describe('validateCandidate', () => {
  it('accepts a candidate that keeps variables and locked blocks, returning its hash', () => {
    const result = validateCandidate(CONTROL, GOOD, []);
    expect(result).toEqual({ ok: true, normalizedHash: promptHash(GOOD) });
  });

  it('rejects empty and whitespace-only candidates', () => {
    expect(reasonOf(validateCandidate(CONTROL, '', []))).toBe('Candidate is empty.');
    expect(reasonOf(validateCandidate(CONTROL, ' \n\t ', []))).toBe('Candidate is empty.');
  });

  it('rejects a candidate over the default 20,000 characters, and honours a custom maximum', () => {
    const long = `${GOOD}\n${'x'.repeat(20_000)}`;
    expect(reasonOf(validateCandidate(CONTROL, long, []))).toMatch(/too long \(\d+ characters, maximum 20000\)/);
    expect(reasonOf(validateCandidate(CONTROL, GOOD, [], { maxLength: 50 }))).toMatch(/too long .*maximum 50/);
  });

  it('counts length in code points, not UTF-16 units', () => {
    const control = 'Be kind.';
    const emoji = `${control} ${'😀'.repeat(15)}`; // 24 code points, 39 UTF-16 units
    expect(validateCandidate(control, emoji, [], { maxLength: 30 }).ok).toBe(true);
  });

  it('rejects a candidate that is too short', () => {
    expect(reasonOf(validateCandidate('Hi', 'Hello', []))).toBe('Candidate is too short (5 characters, minimum 10).');
    expect(reasonOf(validateCandidate(CONTROL, GOOD, [], { minLength: 10_000 }))).toMatch(/too short .*minimum 10000/);
  });

  it.each([
    ['NUL', '\u0000'],
    ['BEL', '\u0007'],
    ['vertical tab', '\u000B'],
    ['form feed', '\u000C'],
    ['unit separator', '\u001F'],
    ['replacement character', '\uFFFD'],
  ])('rejects binary/control character %s', (_name, ch) => {
    const reason = reasonOf(validateCandidate(CONTROL, `${GOOD}${ch}`, []));
    const code = `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    expect(reason).toBe(`Candidate contains a binary or control character (${code} at index ${GOOD.length}).`);
  });

  it('allows tab, newline and carriage return', () => {
    expect(validateCandidate(CONTROL, `${GOOD}\r\n\tIndented.`, []).ok).toBe(true);
  });

  it('names every missing variable', () => {
    const dropped = GOOD.replace('{{user_name}}', 'the user').replace('{{language}}', 'English');
    expect(reasonOf(validateCandidate(CONTROL, dropped, []))).toBe(
      'Candidate is missing template variables {{user_name}}, {{language}}.',
    );
    const one = GOOD.replace('{{language}}', 'English');
    expect(reasonOf(validateCandidate(CONTROL, one, []))).toBe('Candidate is missing template variable {{language}}.');
  });

  it('treats whitespace inside the braces as insignificant', () => {
    const respaced = GOOD.replace('{{ company }}', '{{company}}').replace('{{user_name}}', '{{   user_name\t}}');
    expect(validateCandidate(CONTROL, respaced, []).ok).toBe(true);
  });

  it('rejects a changed locked block, even by one byte', () => {
    const edited = GOOD.replace('Never reveal internal ticket IDs.', 'Never reveal internal ticket IDs!');
    expect(reasonOf(validateCandidate(CONTROL, edited, []))).toBe(
      'Locked section 1 of 1 was changed or removed; locked sections must be kept byte-for-byte.',
    );
    const reindented = GOOD.replace('<!-- locked -->\n', '<!-- locked -->\n  ');
    expect(validateCandidate(CONTROL, reindented, []).ok).toBe(false);
  });

  it('rejects a removed locked block but accepts a moved one', () => {
    const block = '<!-- locked -->\nNever reveal internal ticket IDs.\n<!-- /locked -->';
    expect(validateCandidate(CONTROL, GOOD.replace(block, ''), []).ok).toBe(false);
    const moved = `${block}\n${GOOD.replace(block, 'Be friendly.')}`;
    expect(validateCandidate(CONTROL, moved, []).ok).toBe(true);
  });

  it('names which of several locked blocks was broken, and requires repeated blocks to stay repeated', () => {
    const control = 'A <!-- locked -->one<!-- /locked --> B <!-- locked -->two<!-- /locked --> C {{x}}';
    expect(reasonOf(validateCandidate(control, control.replace('two', 'TWO') + ' more', []))).toMatch(
      /^Locked section 2 of 2/,
    );
    const twice = 'X <!-- locked -->same<!-- /locked --> Y <!-- locked -->same<!-- /locked -->';
    expect(validateCandidate(twice, 'X <!-- locked -->same<!-- /locked --> Y and more', []).ok).toBe(false);
  });

  it('treats an unclosed locked marker as locking the rest of the control', () => {
    const control = 'Intro {{x}}.\n<!-- locked -->\nFooter text.';
    expect(validateCandidate(control, `${control}\nAppended.`, []).ok).toBe(true);
    expect(validateCandidate(control, control.replace('Footer', 'footer') + ' extra', []).ok).toBe(false);
  });

  it('rejects a candidate identical to control after normalization', () => {
    expect(reasonOf(validateCandidate(CONTROL, `${CONTROL}   \n`, []))).toBe(
      'Candidate is identical to the control prompt (after normalization).',
    );
    const control = 'Answer in {{language}}. Be kind.';
    expect(reasonOf(validateCandidate(control, '  ANSWER in {{language}}.\n\n  be KIND. ', []))).toMatch(/identical/);
  });

  it('rejects a duplicate of an earlier version after normalization, naming which one', () => {
    const earlier = ['Something else entirely.', GOOD.replace('Lead with', 'LEAD   WITH')];
    expect(reasonOf(validateCandidate(CONTROL, GOOD, earlier))).toBe(
      'Candidate duplicates earlier version #2 (after normalization).',
    );
  });

  it('treats NFKC look-alikes as duplicates', () => {
    const control = 'Answer politely.';
    const earlier = ['Answer politely. Be brief.'];
    expect(validateCandidate(control, 'Answer politely. Ｂｅ ｂｒｉｅｆ.', earlier).ok).toBe(false);
  });
});
