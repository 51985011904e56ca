import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store';
import type { MigrationTarget } from '../../src/store/migrate';
import vectors from '../../packages/client/vectors/assignment.json';
import { backends } from '../helpers/backends';

/**
 * The SQL side of the shared assignment vectors (packages/client/vectors/assignment.json, also
 * checked by the SDK in test/client/assignment.test.ts): md5, assignment_bucket and assign_prompt
 * give the pinned values on every backend. Experiments with the vectors' fixed ids are inserted
 * directly, so assign_prompt runs on exactly the ids the vectors were computed for.
 */
describe.each(backends)('assignment vectors on $name', (backend) => {
  let store: Store;
  let target: MigrationTarget;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const opened = await backend.open();
    store = opened.store;
    target = opened.migrationTarget;
    cleanup = opened.cleanup;
  });
  afterAll(async () => cleanup?.());

  it('md5 and assignment_bucket give every pinned bucket', async () => {
    for (const v of vectors.buckets) {
      const { rows } = await target.query<{ md5: string; bucket: number }>(
        `select md5($1::uuid::text || ':' || $2) as md5, internal.assignment_bucket($1::uuid, $2) as bucket`,
        [v.experimentId, v.subjectId],
      );
      expect(rows[0], JSON.stringify(v.subjectId)).toEqual({ md5: v.md5, bucket: v.bucket });
    }
  });

  it('assign_prompt gives every pinned arm', async () => {
    for (const [i, a] of vectors.assignments.entries()) {
      const key = `vectors-${backend.name}-${i}`;
      const versions: string[] = [];
      for (let arm = 0; arm < a.weights.length; arm++) {
        versions.push((await store.createPromptVersion({ promptKey: key, content: `arm ${arm} of ${key}`, activate: arm === 0 })).id);
      }
      await target.query('insert into public.ai_ab_experiments (id, prompt_key, control_version_id) values ($1, $2, $3)', [
        a.experimentId,
        key,
        versions[0],
      ]);
      // One statement: the weights must sum to 1 when it commits (deferred constraint trigger).
      await target.query(
        `insert into public.ai_experiment_arms (experiment_id, arm, version_id, weight)
         select $1::uuid, (x.ord - 1)::smallint, x.v::uuid, ($3::numeric[])[x.ord] from unnest($2::text[]) with ordinality as x(v, ord)`,
        [a.experimentId, `{${versions.join(',')}}`, `{${a.weights.join(',')}}`],
      );
      for (const c of a.cases) {
        const got = await store.assignPrompt(key, c.subjectId);
        expect({ subject: c.subjectId, arm: got.arm, version: got.version_id }).toEqual({
          subject: c.subjectId,
          arm: c.arm,
          version: versions[c.arm],
        });
      }
      await store.concludeExperiment({ experimentId: a.experimentId, outcome: 'stopped', reason: 'vectors checked' });
    }
  });
});
