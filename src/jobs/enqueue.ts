import { sql } from 'kysely';
import type { Static, TSchema } from 'typebox';
import type { Db, Trx } from '../db/database.ts';
import { activeTraceparent } from '../observability/tracing.ts';
import { JOB_PRIORITY, type JobDefinition, payloadValidator } from './catalogue.ts';
import { withTraceparent } from './job-trace.ts';

export interface EnqueueOptions {
  /**
   * Deduplicates: a job with the same key still waiting is replaced by this one
   * (graphile-worker's `job_key`), so a burst of changes queues one job.
   */
  readonly jobKey?: string;
  /** Not before this time. */
  readonly runAt?: Date;
}

/**
 * Queues `job` in the caller's transaction (ADR 0017): it exists if and only if
 * the change that caused it commits — no dual write, no job lost to a crash
 * between the commit and a second write. The job continues the caller's trace
 * (job-trace.ts). Returns the job's id.
 */
export async function enqueueJob<P extends TSchema>(
  db: Db | Trx,
  job: JobDefinition<P>,
  payload: Static<P>,
  options: EnqueueOptions = {},
): Promise<string> {
  const validator = payloadValidator(job);
  if (!validator.Check(payload)) {
    const [first] = validator.Errors(payload);
    throw new RangeError(
      `job ${job.name}: invalid payload${first ? ` at ${first.instancePath || '/'}: ${first.message}` : ''}`,
    );
  }
  const { rows } = await sql<{ id: string }>`
    SELECT id::text FROM graphile_worker.add_job(
      identifier => ${job.name},
      payload => ${JSON.stringify(withTraceparent(payload, activeTraceparent()))}::json,
      max_attempts => ${job.maxAttempts},
      priority => ${JOB_PRIORITY[job.priority]},
      job_key => ${options.jobKey ?? null},
      run_at => ${options.runAt ?? null}
    )`.execute(db);
  return rows[0]!.id;
}
