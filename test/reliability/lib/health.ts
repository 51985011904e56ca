import { sleep } from './proc';
import type { WorkerProcess } from './worker';

export interface HealthSample {
  /** ms since epoch when the request was sent. */
  at: number;
  /** HTTP status, or 0 when no answer came within the timeout / the connection failed. */
  status: number;
  ms: number;
  reason?: string;
}

/** Polls GET /health every intervalMs (one request at a time) until stopped. */
export function pollHealth(worker: WorkerProcess, intervalMs = 500, timeoutMs = 4_000): { samples: HealthSample[]; stop(): Promise<void> } {
  const samples: HealthSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      try {
        const h = await worker.health(timeoutMs);
        samples.push({ at, status: h.status, ms: h.ms, reason: (h.body as { reason?: string } | null)?.reason });
      } catch (err) {
        samples.push({ at, status: 0, ms: Date.now() - at, reason: (err as Error).name });
      }
      await sleep(Math.max(0, intervalMs - (Date.now() - at)));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Contiguous runs of the same status: [{status, from, to, count}] for the report. */
export function healthTimeline(
  samples: HealthSample[],
  origin: number,
): Array<{ status: number; fromS: number; toS: number; count: number; reason?: string }> {
  const out: Array<{ status: number; fromS: number; toS: number; count: number; reason?: string }> = [];
  for (const s of samples) {
    const last = out.at(-1);
    const t = Math.round((s.at - origin) / 100) / 10;
    if (last && last.status === s.status) {
      last.toS = t;
      last.count++;
    } else out.push({ status: s.status, fromS: t, toS: t, count: 1, reason: s.reason });
  }
  return out;
}
