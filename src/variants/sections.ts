/**
 * The instruction sections the rules strategy can add, one builder per insight kind. Each is a
 * self-contained Markdown section appended to the prompt, so an edit can never reach into a
 * `{{variable}}` or a locked block of the original. The text is ours: conversation data shows up
 * only as numbers and as an allow-listed topic label, never as words someone typed.
 */
import type { ConversationSample, Insight } from '../domain/types';
import { segmentLabel } from './label';
import { formatPercent, formatRating, isRate, mean, validRating } from './numbers';

export interface Section {
  /** Identity for dedupe when variants combine several insights (kind + segment). */
  key: string;
  title: string;
  body: string;
}

export function renderSection(section: Section): string {
  return `## ${section.title}\n${section.body}`;
}

/** A segment's identity for dedupe: its label, or one shared key for every segment that cannot be named. */
function segmentKey(insight: Insight): string {
  if (!insight.segment) return insight.kind;
  return `${insight.kind}:${segmentLabel(insight.segment) ?? '(unnamed)'}`;
}

/** "This matters most for questions about "x"." when the insight is about a segment that can be named. */
function scopeNote(insight: Insight): string {
  const label = insight.segment ? segmentLabel(insight.segment) : null;
  if (label) return ` This matters most for questions about "${label}".`;
  return insight.segment ? ' This matters most for questions in one particular topic.' : '';
}

export const clarifySection = (key = 'generic:clarify', scope = ''): Section => ({
  key,
  title: 'Clarify before answering',
  body:
    'When a request is ambiguous or missing a detail you need, ask one short clarifying question ' +
    'before answering instead of guessing. When the request is clear, answer directly.' +
    scope,
});

export const checklistSection: Section = {
  key: 'generic:checklist',
  title: 'Before you reply',
  body:
    "Check that your answer addresses the user's actual question, is accurate, and is as short as it " +
    'can be while still complete. If you are not sure about something, say so instead of guessing.',
};

export const structureSection: Section = {
  key: 'generic:structure',
  title: 'Structure your answer',
  body:
    'Lead with the direct answer, then the supporting detail. Use a numbered list for multi-step ' +
    'instructions and plain prose otherwise.',
};

/**
 * Guidance from the best-rated conversations, taken from their numbers only (how many, how they
 * were rated). Their words are user data: quoting them would let anyone who rates their own chat
 * 5 write into everyone's prompt.
 */
export function wellRatedSection(best: readonly ConversationSample[]): Section | null {
  // The examples are the successful, rated conversations whose text was logged (those the former
  // few-shot section quoted, so variants are proposed as before); only their count and ratings are used.
  const examples = best.filter((s) => s.success && hasWords(s.inputExcerpt) && hasWords(s.outputExcerpt));
  const ratings = examples.map((s) => s.rating).filter(validRating);
  if (ratings.length === 0) return null;
  const evidence = `${ratings.length} of the best-rated conversations sampled averaged ${formatRating(mean(ratings))} out of 5`;
  return {
    key: 'well-rated',
    title: 'What well-rated answers do',
    body:
      `Users rate answers here highly when they resolve the request on the first reply (${evidence}). ` +
      'Aim for that every time: answer the actual question directly, in a friendly and plain tone, with the ' +
      'detail the user needs to act and no more, and end with the one next step when there is one.',
  };
}

/** Whether logged text says anything (it may be empty or only control characters). */
function hasWords(text: string | null): boolean {
  return text !== null && /[\p{L}\p{N}]/u.test(text);
}

/** "In this topic 41% of conversations were resolved, against 78% elsewhere." from the analysis' numbers. */
function segmentEvidence(evidence: Record<string, unknown>): string {
  const rate = evidence.rate ?? evidence.successRate;
  const rest = evidence.rest_rate;
  if (!isRate(rate)) return '';
  const against = isRate(rest) ? `, against ${formatPercent(rest)} for other questions` : '';
  return ` Only ${formatPercent(rate)} of these conversations were resolved${against}.`;
}

function segmentSection(insight: Insight): Section {
  const label = insight.segment ? segmentLabel(insight.segment) : null;
  const evidence = segmentEvidence(insight.evidence);
  if (!label) {
    return {
      key: segmentKey(insight),
      title: 'Questions you often get wrong',
      body:
        'Some kinds of questions often go unresolved. Before answering, restate the exact goal to yourself, ' +
        'ask one clarifying question if a detail you need is missing, and say plainly what you cannot do ' +
        'rather than guessing.' +
        evidence,
    };
  }
  return {
    key: segmentKey(insight),
    title: `Questions about "${label}"`,
    body:
      `When the user asks about "${label}": make sure you understand the exact goal, ask one clarifying ` +
      'question if a detail you need is missing, give concrete step-by-step guidance specific to this topic, ' +
      'and say plainly what you cannot do rather than guessing.' +
      evidence,
  };
}

/** The sections that address one insight; `examples` is reused when a variant combines several. */
export function sectionsFor(insight: Insight, samples: { best: readonly ConversationSample[] }): Section[] {
  switch (insight.kind) {
    case 'verbosity':
      return [
        {
          key: segmentKey(insight),
          title: 'Keep answers concise',
          body:
            'Longer answers have gone with worse outcomes here. Use as few words as fully resolve the request: ' +
            'lead with the answer, skip preambles and restating the question, and leave out caveats that do not ' +
            'change what the user should do. Expand only when the user asks for more detail.' +
            scopeNote(insight),
        },
      ];
    case 'latency':
      return [
        {
          key: segmentKey(insight),
          title: 'Answer first',
          body:
            'Put the direct answer in the first sentence, then only the detail needed to act on it. Do not ' +
            'think out loud or list options you will not recommend; a shorter reply reaches the user sooner.' +
            scopeNote(insight),
        },
      ];
    case 'error_rate':
      return [
        {
          key: segmentKey(insight),
          title: 'Handle problems gracefully',
          body:
            'If a request is incomplete, malformed or outside what you can do, say so in one sentence and tell ' +
            'the user what to provide or where to go instead. Never reply with an empty message, keep to the ' +
            'expected output format even when you cannot fully answer, and do not guess values you were not given.' +
            scopeNote(insight),
        },
      ];
    case 'regression':
      return [
        {
          key: segmentKey(insight),
          title: 'Stay with what worked',
          body:
            'Note: a recent revision of this prompt performed worse than the version before it. Follow the ' +
            'instructions above as written and do not add behaviour they do not ask for.' +
            scopeNote(insight),
        },
      ];
    case 'low_success_segment':
      return [segmentSection(insight)];
    case 'low_rating': {
      const wellRated = wellRatedSection(samples.best);
      const clarify = clarifySection(segmentKey(insight), scopeNote(insight));
      return wellRated ? [clarify, wellRated] : [clarify];
    }
  }
}
