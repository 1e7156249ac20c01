/**
 * The job catalogue's vocabulary (issue 5): every background job is declared once
 * with the schema of its payload (ids, never whole rows), its priority and its
 * attempts. Enqueueing and running both check the payload against the schema.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { NotificationProviders } from '../notifications/providers.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { WebhookSender } from '../webhooks/http-client.ts';
import type { Backoff } from './backoff.ts';

/**
 * graphile-worker runs lower numbers first: a notification for a user who is
 * waiting goes before a purge or an export, whatever order they were queued in.
 * Machine-to-machine work (webhook deliveries) sits between the two: it must not
 * wait for a purge, nor keep a waiting user's notification behind a burst.
 */
export const JOB_PRIORITY = { interactive: 0, standard: 5, bulk: 10 } as const;
export type JobPriority = keyof typeof JOB_PRIORITY;

/** What a running job may use: the database, a logger scoped to the job, the config. */
export interface JobContext {
  readonly db: Db;
  readonly log: FastifyBaseLogger;
  readonly config: Config;
  /** Aborted when the worker is asked to stop: long jobs stop between batches. */
  readonly signal: AbortSignal;
  /** This run's attempt, from 1; equal to maxAttempts on the last one. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /**
   * Email, push and SMS senders, built once per worker (startWorker), not per
   * job: an SMTP transport holds connections and TLS state worth reusing.
   */
  readonly notificationProviders: NotificationProviders;
  /** Outbound webhook requests, one agent per worker: it keeps connections to receivers alive. */
  readonly webhookSender: WebhookSender;
  /** The process's metrics when it has a registry (runtime.ts); absent in some tests. */
  readonly metrics: Metrics | undefined;
}

export interface JobDefinition<P extends TSchema = TSchema> {
  /** graphile-worker's task identifier, e.g. `purge-deleted-rows`. */
  readonly name: string;
  readonly payload: P;
  readonly priority: JobPriority;
  /** Attempts before the job is left failed, for an operator to look at. */
  readonly maxAttempts: number;
  /**
   * Delay before each retry: exponential from `baseMs`, capped at `maxMs`, with
   * full jitter (backoff.ts; DEFAULT_BACKOFF when absent).
   */
  readonly backoff?: Backoff;
  readonly run: (payload: Static<P>, context: JobContext) => Promise<void>;
}

/** Declares a job; the identity function that keeps the payload's type tied to `run`. */
export function defineJob<P extends TSchema>(definition: JobDefinition<P>): JobDefinition<P> {
  return definition;
}

const validators = new WeakMap<TSchema, Validator>();

/**
 * The job's payload validator, compiled once per schema: checking each payload
 * by interpreting the schema (Value.Check) was the largest per-job cost in the
 * queue benchmark (bench/README.md "Job queue"), on enqueue and on run.
 */
export function payloadValidator(job: Pick<JobDefinition, 'payload'>): Validator {
  let validator = validators.get(job.payload);
  if (!validator) {
    validator = Compile(job.payload);
    validators.set(job.payload, validator);
  }
  return validator;
}
