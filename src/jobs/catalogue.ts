/**
 * The job catalogue's vocabulary (issue 5): every background job is declared once
 * with the schema of its payload (ids, never whole rows), its priority and its
 * attempts. Enqueueing and running both check the payload against the schema.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Static, TSchema } from 'typebox';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';

/**
 * graphile-worker runs lower numbers first: a notification for a user who is
 * waiting goes before a purge or an export, whatever order they were queued in.
 */
export const JOB_PRIORITY = { interactive: 0, bulk: 10 } as const;
export type JobPriority = keyof typeof JOB_PRIORITY;

/** What a running job may use: the database, a logger scoped to the job, the config. */
export interface JobContext {
  readonly db: Db;
  readonly log: FastifyBaseLogger;
  readonly config: Config;
  /** Aborted when the worker is asked to stop: long jobs stop between batches. */
  readonly signal: AbortSignal;
}

export interface JobDefinition<P extends TSchema = TSchema> {
  /** graphile-worker's task identifier, e.g. `purge-deleted-rows`. */
  readonly name: string;
  readonly payload: P;
  readonly priority: JobPriority;
  /** Attempts before the job is left failed, for an operator to look at. */
  readonly maxAttempts: number;
  readonly run: (payload: Static<P>, context: JobContext) => Promise<void>;
}

/** Declares a job; the identity function that keeps the payload's type tied to `run`. */
export function defineJob<P extends TSchema>(definition: JobDefinition<P>): JobDefinition<P> {
  return definition;
}
