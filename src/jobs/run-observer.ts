/**
 * What happens around each run of a job's handler (ADR 0021): its metrics, and
 * after a failure that will be retried, the jittered backoff (backoff.ts).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Job } from 'graphile-worker';
import type { Db } from '../db/database.ts';
import { backoffDelayMs, DEFAULT_BACKOFF, rescheduleFailedAttempt } from './backoff.ts';
import type { JobDefinition } from './catalogue.ts';
import type { JobMetrics } from './job-metrics.ts';

export interface RunObserverOptions {
  readonly db: Db;
  readonly log: FastifyBaseLogger;
  readonly metrics?: JobMetrics;
  /** The jitter's source of randomness; tests pass a fixed one. */
  readonly random?: () => number;
}

export interface RunObserver {
  /** Runs `body` (the handler) for `job`, observed; rethrows its error for graphile-worker. */
  observe(definition: JobDefinition, job: Job, body: () => Promise<void>): Promise<void>;
  /** Resolves once every backoff still being applied is done (before the worker lets go of the database). */
  settled(): Promise<void>;
}

export function createRunObserver(options: RunObserverOptions): RunObserver {
  const { db, log, metrics } = options;
  const pending = new Set<Promise<void>>();

  const backOff = (definition: JobDefinition, job: Job) => {
    // The last attempt's failure leaves the job failed for good: no retry to schedule.
    if (job.attempts >= job.max_attempts || job.locked_by === null) return;
    const delayMs = backoffDelayMs(
      definition.backoff ?? DEFAULT_BACKOFF,
      job.attempts,
      options.random,
    );
    const applied = rescheduleFailedAttempt(db, {
      jobId: job.id,
      attempt: job.attempts,
      poolId: job.locked_by,
      delayMs,
    }).then(
      (rescheduled) => {
        if (rescheduled)
          log.debug(
            { job: job.task_identifier, job_id: job.id, delay_ms: delayMs },
            'job retry scheduled',
          );
        else
          log.warn(
            { job: job.task_identifier, job_id: job.id },
            "job retry left at graphile-worker's delay",
          );
      },
      (error: unknown) =>
        log.error({ err: error, job_id: job.id }, 'could not schedule the job retry'),
    );
    pending.add(applied);
    void applied.finally(() => pending.delete(applied));
  };

  return {
    async observe(definition, job, body) {
      const name = definition.name;
      const runnableAt = Math.max(job.run_at.getTime(), job.created_at.getTime());
      metrics?.queueLatency.observe({ job: name }, Math.max(0, Date.now() - runnableAt) / 1000);
      const started = performance.now();
      try {
        await body();
      } catch (error) {
        metrics?.duration.observe(
          { job: name, outcome: 'failure' },
          (performance.now() - started) / 1000,
        );
        metrics?.failures.inc({ job: name });
        backOff(definition, job);
        throw error;
      }
      metrics?.duration.observe(
        { job: name, outcome: 'success' },
        (performance.now() - started) / 1000,
      );
      metrics?.completions.inc({ job: name });
    },
    async settled() {
      await Promise.all(pending);
    },
  };
}
