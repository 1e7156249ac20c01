// The worker child's side of the queue benchmarks: its job handlers call
// `tally.started()` / `tally.finished()`, and the tally tells the parent (over
// the IPC channel of `child_process.fork`) when a round's jobs are all done, how
// long they waited, and, every few seconds if asked, the process's memory.
// The parent side is bench/lib/worker-child.ts.
import { createHistogram } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const wallClock = () => performance.timeOrigin + performance.now();

/** Parent → child. */
export type ToChild = { readonly type: 'expect'; readonly count: number };

/** Latency percentiles of one round, milliseconds. */
export interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly count: number;
}

export interface MemorySample {
  /** Wall clock, ms. */
  readonly at: number;
  /** Jobs finished since the child started. */
  readonly done: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  /** Of heapUsed: the young generation (garbage not yet scavenged) and the old one. */
  readonly newSpaceUsed: number;
  readonly oldSpaceUsed: number;
}

/** Child → parent. */
export type FromChild =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'armed' }
  | {
      readonly type: 'done';
      /** Wall clock of the round's first handler start and last handler end, ms. */
      readonly firstStartAt: number;
      readonly lastEndAt: number;
      /** Enqueue (the payload's `at`) → handler start. */
      readonly latency: Latency;
      /** CPU time of this process (user + system) from `expect` to the last job, µs. */
      readonly cpuMicros: number;
    }
  | { readonly type: 'progress'; readonly done: number }
  | ({ readonly type: 'sample' } & MemorySample);

const send = (message: FromChild) => process.send?.(message);

export interface TallyOptions {
  /** Send `progress` this often, ms (0: never). */
  readonly progressMs: number;
  /** Send a memory `sample` this often, ms (0: never). */
  readonly sampleMs: number;
}

/**
 * Counts finished jobs against the count the parent expects. A handler costs
 * two clock reads and a histogram record: the same in every variant measured.
 */
export class Tally {
  #expected = 0;
  #roundDone = 0;
  #done = 0;
  #firstStartAt = Number.NaN;
  #lastEndAt = Number.NaN;
  readonly #latency = createHistogram();
  #cpuAtExpect = process.cpuUsage();
  readonly #sampleMs: number;

  constructor(options: TallyOptions) {
    this.#sampleMs = options.sampleMs;
    process.on('message', (message: ToChild) => {
      if (message.type !== 'expect') return;
      this.#expected = message.count;
      this.#roundDone = 0;
      this.#firstStartAt = Number.NaN;
      this.#latency.reset();
      this.#cpuAtExpect = process.cpuUsage();
      send({ type: 'armed' });
    });
    // The channel is the parent: when it goes, so do we (no orphaned workers).
    process.on('disconnect', () => process.exit(1));
    if (options.progressMs > 0) {
      setInterval(() => send({ type: 'progress', done: this.#done }), options.progressMs).unref();
    }
    if (options.sampleMs > 0) {
      const sample = () => send({ type: 'sample', ...this.sample() });
      setInterval(sample, options.sampleMs).unref();
    }
  }

  sample(): MemorySample {
    const used = (name: string) =>
      getHeapSpaceStatistics().find((space) => space.space_name === name)?.space_used_size ?? 0;
    return {
      at: wallClock(),
      done: this.#done,
      ...process.memoryUsage(),
      newSpaceUsed: used('new_space'),
      oldSpaceUsed: used('old_space'),
    };
  }

  /** A handler began the job queued at `enqueuedAt` (wall clock, ms). */
  started(enqueuedAt: number): void {
    const now = wallClock();
    if (Number.isNaN(this.#firstStartAt)) this.#firstStartAt = now;
    // The histogram takes whole numbers ≥ 1: microseconds.
    this.#latency.record(Math.max(1, Math.round((now - enqueuedAt) * 1000)));
  }

  /** The handler is done; the last of the round tells the parent. */
  finished(): void {
    this.#done++;
    if (++this.#roundDone !== this.#expected) return;
    this.#lastEndAt = wallClock();
    const cpu = process.cpuUsage(this.#cpuAtExpect);
    const ms = (micros: number) => micros / 1000;
    send({
      type: 'done',
      firstStartAt: this.#firstStartAt,
      lastEndAt: this.#lastEndAt,
      latency: {
        p50: ms(this.#latency.percentile(50)),
        p99: ms(this.#latency.percentile(99)),
        max: ms(this.#latency.max),
        count: this.#latency.count,
      },
      cpuMicros: cpu.user + cpu.system,
    });
  }

  /** The worker is up: tells the parent, with a first memory sample (before any job) if asked. */
  ready(): void {
    send({ type: 'ready', pid: process.pid });
    if (this.#sampleMs > 0) send({ type: 'sample', ...this.sample() });
  }
}
