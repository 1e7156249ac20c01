import type { FastifyInstance } from 'fastify';
import { Counter, Registry } from 'prom-client';
import { createJobMetrics, type JobMetrics } from '../jobs/job-metrics.ts';

/**
 * The application's metrics. One registry per app rather than prom-client's
 * global one: tests build many apps in one process, and each counts on its own.
 * Served at GET /metrics in the Prometheus text format.
 */
export interface Metrics {
  readonly registry: Registry;
  /** Every rate limit decision, by endpoint class and what became of the request. */
  readonly rateLimitDecisions: Counter<'class' | 'outcome'>;
  /** Decisions the shared store could not make (Redis down, slow or refusing). */
  readonly rateLimitStoreErrors: Counter<'reason'>;
  /** Requests an overloaded node refused, by how important they were. */
  readonly loadShed: Counter<'priority'>;
  /** What the job worker observes, when one runs in this process (src/jobs/job-metrics.ts). */
  readonly jobs: JobMetrics;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  return {
    registry,
    rateLimitDecisions: new Counter({
      name: 'ratelimit_decisions_total',
      help: 'Rate limit decisions by class (read, write, search, auth, login; concurrency and node count refusals only) and outcome (allowed, limited, unavailable)',
      labelNames: ['class', 'outcome'],
      registers: [registry],
    }),
    rateLimitStoreErrors: new Counter({
      name: 'ratelimit_store_errors_total',
      help: 'Rate limit decisions the shared store could not make, by reason (timeout, unavailable, error)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    loadShed: new Counter({
      name: 'load_shed_total',
      help: 'Requests refused with 503 because the node was overloaded, by priority (low, normal, auth)',
      labelNames: ['priority'],
      registers: [registry],
    }),
    jobs: createJobMetrics(registry),
  };
}

/** GET /metrics: the Prometheus text exposition of this node's registry. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}
