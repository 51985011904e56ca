/**
 * The serving snapshot as the client keeps it: an index by prompt key, checked once when it
 * arrives so that getPrompt can trust it without checks of its own. A snapshot that does not
 * parse is refused whole and the last good one stays.
 */
import { PromptClientError } from './errors.js';
import type { ServingArm, ServingExperiment, ServingPrompt, ServingSnapshot, ServingVersion } from './types.js';

export type ServingIndex = ReadonlyMap<string, ServingPrompt>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(what: string): never {
  throw new PromptClientError('bad_response', `serving snapshot: ${what}`);
}

function version(v: unknown, where: string): ServingVersion {
  if (!isObject(v) || typeof v.versionId !== 'string' || typeof v.content !== 'string' || !Number.isInteger(v.version)) {
    fail(`${where} must have versionId, version and content`);
  }
  return { versionId: v.versionId, version: v.version as number, content: v.content };
}

function arm(a: unknown, where: string): ServingArm {
  if (!isObject(a) || !Number.isInteger(a.arm) || typeof a.weight !== 'number' || !(a.weight > 0 && a.weight <= 1)) {
    fail(`${where} must have an integer arm and a weight in (0, 1]`);
  }
  return { ...version(a, where), arm: a.arm as number, weight: a.weight };
}

function experiment(e: unknown, where: string): ServingExperiment | null {
  if (e === null || e === undefined) return null;
  if (
    !isObject(e) ||
    typeof e.experimentId !== 'string' ||
    !Array.isArray(e.arms) ||
    e.arms.length === 0 ||
    typeof e.paused !== 'boolean'
  ) {
    fail(`${where} must have experimentId, paused and arms`);
  }
  // assign_prompt walks the arms in arm order.
  const arms = e.arms.map((a, i) => arm(a, `${where}.arms[${i}]`)).sort((x, y) => x.arm - y.arm);
  return { experimentId: e.experimentId, status: e.paused ? 'paused' : 'running', paused: e.paused, arms };
}

export function parseSnapshot(body: unknown): { snapshot: ServingSnapshot; index: ServingIndex } {
  if (!isObject(body) || !Array.isArray(body.prompts)) fail('expected { prompts: [...] }');
  const index = new Map<string, ServingPrompt>();
  body.prompts.forEach((p: unknown, i) => {
    if (!isObject(p) || typeof p.promptKey !== 'string') fail(`prompts[${i}] must have a promptKey`);
    index.set(p.promptKey, {
      promptKey: p.promptKey,
      active: version(p.active, `prompts[${i}].active`),
      experiment: experiment(p.experiment, `prompts[${i}].experiment`),
    });
  });
  return { snapshot: { prompts: [...index.values()] }, index };
}
