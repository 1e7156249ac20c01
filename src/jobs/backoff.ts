/**
 * Retries with jitter (ADR 0021). graphile-worker reschedules a failed job
 * exp(min(attempts, 10)) seconds later, the same for every job: a burst of
 * failures (a dependency down for a minute) retries in lockstep and hits it
 * again all at once. We move each failed job's run_at to a delay drawn from the
 * job's own exponential schedule with full jitter, through graphile-worker's
 * public `reschedule_jobs`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** Exponential backoff: the cap doubles from `baseMs` after each failed attempt, up to `maxMs`. */
export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Up to 5 s after the first failure, 10 s, 20 s … at most an hour. */
export const DEFAULT_BACKOFF: Backoff = { baseMs: 5_000, maxMs: 3_600_000 };

/**
 * The delay before the retry that follows failed attempt number `attempt`
 * (from 1): uniform in [0, min(maxMs, baseMs · 2^(attempt − 1))] ("full
 * jitter"), so retries of jobs that failed together spread over the whole
 * window instead of landing together.
 */
export function backoffDelayMs(
  backoff: Backoff,
  attempt: number,
  random: () => number = Math.random,
): number {
  // 2^30 times any base is past any sensible cap; this keeps the power finite.
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30);
  const cap = Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
  return Math.floor(random() * cap);
}

/** The failed attempt to reschedule: graphile-worker's job id and the attempt that failed. */
export interface FailedAttempt {
  readonly jobId: string;
  readonly attempt: number;
  /** The pool that ran it: while it still holds the lock, its failure is not written yet. */
  readonly poolId: string;
  readonly delayMs: number;
}

/** How long to wait for graphile-worker to write the failure; it writes within milliseconds. */
const LANDING_DEADLINE_MS = 2_000;

/**
 * Moves the job's next run to `delayMs` from now, once graphile-worker has
 * written the failure. Race-free by construction: graphile-worker releases the
 * job (fail_job, not awaited by its worker) after the handler throws, so we
 * wait for that, and `reschedule_jobs` only touches an unlocked job. We only
 * pick the job while it is still at this attempt, unlocked and not failed for
 * good; fail_job has just put its run_at at least e¹ s ahead, so no worker can
 * claim it before we move it (and if one did, its lock would make
 * reschedule_jobs skip it). Resolves true when the job was rescheduled, false
 * when it moved on (ran again, finished, was deleted) or the failure did not land
 * in time — then graphile-worker's own delay stands.
 */
export async function rescheduleFailedAttempt(db: Db, failed: FailedAttempt): Promise<boolean> {
  const deadline = Date.now() + LANDING_DEADLINE_MS;
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    const { rows } = await sql<{ rescheduled: number; pending: number }>`
      WITH job AS (
        SELECT id, locked_by FROM graphile_worker.jobs
        WHERE id = ${failed.jobId}::bigint AND attempts = ${failed.attempt}
          AND attempts < max_attempts
      ), moved AS (
        SELECT id FROM graphile_worker.reschedule_jobs(
          ARRAY(SELECT id FROM job WHERE locked_by IS NULL),
          run_at => now() + ${failed.delayMs} * interval '1 millisecond'
        )
      )
      SELECT (SELECT count(*) FROM moved)::int AS rescheduled,
        (SELECT count(*) FROM job WHERE locked_by = ${failed.poolId})::int AS pending`.execute(db);
    const { rescheduled = 0, pending = 0 } = rows[0] ?? {};
    if (rescheduled > 0) return true;
    if (pending === 0 || Date.now() + wait > deadline) return false;
    await sleep(wait);
  }
}
