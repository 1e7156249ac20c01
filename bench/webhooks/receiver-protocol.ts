// The messages between bench:webhooks and its receiver child (receiver.ts), over
// the IPC channel of `fork`. Types only, so both sides import it for nothing.
import type { Latency } from '../lib/completions.ts';

/**
 * The header a ceiling's worker adds: its job's enqueue time (wall clock, ms), for
 * enqueue → received latency. Tasklane's deliveries carry the event's time in
 * their body instead.
 */
export const ENQUEUED_AT_HEADER = 'bench-enqueued-at';

/** Parent → receiver. */
export type ToReceiver =
  /** Count the next `count` distinct webhook-ids posted to `path`; forget earlier rounds. */
  | { readonly type: 'expect'; readonly path: string; readonly count: number }
  /** The round's figures; with `secret`, every request's signature checked against it. */
  | { readonly type: 'report'; readonly secret?: string };

export interface ReceiverReport {
  /** Requests to the round's path, repeats included. */
  readonly requests: number;
  readonly distinct: number;
  /** Requests to any other path since the round was armed: should be 0. */
  readonly stray: number;
  /** TCP connections opened since the round was armed. */
  readonly connections: number;
  /** Enqueue (or event) → received, over every request of the round. */
  readonly latency: Latency;
  readonly signaturesChecked: number;
  readonly badSignatures: number;
}

/** Receiver → parent. */
export type FromReceiver =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'armed' }
  | {
      readonly type: 'done';
      /** Wall clock (ms) when the first and the last of the distinct ids arrived. */
      readonly firstAt: number;
      readonly lastAt: number;
      /** The receiver's CPU time from `expect` to the last id, µs. */
      readonly cpuMicros: number;
    }
  | ({ readonly type: 'report' } & ReceiverReport);
