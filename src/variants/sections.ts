/**
 * The instruction sections the rules strategy can add, one builder per insight kind. Each is a
 * self-contained Markdown section appended to the prompt, so an edit can never reach into a
 * `{{variable}}` or a locked block of the original.
 */
import type { ConversationSample, Insight } from '../domain/types';
import { inertText, quote } from './text';

export interface Section {
  /** Identity for dedupe when variants combine several insights (kind + segment). */
  key: string;
  title: string;
  body: string;
}

export function renderSection(section: Section): string {
  return `## ${section.title}\n${section.body}`;
}

const TOPIC_MAX = 80;
const EXAMPLE_INPUT_MAX = 200;
const EXAMPLE_OUTPUT_MAX = 400;
const FAILURE_INPUT_MAX = 160;

function segmentKey(insight: Insight): string {
  return insight.segment ? `${insight.kind}:${inertText(insight.segment, TOPIC_MAX).toLowerCase()}` : insight.kind;
}

/** "This matters most for questions about "x"." when the insight is about one segment. */
function scopeNote(insight: Insight): string {
  return insight.segment ? ` This matters most for questions about ${quote(insight.segment, TOPIC_MAX)}.` : '';
}

/** Whether an excerpt still says something once made inert (it may be only control characters). */
function hasText(text: string | null): boolean {
  return text !== null && inertText(text, Number.MAX_SAFE_INTEGER) !== '';
}

function sameTopic(a: string | null, b: string): boolean {
  return a !== null && a.trim().toLowerCase() === b.trim().toLowerCase();
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
 * Few-shot examples from the best-rated conversations: highest rating first, successes before
 * failures, then by text so the choice does not depend on the order samples arrived in.
 */
export function examplesSection(best: readonly ConversationSample[], max = 2): Section | null {
  const usable = best
    .filter((s) => hasText(s.inputExcerpt) && hasText(s.outputExcerpt))
    .slice()
    .sort(
      (a, b) =>
        (b.rating ?? -Infinity) - (a.rating ?? -Infinity) ||
        Number(b.success) - Number(a.success) ||
        ((a.inputExcerpt ?? '') < (b.inputExcerpt ?? '') ? -1 : (a.inputExcerpt ?? '') > (b.inputExcerpt ?? '') ? 1 : 0),
    )
    .slice(0, max);
  if (usable.length === 0) return null;
  const examples = usable.map(
    (s, i) =>
      `Example ${i + 1}\nUser: ${quote(s.inputExcerpt ?? '', EXAMPLE_INPUT_MAX)}\n` +
      `Assistant: ${quote(s.outputExcerpt ?? '', EXAMPLE_OUTPUT_MAX)}`,
  );
  return {
    key: 'examples',
    title: 'Examples of well-rated answers',
    body:
      'Users rated these exchanges highly. Match their tone and level of detail; do not copy them word for word.\n\n' +
      examples.join('\n\n'),
  };
}

function segmentSection(insight: Insight, failures: readonly ConversationSample[]): Section {
  if (!insight.segment) {
    return {
      key: segmentKey(insight),
      title: 'Questions you often get wrong',
      body:
        'Some kinds of questions often go unresolved. Before answering, restate the exact goal to yourself, ' +
        'ask one clarifying question if a detail you need is missing, and say plainly what you cannot do ' +
        'rather than guessing.',
    };
  }
  const topic = quote(insight.segment, TOPIC_MAX);
  // Distinct requests only: the same failing question logged many times is one example.
  const seen = [...new Set(failures
    .filter((f) => sameTopic(f.topic, insight.segment ?? '') && hasText(f.inputExcerpt))
    .map((f) => quote(f.inputExcerpt ?? '', FAILURE_INPUT_MAX)))]
    .slice(0, 2);
  return {
    key: segmentKey(insight),
    title: `Questions about ${topic}`,
    body:
      `When the user asks about ${topic}: make sure you understand the exact goal, ask one clarifying ` +
      'question if a detail you need is missing, give concrete step-by-step guidance specific to this topic, ' +
      'and say plainly what you cannot do rather than guessing.' +
      (seen.length > 0 ? ` Requests like these have often gone unresolved: ${seen.join('; ')}.` : ''),
  };
}

/** The sections that address one insight; `examples` is reused when a variant combines several. */
export function sectionsFor(
  insight: Insight,
  samples: { best: readonly ConversationSample[]; failures: readonly ConversationSample[] },
): Section[] {
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
      return [segmentSection(insight, samples.failures)];
    case 'low_rating': {
      const examples = examplesSection(samples.best);
      const clarify = clarifySection(segmentKey(insight), scopeNote(insight));
      return examples ? [clarify, examples] : [clarify];
    }
  }
}
