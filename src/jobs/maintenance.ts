/**
 * Housekeeping on a schedule (graphile-worker cron, so one node runs each tick
 * however many are up): purging the trash and sweeping expired idempotency keys.
 * Both are bulk work, in batches that hold their locks briefly.
 */
import { Type } from 'typebox';
import { sweepIdempotencyKeys } from '../http/idempotency.repository.ts';
import { purgeDeletedComments } from '../modules/comments/comments.repository.ts';
import { purgeDeletedTasks } from '../modules/tasks/tasks.repository.ts';
import { defineJob, type JobContext } from './catalogue.ts';

/** Cron jobs carry graphile-worker's `_cron` (its tick) and nothing of ours. */
const CronPayload = Type.Object({}, { additionalProperties: true });

const PURGE_BATCH_SIZE = 500;
const SWEEP_BATCH_SIZE = 1_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Tasks and comments in the trash for longer than TRASH_RETENTION_DAYS are
 * deleted for good (a task takes its comments along), a batch at a time until
 * less than a batch is left or the worker is stopping.
 */
export const purgeTrash = defineJob({
  name: 'purge-trash',
  payload: CronPayload,
  priority: 'bulk',
  maxAttempts: 5,
  async run(_payload, context) {
    const olderThan = new Date(Date.now() - context.config.trashRetentionDays * DAY_MS);
    const tasks = await purgeInBatches(context, purgeDeletedTasks, olderThan);
    const comments = await purgeInBatches(context, purgeDeletedComments, olderThan);
    if (tasks + comments > 0) context.log.info({ tasks, comments }, 'trash purged');
  },
});

type PurgeBatch = typeof purgeDeletedTasks;

async function purgeInBatches(
  { db, signal }: JobContext,
  purgeBatch: PurgeBatch,
  olderThan: Date,
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await purgeBatch(db, olderThan, PURGE_BATCH_SIZE);
    total += deleted;
    if (deleted < PURGE_BATCH_SIZE || signal.aborted) return total;
  }
}

/** Expired idempotency keys behave as new anyway; the sweep gives their space back. */
export const sweepIdempotency = defineJob({
  name: 'sweep-idempotency-keys',
  payload: CronPayload,
  priority: 'bulk',
  maxAttempts: 3,
  async run(_payload, { db, log }) {
    const deleted = await sweepIdempotencyKeys(db, new Date(), SWEEP_BATCH_SIZE);
    if (deleted > 0) log.info({ deleted }, 'expired idempotency keys swept');
  },
});

/**
 * graphile-worker's crontab: minute hour day month weekday, then the task and
 * its options. `jobKey` keeps one of each waiting, however long a backlog.
 */
export const MAINTENANCE_CRONTAB = [
  `17 * * * * ${purgeTrash.name} ?priority=10&jobKey=${purgeTrash.name}`,
  `*/10 * * * * ${sweepIdempotency.name} ?priority=10&jobKey=${sweepIdempotency.name}`,
].join('\n');
