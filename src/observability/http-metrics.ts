/**
 * The golden signals of the HTTP API (issue 6): latency, traffic and errors per
 * route *template* — `/v1/tasks/:task_id`, never the raw URL, so label values are
 * bounded by the routes the app declares, whatever URLs clients send (unknown
 * ones are all `unmatched`) — and saturation as the requests in flight.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ErrorRanking } from './error-ranking.ts';

/** 1 ms to 10 s, dense enough that p50, p95 and p99 are read between neighbours. */
export const DURATION_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10,
];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const LABELS = ['method', 'route', 'status_class'] as const;

export interface HttpMetrics {
  readonly duration: Histogram<(typeof LABELS)[number]>;
  readonly requests: Counter<(typeof LABELS)[number]>;
  /** Where the in-flight gauge reads from; the app points it at its load shedder. */
  inFlight: () => number;
}

/** The series, once per registry (metrics.ts); apps built on it record into them. */
export function createHttpMetrics(registry: Registry): HttpMetrics {
  const metrics: HttpMetrics = {
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from the request’s arrival to its response’s end, by method, route template and status class',
      labelNames: LABELS,
      buckets: DURATION_BUCKETS_SECONDS,
      registers: [registry],
    }),
    requests: new Counter({
      name: 'http_requests_total',
      help: 'Responses by method, route template and status class (2xx, 3xx, 4xx, 5xx)',
      labelNames: LABELS,
      registers: [registry],
    }),
    inFlight: () => 0,
  };
  new Gauge({
    name: 'http_requests_in_flight',
    help: 'Requests admitted on this node whose response has not finished',
    registers: [registry],
    collect() {
      this.set(metrics.inFlight());
    },
  });
  return metrics;
}

/**
 * Counts and times every response by its route template, and hands it to this
 * node's error ranking (error-ranking.ts) under the same method and route.
 */
export function registerHttpMetrics(
  app: FastifyInstance,
  metrics: HttpMetrics,
  errorRanking?: ErrorRanking,
): void {
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: METHODS.has(request.method) ? request.method : 'OTHER',
      route: request.routeOptions.url ?? 'unmatched',
      status_class: `${Math.floor(reply.statusCode / 100)}xx`,
    };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    errorRanking?.record(labels.method, labels.route, reply.statusCode);
  });
}
