import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.ts';
import { sweepIdempotencyKeys } from './idempotency.repository.ts';

/** Expired keys behave as new anyway (claimKey takes them over); the sweep only reclaims space. */
export const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
const SWEEP_BATCH_SIZE = 1_000;

/**
 * Deletes expired idempotency keys every `intervalMs` on this node. Every node runs
 * one; their batches skip each other's locked rows. A seam: the jobs issue moves
 * this to a graphile-worker cron task and main.ts stops calling it. Returns a stop
 * function; the timer is unref'd, so it never holds the process open.
 */
export function startIdempotencySweep(
  db: Db,
  log: FastifyBaseLogger,
  intervalMs = SWEEP_INTERVAL_MS,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepIdempotencyKeys(db, new Date(), SWEEP_BATCH_SIZE)
      .then((deleted) => {
        if (deleted > 0) log.info({ deleted }, 'expired idempotency keys swept');
      })
      .catch((error: unknown) => log.warn({ err: error }, 'idempotency key sweep failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
