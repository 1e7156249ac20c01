/**
 * Recovery from killed workers (ADR 0021). graphile-worker 0.18 takes back a
 * job locked by a dead process only after 4 hours. Each worker pool keeps a
 * heartbeat row (job_worker_heartbeats) fresh; on every beat a live pool looks
 * for jobs locked for longer than the lock timeout by pools whose heartbeat is
 * stale or missing, hands them back with graphile-worker's public
 * `force_unlock_workers`, and deletes the stale rows. All times are the
 * database's `now()`, so the nodes' clocks never have to agree.
 */
import os from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** What one recovery pass handed back. */
export interface ReleasedJobs {
  /** Pools presumed dead whose jobs were unlocked. */
  readonly poolIds: readonly string[];
  /** Jobs unlocked: they run again (the interrupted run counted as an attempt). */
  readonly jobIds: readonly string[];
  /** Of those, jobs that were on their last attempt: now failed for good, with a reason. */
  readonly failedJobIds: readonly string[];
}

/**
 * A beat every quarter of the timeout (between 250 ms and 10 s): a pool must miss
 * several beats in a row before it is presumed dead.
 */
export function heartbeatIntervalMs(lockTimeoutSeconds: number): number {
  return Math.min(10_000, Math.max(250, (lockTimeoutSeconds * 1000) / 4));
}

/**
 * Writes this pool's heartbeat. Returns false when the row was missing and had
 * to be created again: another worker presumed this pool dead and may have
 * handed its running jobs to someone else.
 */
export async function beat(db: Db, poolId: string): Promise<boolean> {
  const updated = await db
    .updateTable('job_worker_heartbeats')
    .set({ last_seen_at: sql<Date>`now()` })
    .where('pool_id', '=', poolId)
    .executeTakeFirst();
  if (updated.numUpdatedRows > 0n) return true;
  await db
    .insertInto('job_worker_heartbeats')
    .values({ pool_id: poolId, hostname: os.hostname().slice(0, 255), pid: process.pid })
    .onConflict((conflict) => conflict.column('pool_id').doUpdateSet({ last_seen_at: sql`now()` }))
    .execute();
  return false;
}

/** Deletes the pool's heartbeat: it stopped cleanly and holds no job. */
export async function removeHeartbeat(db: Db, poolId: string): Promise<void> {
  await db.deleteFrom('job_worker_heartbeats').where('pool_id', '=', poolId).execute();
}

/**
 * Hands back the jobs of dead pools. A job is taken back only when its lock is
 * older than the timeout AND its pool's heartbeat is older than the timeout or
 * absent: a long job of a live pool (fresh heartbeat) and a pool that has just
 * started and not yet beaten (young lock) keep theirs. Safe to run on every node
 * at once: every step is idempotent.
 */
export async function releaseJobsOfDeadWorkers(
  db: Db,
  lockTimeoutSeconds: number,
): Promise<ReleasedJobs> {
  return db.transaction().execute(async (trx) => {
    const cutoff = sql<Date>`now() - ${lockTimeoutSeconds} * interval '1 second'`;
    // Every job of a dead pool is orphaned, the ones it took just before dying too.
    const { rows: orphans } = await sql<{ id: string; locked_by: string; last_attempt: boolean }>`
      WITH dead AS (
        SELECT DISTINCT job.locked_by FROM graphile_worker.jobs job
        WHERE job.locked_at < ${cutoff}
          AND NOT EXISTS (
            SELECT 1 FROM job_worker_heartbeats heartbeat
            WHERE heartbeat.pool_id = job.locked_by AND heartbeat.last_seen_at >= ${cutoff}
          )
      )
      SELECT job.id::text, job.locked_by, job.attempts >= job.max_attempts AS last_attempt
      FROM graphile_worker.jobs job JOIN dead ON dead.locked_by = job.locked_by`.execute(trx);
    const poolIds = [...new Set(orphans.map((job) => job.locked_by))];
    let failedJobIds: string[] = [];
    if (poolIds.length > 0) {
      await sql`SELECT graphile_worker.force_unlock_workers(${poolIds}::text[])`.execute(trx);
      // A job interrupted on its last attempt cannot run again; without a reason
      // it would sit in the dead letters with the previous attempt's error, or none.
      const lastAttempts = orphans.filter((job) => job.last_attempt).map((job) => job.id);
      if (lastAttempts.length > 0) {
        const { rows } = await sql<{ id: string }>`
          SELECT id::text FROM graphile_worker.permanently_fail_jobs(
            ${lastAttempts}::bigint[],
            'the worker running the last attempt stopped responding'
          )`.execute(trx);
        failedJobIds = rows.map((row) => row.id);
      }
    }
    await trx.deleteFrom('job_worker_heartbeats').where('last_seen_at', '<', cutoff).execute();
    return { poolIds, jobIds: orphans.map((job) => job.id), failedJobIds };
  });
}

export interface HeartbeatOptions {
  readonly db: Db;
  readonly poolId: string;
  readonly lockTimeoutSeconds: number;
  readonly log: FastifyBaseLogger;
  /** Called after jobs were handed back, to look for work now rather than at the next poll. */
  readonly onReleased?: (released: ReleasedJobs) => void;
}

export interface Heartbeat {
  /** Stops beating and deletes the row (once, however often called). Call after the pool's jobs have finished. */
  stop(): Promise<void>;
}

/**
 * Registers the pool (the first beat is awaited, so the pool is known before
 * startWorker returns), then beats and recovers every heartbeatIntervalMs. A
 * failed beat is logged and retried at the next tick: the database may be away
 * for a moment.
 */
export async function startHeartbeat(options: HeartbeatOptions): Promise<Heartbeat> {
  const { db, poolId, lockTimeoutSeconds, log } = options;
  await beat(db, poolId);
  const tick = async () => {
    try {
      if (!(await beat(db, poolId))) {
        log.warn(
          { pool_id: poolId },
          'this job worker was presumed dead (its heartbeat went stale); its running jobs may have been handed to another worker',
        );
      }
      const released = await releaseJobsOfDeadWorkers(db, lockTimeoutSeconds);
      if (released.jobIds.length > 0) {
        log.warn(
          {
            dead_pools: released.poolIds,
            job_ids: released.jobIds,
            failed_job_ids: released.failedJobIds,
          },
          'released jobs locked by job workers that stopped responding',
        );
        options.onReleased?.(released);
      }
    } catch (error) {
      log.error({ err: error, pool_id: poolId }, 'job worker heartbeat failed');
    }
  };
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  // A chain of timeouts, not an interval: a slow tick never overlaps the next.
  const schedule = () => {
    timer = setTimeout(() => {
      running = tick().then(() => {
        if (!stopped) schedule();
      });
    }, heartbeatIntervalMs(lockTimeoutSeconds));
    // The worker keeps the process alive; the heartbeat alone should not.
    timer.unref();
  };
  schedule();
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
        await removeHeartbeat(db, poolId);
      })();
      return stopping;
    },
  };
}
