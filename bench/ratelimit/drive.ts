// The closed-loop driver of the decision benchmark: `concurrency` callers each
// making one decision after another for a fixed time, every decision timed with
// process.hrtime.bigint() into an HDR histogram (node:perf_hooks).
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { uuidv7 } from '../../src/lib/ids.ts';

/** One decision: true when admitted. May throw (a store error), which counts as an error. */
export type Decide = (key: string) => Promise<boolean>;
export type DecideSync = (key: string) => boolean;

export interface DriveResult {
  readonly decisions: number;
  readonly refused: number;
  readonly errors: number;
  readonly perSecond: number;
  /** Latency of one decision, microseconds. */
  readonly p50Us: number;
  readonly p99Us: number;
}

const SEQUENCE_LENGTH = 1 << 16;

/**
 * The callers requests come from: `count` keys shaped as the policy layer
 * builds them (`user:<uuidv7>`), drawn in a fixed pseudo-random order, so every
 * limiter sees the same keys in the same order. `count` 1 is the hot-key case.
 */
export class Callers {
  readonly keys: readonly string[];
  readonly #order: Uint32Array;
  #cursor = 0;

  constructor(count: number, seed = 0x5eed) {
    this.keys = Array.from({ length: count }, () => `user:${uuidv7()}`);
    this.#order = new Uint32Array(SEQUENCE_LENGTH);
    let state = seed >>> 0;
    for (let i = 0; i < SEQUENCE_LENGTH; i++) {
      // xorshift32: cheap, deterministic, good enough to spread requests
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      this.#order[i] = (state >>> 0) % count;
    }
  }

  next(): string {
    this.#cursor = (this.#cursor + 1) & (SEQUENCE_LENGTH - 1);
    return this.keys[this.#order[this.#cursor]!]!;
  }
}

/**
 * What one (limiter, mode) accumulates over the slices of one round: the
 * latency histogram, the counts and the time spent deciding.
 */
export class Tally {
  readonly histogram: RecordableHistogram = createHistogram();
  decisions = 0;
  refused = 0;
  errors = 0;
  elapsedNs = 0n;

  result(): DriveResult {
    const { histogram, decisions, refused, errors } = this;
    return {
      decisions,
      refused,
      errors,
      perSecond: decisions / (Number(this.elapsedNs) / 1e9),
      p50Us: histogram.count > 0 ? histogram.percentile(50) / 1000 : Number.NaN,
      p99Us: histogram.count > 0 ? histogram.percentile(99) / 1000 : Number.NaN,
    };
  }
}

/**
 * `concurrency` async callers, each awaiting its decision before making the
 * next, for `seconds`, into `tally`. Latency is from the call to the caller
 * resuming, so under concurrency it includes waiting for the event loop: what
 * a request handler would see.
 */
export async function drive(
  decide: Decide,
  callers: Callers,
  concurrency: number,
  seconds: number,
  tally: Tally,
): Promise<void> {
  const { histogram } = tally;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  const caller = async () => {
    for (;;) {
      const key = callers.next();
      const t0 = process.hrtime.bigint();
      try {
        if (!(await decide(key))) tally.refused++;
        const t1 = process.hrtime.bigint();
        histogram.record(t1 > t0 ? t1 - t0 : 1n);
        tally.decisions++;
        if (t1 >= deadline) return;
      } catch {
        tally.errors++;
        if (process.hrtime.bigint() >= deadline) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  tally.elapsedNs += process.hrtime.bigint() - start;
}

/** One caller of a synchronous decision, back to back, for `seconds` (blocks the event loop). */
export function driveSync(
  decide: DecideSync,
  callers: Callers,
  seconds: number,
  tally: Tally,
): void {
  const { histogram } = tally;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  for (;;) {
    const key = callers.next();
    const t0 = process.hrtime.bigint();
    try {
      if (!decide(key)) tally.refused++;
    } catch {
      tally.errors++;
      if (process.hrtime.bigint() >= deadline) break;
      continue;
    }
    const t1 = process.hrtime.bigint();
    histogram.record(t1 > t0 ? t1 - t0 : 1n);
    tally.decisions++;
    if (t1 >= deadline) break;
  }
  tally.elapsedNs += process.hrtime.bigint() - start;
}
