/**
 * The dead letters (ADR 0021): jobs that failed on every attempt stay in
 * graphile_worker.jobs, never to run again, until an operator looks at them
 * (`tasklane jobs failed`) and runs them again (`tasklane jobs retry`).
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** A job that failed for good. */
export interface FailedJob {
  /** graphile-worker's job id (a bigint, as text). */
  readonly id: string;
  /** The job's name in the catalogue (graphile-worker's task identifier). */
  readonly job: string;
  readonly attempts: number;
  readonly maxAttempts: number;
  /** The last attempt's error message, whole; null if none was recorded. */
  readonly lastError: string | null;
  readonly failedAt: Date;
  readonly createdAt: Date;
  readonly jobKey: string | null;
  /** The payload: ids, by the catalogue's rule. */
  readonly payload: unknown;
}

/** Failed for good: no attempt left, and no worker holding it. */
const FAILED = sql`job.attempts >= job.max_attempts AND job.locked_at IS NULL`;

/**
 * The failed jobs, most recent failure first. The payload comes from
 * graphile-worker's `_private_jobs` table, read only and by id: its public
 * `jobs` view leaves the payload out.
 */
export async function listFailedJobs(db: Db, limit = 100): Promise<FailedJob[]> {
  // graphile-worker's fail_job does not touch updated_at; it puts run_at
  // exp(min(attempts, 10)) seconds after the failure, so that is when it failed.
  // permanently_fail_jobs (used by the recovery) sets updated_at instead.
  const { rows } = await sql<{
    id: string;
    task_identifier: string;
    attempts: number;
    max_attempts: number;
    last_error: string | null;
    failed_at: Date;
    created_at: Date;
    key: string | null;
    payload: unknown;
  }>`
    SELECT job.id::text, job.task_identifier, job.attempts, job.max_attempts, job.last_error,
      greatest(job.updated_at, job.run_at - exp(least(job.attempts, 10)) * interval '1 second')
        AS failed_at,
      job.created_at, job.key, private.payload
    FROM graphile_worker.jobs job
    JOIN graphile_worker._private_jobs private ON private.id = job.id
    WHERE ${FAILED}
    ORDER BY failed_at DESC, job.id DESC
    LIMIT ${limit}`.execute(db);
  return rows.map((row) => ({
    id: row.id,
    job: row.task_identifier,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    lastError: row.last_error,
    failedAt: row.failed_at,
    createdAt: row.created_at,
    jobKey: row.key,
    payload: row.payload,
  }));
}

export interface RetryResult {
  /** Jobs queued to run now, their attempts reset to 0. */
  readonly retried: readonly string[];
  /** Ids asked for that are not failed jobs (unknown, done, or still retrying). */
  readonly notFailed: readonly string[];
}

/**
 * Runs failed jobs again: run_at now, attempts back to 0, through
 * graphile-worker's public `reschedule_jobs` (which leaves a locked job alone).
 * `'all'` retries every failed job. Workers pick them up at their next poll.
 */
export async function retryFailedJobs(
  db: Db,
  ids: readonly string[] | 'all',
): Promise<RetryResult> {
  const which = ids === 'all' ? sql`TRUE` : sql`job.id = ANY(${ids}::bigint[])`;
  const { rows } = await sql<{ id: string }>`
    SELECT id::text FROM graphile_worker.reschedule_jobs(
      ARRAY(SELECT job.id FROM graphile_worker.jobs job WHERE ${FAILED} AND ${which}),
      run_at => now(),
      attempts => 0
    )`.execute(db);
  const retried = rows.map((row) => row.id).sort(byNumber);
  const done = new Set(retried);
  const notFailed = ids === 'all' ? [] : [...new Set(ids)].filter((id) => !done.has(id));
  return { retried, notFailed };
}

const byNumber = (a: string, b: string) =>
  BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
