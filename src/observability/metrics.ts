import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry } from 'prom-client';
import { AppError } from '../http/problems.ts';
import { createJobMetrics, type JobMetrics } from '../jobs/job-metrics.ts';
import { createHttpMetrics, type HttpMetrics } from './http-metrics.ts';
import { METRICS_CHALLENGE, metricsAuthorization } from './metrics-auth.ts';
import { registerProcessMetrics } from './process-metrics.ts';

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
  /**
   * Commands of the rate limiter's Redis client that failed: decisions, but also
   * refunds and readiness PINGs, which no decision counter sees (ADR 0022).
   */
  readonly redisCommandErrors: Counter<'reason'>;
  /** Requests an overloaded node refused, by how important they were. */
  readonly loadShed: Counter<'priority'>;
  /** What the job worker observes, when one runs in this process (src/jobs/job-metrics.ts). */
  readonly jobs: JobMetrics;
  /** Latency, traffic and in-flight requests per route template (http-metrics.ts). */
  readonly http: HttpMetrics;
  /** Webhook delivery attempts by what came of them (succeeded, retry, failed). */
  readonly webhookAttempts: Counter<'outcome'>;
  /** How long webhook attempts took, connect to last byte read. */
  readonly webhookAttemptDuration: Histogram;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  registerProcessMetrics(registry);
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
    redisCommandErrors: new Counter({
      name: 'redis_command_errors_total',
      help: 'Redis commands that failed (rate limit decisions and refunds, readiness PINGs), by reason (timeout, unavailable, error)',
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
    http: createHttpMetrics(registry),
    webhookAttempts: new Counter({
      name: 'webhook_delivery_attempts_total',
      help: 'Webhook delivery attempts by outcome: succeeded, retry (scheduled again), failed (for good), gone (the delivery was deleted meanwhile)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookAttemptDuration: new Histogram({
      name: 'webhook_attempt_duration_seconds',
      help: 'Duration of webhook delivery attempts, connect to last byte read',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/**
 * GET /metrics on the API port: the Prometheus text exposition of this node's
 * registry, behind `Authorization: Bearer <METRICS_TOKEN>` when one is set.
 */
export function registerMetricsRoute(
  app: FastifyInstance,
  metrics: Metrics,
  options: { readonly token: string | undefined },
): void {
  const authorized = metricsAuthorization(options.token);
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!authorized(request.headers.authorization)) {
      throw new AppError('unauthenticated', 'GET /metrics needs the metrics bearer token', {
        headers: { 'www-authenticate': METRICS_CHALLENGE },
      });
    }
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}
