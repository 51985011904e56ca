import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { RejectionCounter } from '../activities';

/** Process metrics plus per-activity counts and durations, on one registry per worker process. */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly activityTotal = new Counter({
    name: 'pow_activity_executions_total',
    help: 'Activity executions by type and result',
    labelNames: ['activity', 'result'] as const,
    registers: [this.registry],
  });
  readonly activityDuration = new Histogram({
    name: 'pow_activity_duration_seconds',
    help: 'Activity execution time',
    labelNames: ['activity'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'pow_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  /** Refused variant candidates; `code` is one of REJECTION_CODES, so the label set stays small. */
  readonly variantRejections = new Counter({
    name: 'pow_variant_rejections_total',
    help: 'Generated variant candidates refused by the validator, by reason code and strategy',
    labelNames: ['code', 'strategy'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pow_' });
  }

  /** The activities' RejectionCounter port. */
  readonly rejectionCounter: RejectionCounter = {
    count: ({ code, strategy }) => this.variantRejections.inc({ code, strategy }),
  };

  /** Worker interceptor factory that times every activity. */
  activityInterceptor = (): { inbound: ActivityInboundCallsInterceptor } => {
    const { activityDuration, activityTotal } = this;
    return {
      inbound: {
        async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
          const activity = Context.current().info.activityType;
          const end = activityDuration.startTimer({ activity });
          try {
            const out = await next(input);
            activityTotal.inc({ activity, result: 'ok' });
            return out;
          } catch (err) {
            activityTotal.inc({ activity, result: 'error' });
            throw err;
          } finally {
            end();
          }
        },
      },
    };
  };
}
