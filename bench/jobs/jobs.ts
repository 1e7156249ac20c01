// The jobs the queue benchmarks run, and the row they queue: the same for
// Tasklane and for the bare graphile-worker ceiling, so the only difference
// between the two is the code around the handler.
import path from 'node:path';
import { type Static, Type } from 'typebox';
import type { JobPriority } from '../../src/jobs/catalogue.ts';
import { JOB_PRIORITY } from '../../src/jobs/catalogue.ts';

/** graphile-worker's task identifier for both variants (each has a database of its own). */
export const BENCH_JOB_NAME = 'bench-job';

/**
 * What a real job carries, an id (ADR 0017: ids, never rows), plus the wall
 * clock at which the enqueuer began its transaction, for enqueue → start latency.
 */
export const BenchPayload = Type.Object(
  { id: Type.String(), at: Type.Number() },
  { additionalProperties: false },
);
export type BenchPayload = Static<typeof BenchPayload>;

/** An interactive job with a few attempts, like a notification. */
export const BENCH_JOB_PRIORITY: JobPriority = 'interactive';
export const BENCH_JOB_MAX_ATTEMPTS = 5;
/** The numbers the ceiling passes to add_job, so both queue identical rows. */
export const BENCH_JOB_ROW = {
  priority: JOB_PRIORITY[BENCH_JOB_PRIORITY],
  maxAttempts: BENCH_JOB_MAX_ATTEMPTS,
} as const;

/** What the worker child runs: nothing, or one primary-key read of a task. */
export const BENCH_WORKLOADS = ['noop', 'read-task'] as const;
export type BenchWorkload = (typeof BENCH_WORKLOADS)[number];

/** The worker child script of each variant, forked by bench/lib/worker-child.ts. */
export const WORKER_SCRIPTS = {
  bare: path.join(import.meta.dirname, 'bare-worker.ts'),
  tasklane: path.join(import.meta.dirname, 'tasklane-worker.ts'),
} as const;
