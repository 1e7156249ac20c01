/**
 * The job queue's metrics (ADR 0021), in the app's registry: what the worker
 * observes as it runs jobs (duration, latency, outcomes), and the queue's depth,
 * read from graphile_worker.jobs at scrape time. Label values are job names
 * from the catalogue, anything else `other`, so the series stay bounded.
 */
import type { FastifyBaseLogger } from 'fastify';
import { sql } from 'kysely';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Db } from '../db/database.ts';

export interface JobMetrics {
  /** How long a run of the handler took, by job and outcome (success, failure). */
  readonly duration: Histogram<'job' | 'outcome'>;
  /** From when a job became runnable (max(run_at, created_at)) to when a worker started it. */
  readonly queueLatency: Histogram<'job'>;
  /** Failed runs: every failed attempt, retried or not. */
  readonly failures: Counter<'job'>;
  readonly completions: Counter<'job'>;
}

export function createJobMetrics(registry: Registry): JobMetrics {
  return {
    duration: new Histogram({
      name: 'job_duration_seconds',
      help: 'How long one run of a job took, by job and outcome (success, failure)',
      labelNames: ['job', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    queueLatency: new Histogram({
      name: 'job_queue_latency_seconds',
      help: 'From when a job became runnable (max of run_at and created_at) to when a worker started it, by job',
      labelNames: ['job'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'job_failures_total',
      help: 'Failed runs of a job (every failed attempt, retried or not), by job',
      labelNames: ['job'],
      registers: [registry],
    }),
    completions: new Counter({
      name: 'job_completions_total',
      help: 'Runs of a job that succeeded, by job',
      labelNames: ['job'],
      registers: [registry],
    }),
  };
}

export const QUEUE_STATES = ['ready', 'scheduled', 'running', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** The label for a task identifier: its name if the catalogue has it, `other` if not. */
export function jobLabel(name: string, known: ReadonlySet<string>): string {
  return known.has(name) ? name : 'other';
}

/**
 * Jobs in the queue by task identifier and state, fleet-wide: `running` is
 * locked by a worker, `failed` has no attempt left, `scheduled` waits for its
 * run_at, `ready` could start now.
 */
export async function countQueuedJobs(
  db: Db,
): Promise<{ job: string; state: QueueState; count: number }[]> {
  const { rows } = await sql<{ job: string; state: QueueState; count: number }>`
    SELECT task_identifier AS job, state, count(*)::int AS count
    FROM (
      SELECT task_identifier, CASE
        WHEN locked_at IS NOT NULL THEN 'running'
        WHEN attempts >= max_attempts THEN 'failed'
        WHEN run_at > now() THEN 'scheduled'
        ELSE 'ready'
      END AS state
      FROM graphile_worker.jobs
    ) job
    GROUP BY task_identifier, state`.execute(db);
  return rows;
}

const QUEUE_DEPTH = 'jobs_queue_depth';

/**
 * Registers `jobs_queue_depth{job, state}`, counted from the database at each
 * scrape (every catalogue job and state appears, 0 included). Returns the
 * function that unregisters it. A failed count is logged and leaves the gauge
 * empty for that scrape rather than failing all of /metrics.
 */
export function registerQueueDepth(
  registry: Registry,
  db: Db,
  jobNames: readonly string[],
  log: FastifyBaseLogger,
): () => void {
  const known = new Set(jobNames);
  new Gauge({
    name: QUEUE_DEPTH,
    help: 'Jobs in the queue (all nodes) by job and state (ready, scheduled, running, failed)',
    labelNames: ['job', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      let counts: Awaited<ReturnType<typeof countQueuedJobs>>;
      try {
        counts = await countQueuedJobs(db);
      } catch (error) {
        log.warn({ err: error }, 'could not count the job queue for /metrics');
        return;
      }
      for (const job of [...known, 'other']) {
        for (const state of QUEUE_STATES) this.set({ job, state }, 0);
      }
      for (const { job, state, count } of counts)
        this.inc({ job: jobLabel(job, known), state }, count);
    },
  });
  return () => registry.removeSingleMetric(QUEUE_DEPTH);
}
