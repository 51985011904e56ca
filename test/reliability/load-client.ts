/**
 * The load generator of the load scenario, run as its own process (so the worker and the load
 * do not share an event loop): autocannon's programmatic API against GET /health,
 * POST /v1/assign and POST /v1/conversations, one run after the other. Every conversation has
 * its own externalId, and the row id of every 201 is collected, so the harness can count the
 * database rows exactly.
 *
 *   node --import tsx test/reliability/load-client.ts CONFIG.json   (writes config.out)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface LoadConfig {
  baseUrl: string;
  ingestToken: string;
  durationSec: number;
  connections: number;
  promptKey: string;
  versionId: string;
  /** Prefix of every externalId / subjectId this run sends. */
  runId: string;
  out: string;
}

export interface LoadRun {
  target: string;
  durationSec: number;
  connections: number;
  requests: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  statusCounts: Record<string, number>;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Row ids answered with 201 (conversations only). */
  createdIds?: number[];
  /** Answers 200 "already recorded" (conversations only; none expected: every externalId is new). */
  existing?: number;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  statusCodeStats: Record<string, { count: number }>;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}

interface AutocannonRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
  onResponse?: (status: number, body: string) => void;
}

type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  requests?: AutocannonRequest[];
  method?: string;
  headers?: Record<string, string>;
}) => Promise<AutocannonResult>;

const autocannon = createRequire(__filename)('autocannon') as Autocannon;

function summarize(target: string, cfg: LoadConfig, r: AutocannonResult): LoadRun {
  const statusCounts: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.statusCodeStats ?? {})) statusCounts[k] = v.count;
  return {
    target,
    durationSec: r.duration,
    connections: cfg.connections,
    requests: r.requests.total,
    rps: r.requests.average,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.average },
    statusCounts,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadConfig;
  const auth = { authorization: `Bearer ${cfg.ingestToken}`, 'content-type': 'application/json' };
  const base = { url: cfg.baseUrl, connections: cfg.connections, duration: cfg.durationSec, timeout: 10 };
  const runs: LoadRun[] = [];

  runs.push(summarize('GET /health', cfg, await autocannon({ ...base, method: 'GET', requests: [{ method: 'GET', path: '/health' }] })));

  let subject = 0;
  runs.push(
    summarize(
      'POST /v1/assign',
      cfg,
      await autocannon({
        ...base,
        requests: [
          {
            method: 'POST',
            path: '/v1/assign',
            headers: auth,
            setupRequest: (req) => ({
              ...req,
              body: JSON.stringify({ promptKey: cfg.promptKey, subjectId: `${cfg.runId}-s-${subject++}` }),
            }),
          },
        ],
      }),
    ),
  );

  let n = 0;
  const createdIds: number[] = [];
  let existing = 0;
  const conv = summarize(
    'POST /v1/conversations',
    cfg,
    await autocannon({
      ...base,
      requests: [
        {
          method: 'POST',
          path: '/v1/conversations',
          headers: auth,
          setupRequest: (req) => {
            const i = n++;
            return {
              ...req,
              body: JSON.stringify({
                promptKey: cfg.promptKey,
                versionId: cfg.versionId,
                success: i % 3 !== 0,
                subjectId: `${cfg.runId}-s-${i}`,
                externalId: `${cfg.runId}-c-${i}`,
                topic: i % 4 === 0 ? 'billing' : 'general',
                latencyMs: 500 + (i % 700),
                tokens: 200 + (i % 300),
                rating: 1 + (i % 5),
              }),
            };
          },
          onResponse: (status, body) => {
            if (status === 201) {
              try {
                createdIds.push(Number((JSON.parse(body) as { id: number | string }).id));
              } catch {
                createdIds.push(-1);
              }
            } else if (status === 200) existing++;
          },
        },
      ],
    }),
  );
  runs.push({ ...conv, createdIds, existing });
  writeFileSync(cfg.out, JSON.stringify({ runs, conversationBodiesBuilt: n }));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
