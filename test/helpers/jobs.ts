// Jobs for the job queue's tests: their names are not in the catalogue, and each
// test gives them the behaviour it needs.
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from 'typebox';
import type { Backoff } from '../../src/jobs/backoff.ts';
import { defineJob } from '../../src/jobs/catalogue.ts';

const HoldPayload = Type.Object(
  { id: Type.String(), hold_ms: Type.Optional(Type.Integer({ minimum: 0 })) },
  { additionalProperties: false },
);

/**
 * `test-hold`: holds its lock for `hold_ms` (until the worker stops when absent):
 * the job a worker process runs to be killed in. With `onRun`, it calls it and
 * returns at once instead: the worker that runs what the dead one left.
 */
export function holdJob(options: { maxAttempts?: number; onRun?: (id: string) => void } = {}) {
  const { onRun } = options;
  return defineJob({
    name: 'test-hold',
    payload: HoldPayload,
    priority: 'interactive',
    maxAttempts: options.maxAttempts ?? 5,
    async run(payload, { signal }) {
      if (onRun) {
        onRun(payload.id);
        return;
      }
      await sleep(payload.hold_ms ?? 2 ** 31 - 1, undefined, { signal }).catch(() => {});
    },
  });
}

const IdPayload = Type.Object({ id: Type.String() }, { additionalProperties: false });

/** `test-flaky`: throws `Error('<message>')` while `fails(id)` says so, else succeeds. */
export function flakyJob(options: {
  maxAttempts: number;
  backoff?: Backoff;
  fails: (id: string) => boolean;
  message?: string;
}) {
  return defineJob({
    name: 'test-flaky',
    payload: IdPayload,
    priority: 'interactive',
    maxAttempts: options.maxAttempts,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    async run(payload) {
      if (options.fails(payload.id)) {
        throw new Error(
          options.message ?? `the service refused ${payload.id}\n    at a stack line`,
        );
      }
    },
  });
}
