/**
 * The default, offline strategy: fixed instruction sections chosen by the insight kinds. It is
 * deterministic (no clock, no randomness), so a replayed or retried activity proposes exactly
 * the same variants, and it needs no network, so an optimization cycle can always run. It never
 * copies conversation text (excerpts, topics, errors, subject ids) into a variant: see sections.ts.
 */
import type { GenerationInput, Insight, VariantCandidate } from '../domain/types';
import { describeInsight, rankInsights } from './insights';
import { promptHash } from './normalize';
import { checklistSection, clarifySection, renderSection, sectionsFor, structureSection, type Section, wellRatedSection } from './sections';
import type { VariantStrategy } from './strategy';

/** How many of the top insights a "combined" variant addresses. */
const COMBINE_TOP = 3;

interface Plan {
  /** Insights this variant addresses (empty for a generic improvement). */
  addresses: Insight[];
  sections: Section[];
}

/** Sections in order, the first of each key winning. */
function uniqueSections(sections: Section[]): Section[] {
  const seen = new Set<string>();
  return sections.filter((s) => (seen.has(s.key) ? false : (seen.add(s.key), true)));
}

/**
 * Candidate plans, best first: the most severe insight alone, the top insights together, the
 * top insights plus what well-rated answers do, each remaining insight alone, all of them; then generic
 * improvements, which also serve when there are no insights (a forced cycle must still propose
 * something) or when the insight-driven sections are already in the prompt.
 */
function plans(input: GenerationInput): Plan[] {
  const ranked = rankInsights(input.insights);
  const samples = { best: input.best };
  const forInsights = (list: Insight[]): Section[] => uniqueSections(list.flatMap((i) => sectionsFor(i, samples)));
  const wellRated = wellRatedSection(input.best);
  const out: Plan[] = [];

  if (ranked.length > 0) {
    const top = ranked.slice(0, COMBINE_TOP);
    out.push({ addresses: ranked.slice(0, 1), sections: forInsights(ranked.slice(0, 1)) });
    if (top.length > 1) out.push({ addresses: top, sections: forInsights(top) });
    if (wellRated) out.push({ addresses: top, sections: uniqueSections([...forInsights(top), wellRated]) });
    for (const insight of ranked.slice(1)) out.push({ addresses: [insight], sections: forInsights([insight]) });
    if (ranked.length > COMBINE_TOP) out.push({ addresses: ranked, sections: forInsights(ranked) });
  }

  out.push({ addresses: [], sections: [checklistSection] });
  out.push({ addresses: [], sections: [structureSection] });
  out.push({
    addresses: [],
    sections: [checklistSection, clarifySection(), ...(wellRated ? [wellRated] : [])],
  });
  return out;
}

/** Appends sections after the control, untouched, with one blank line between. */
function applySections(control: string, sections: Section[]): string {
  const body = sections.map(renderSection).join('\n\n');
  if (control === '') return body;
  const separator = control.endsWith('\n\n') ? '' : control.endsWith('\n') ? '\n' : '\n\n';
  return control + separator + body;
}

function rationale(plan: Plan, index: number): string {
  const titles = plan.sections.map((s) => s.title).join('; ');
  if (plan.addresses.length === 0) {
    return `Variant ${index}: generic improvement (not tied to an insight); adds sections: ${titles}.`;
  }
  const what = plan.addresses.map(describeInsight).join('; ');
  return `Variant ${index}: addresses ${what}. Adds sections: ${titles}.`;
}

export const rulesStrategy: VariantStrategy = {
  name: 'rules',
  async generate(input: GenerationInput): Promise<VariantCandidate[]> {
    const control = input.control.content;
    const seen = new Set<string>([promptHash(control)]);
    const out: VariantCandidate[] = [];
    for (const plan of plans(input)) {
      if (out.length >= input.count) break;
      // Sections already in the prompt (e.g. it is an earlier rules winner) would add nothing.
      const fresh = plan.sections.filter((s) => !control.includes(renderSection(s)));
      if (fresh.length === 0) continue;
      const content = applySections(control, fresh);
      const hash = promptHash(content);
      if (seen.has(hash)) continue;
      seen.add(hash);
      out.push({ content, rationale: rationale({ ...plan, sections: fresh }, out.length + 1), strategy: 'rules' });
    }
    return out;
  },
};
