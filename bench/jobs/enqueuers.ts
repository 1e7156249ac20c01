// The two ways the benchmark queues a job, one job per transaction as a request
// that changes something would: Tasklane's enqueueJob inside db.transaction(),
// and, for the ceiling, graphile_worker.add_job() sent bare over pg. Both queue
// the same row (name, payload, priority, max attempts); both run from
// `enqueuers` concurrent loops over a pool of the same size.
import type pg from 'pg';
import type { Db } from '../../src/db/database.ts';
import { defineJob, type JobDefinition } from '../../src/jobs/catalogue.ts';
import { enqueueJob } from '../../src/jobs/enqueue.ts';
import { uuidv7 } from '../../src/lib/ids.ts';
import { wallClock } from '../lib/completions.ts';
import {
  BENCH_JOB_MAX_ATTEMPTS,
  BENCH_JOB_NAME,
  BENCH_JOB_PRIORITY,
  BENCH_JOB_ROW,
  BenchPayload,
} from './jobs.ts';

/**
 * The bench job as an enqueuer declares it (its `run` is the worker child's
 * business: bench/jobs/tasklane-worker.ts declares the same job with a handler).
 */
export const BENCH_JOB = defineJob({
  name: BENCH_JOB_NAME,
  payload: BenchPayload,
  priority: BENCH_JOB_PRIORITY,
  maxAttempts: BENCH_JOB_MAX_ATTEMPTS,
  run: async () => {},
});

/** Queues one job in a transaction of its own; resolves after COMMIT. */
export type Enqueue = (payload: BenchPayload) => Promise<void>;

export function tasklaneEnqueue(db: Db, job: JobDefinition<typeof BenchPayload>): Enqueue {
  return async (payload) => {
    await db.transaction().execute((trx) => enqueueJob(trx, job, payload));
  };
}

/** The ceiling: BEGIN, add_job as a named prepared statement (the cheapest form), COMMIT. */
export function bareEnqueue(pool: pg.Pool): Enqueue {
  const text = `SELECT id FROM graphile_worker.add_job($1, $2::json, max_attempts => $3, priority => $4)`;
  return async (payload) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query({
        name: 'bench-add-job',
        text,
        values: [
          BENCH_JOB_NAME,
          JSON.stringify(payload),
          BENCH_JOB_ROW.maxAttempts,
          BENCH_JOB_ROW.priority,
        ],
      });
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };
}

export interface EnqueueRun {
  /** Wall clock (ms) when the first transaction began and the last one committed. */
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface EnqueueLoad {
  readonly count: number;
  /** Concurrent loops, each awaiting its transaction before the next. */
  readonly enqueuers: number;
  /** Ids the payloads pick from in turn (the task ids of the read-task workload). */
  readonly ids?: readonly string[];
  /** Jobs per second to pace at; unpaced (as fast as it goes) when undefined. */
  readonly rate?: number;
  /** Hold back while more than this many queued jobs are not done yet. */
  readonly backlog?: { readonly limit: number; readonly done: () => number };
  /** Checked before each job: true ends the loops early (Ctrl-C). */
  readonly stop?: () => boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Queues `count` jobs. Each payload's `at` is the wall clock just before its
 * transaction begins, so enqueue → start latency includes the enqueue itself.
 */
export async function enqueueMany(enqueue: Enqueue, load: EnqueueLoad): Promise<EnqueueRun> {
  let next = 0;
  const startedAt = wallClock();
  const loop = async () => {
    for (let i = next++; i < load.count && !load.stop?.(); i = next++) {
      if (load.rate !== undefined) {
        const due = startedAt + (i * 1000) / load.rate;
        const wait = due - wallClock();
        if (wait > 0) await sleep(wait);
      }
      while (load.backlog && i - load.backlog.done() > load.backlog.limit && !load.stop?.()) {
        await sleep(20);
      }
      const id = load.ids ? load.ids[i % load.ids.length]! : uuidv7();
      await enqueue({ id, at: wallClock() });
    }
  };
  await Promise.all(Array.from({ length: load.enqueuers }, loop));
  return { startedAt, endedAt: wallClock() };
}

export interface EnqueuePhase {
  /** When the round's clock starts: the first BEGIN, or (drain) the thaw. */
  readonly startedAt: number;
  readonly enqueued: EnqueueRun;
  /** This process's CPU over the phase: it does nothing but enqueue meanwhile. */
  readonly cpu: NodeJS.CpuUsage;
}

/**
 * The enqueue half of a round, as every queue bench runs it: `drain` queues with
 * the worker frozen and starts the clock at the thaw; the other modes queue with
 * the worker running (`rate` paces them) and start it at the first BEGIN.
 */
export async function enqueuePhase(
  enqueue: Enqueue,
  worker: { freeze(): void; thaw(): void },
  load: EnqueueLoad & { drain: boolean },
): Promise<EnqueuePhase> {
  const cpuBefore = process.cpuUsage();
  if (load.drain) {
    worker.freeze();
    let enqueued: EnqueueRun;
    try {
      enqueued = await enqueueMany(enqueue, { ...load, rate: undefined });
    } catch (error) {
      worker.thaw();
      throw error;
    }
    const startedAt = wallClock(); // before thaw(): its first job may end within the call
    worker.thaw();
    return { startedAt, enqueued, cpu: process.cpuUsage(cpuBefore) };
  }
  const enqueued = await enqueueMany(enqueue, load);
  return { startedAt: enqueued.startedAt, enqueued, cpu: process.cpuUsage(cpuBefore) };
}
