import { afterAll, beforeAll } from 'vitest';
import type { RolloutPlan } from '../../src/domain/types';
import type { PromptVersionRow, Store } from '../../src/store';
import type { Backend } from './backends';

/** Opens the backend's store once for the enclosing describe block; read it inside tests. */
export function storeOn(backend: Backend): () => Store {
  let store: Store | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const opened = await backend.open();
    store = opened.store;
    cleanup = opened.cleanup;
  });
  afterAll(async () => cleanup?.());
  return () => {
    if (!store) throw new Error('the store is opened in beforeAll');
    return store;
  };
}

/** An active control and one candidate derived from it (rules strategy), as a cycle leaves them. */
export async function controlAndVariant(
  store: Store,
  promptKey: string,
  contents: { control: string; variant: string },
): Promise<{ control: PromptVersionRow; variant: PromptVersionRow }> {
  const control = await store.createPromptVersion({ promptKey, content: contents.control, activate: true });
  const variant = await store.createPromptVersion({
    promptKey,
    content: contents.variant,
    parentVersionId: control.id,
    strategy: 'rules',
  });
  return { control, variant };
}

/** The ramp most rollout tests use: 50% -> 90% -> 100%, each step held `holdHours`, a 5% holdback watched `watchHours`. */
export function threeStepRamp(holdHours: number, watchHours: number): RolloutPlan {
  return {
    steps: [
      { share: 0.5, holdHours },
      { share: 0.9, holdHours },
      { share: 1, holdHours: 0 },
    ],
    holdbackShare: 0.05,
    watchHours,
    margin: 0,
  };
}
