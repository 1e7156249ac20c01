/**
 * Queueing webhook deliveries (ADR 0018). An event's deliveries are queued with
 * the event itself: a delivery row per subscribed endpoint — its id, the
 * `webhook-id`, fixed from here on — and a delivery job per row, in the statement
 * that inserts the event. A team without endpoints pays nothing but an index
 * probe. Retries, deferrals and manual retries queue the same job again.
 */
import { type RawBuilder, sql } from 'kysely';
import type { Trx } from '../db/database.ts';
import { JOB_PRIORITY } from '../jobs/catalogue.ts';
import { TRACEPARENT_KEY, withTraceparent } from '../jobs/job-trace.ts';
import { activeTraceparent } from '../observability/tracing.ts';

/** The delivery job's identity, shared by the fan-out (SQL) and its definition. */
export const DELIVERY_JOB = {
  name: 'deliver-webhook',
  priority: 'standard',
  // Retries of a delivery are scheduled by the job itself (retry-policy.ts); these
  // attempts cover the job failing outright (the database away mid-delivery).
  maxAttempts: 10,
} as const;

/** One waiting job per delivery: queueing it again moves the waiting one (graphile-worker's job_key). */
export const deliveryJobKey = (deliveryId: string) => `webhook-delivery:${deliveryId}`;

export interface DeliveryJobPayload {
  readonly delivery_id: string;
  /** A person asked for this attempt: one try, no schedule, no disabling (retry-policy.ts). */
  readonly manual: boolean;
}

interface FannedOutEvent {
  readonly id: string;
  readonly teamId: string;
  readonly type: string;
}

/** The patterns an endpoint may subscribe with that match this event type. */
export function subscriptionsMatching(type: string): string[] {
  return [type, `${type.slice(0, type.indexOf('.'))}.*`, '*'];
}

/**
 * `deliveries AS (…)`: a CTE inserting one delivery per enabled endpoint of the
 * team subscribed to the event; `queueDeliveryJobs` then queues their jobs.
 */
export function insertDeliveries(event: FannedOutEvent): RawBuilder<unknown> {
  return sql`deliveries AS (
    INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type)
    SELECT tasklane_uuidv7(), endpoint.id, ${event.id}, ${event.type}
    FROM webhook_endpoints endpoint
    WHERE endpoint.team_id = ${event.teamId}
      AND endpoint.disabled_at IS NULL
      AND endpoint.event_types && ${subscriptionsMatching(event.type)}::text[]
    RETURNING id
  )`;
}

const queueDeliveryJobsSql = (
  payload: RawBuilder<unknown>,
) => sql`SELECT count(graphile_worker.add_job(
    identifier => ${DELIVERY_JOB.name},
    payload => ${payload},
    priority => ${JOB_PRIORITY[DELIVERY_JOB.priority]}::int,
    max_attempts => ${DELIVERY_JOB.maxAttempts}::int,
    job_key => ${deliveryJobKey('')}::text || deliveries.id::text
  ))::int AS queued FROM deliveries`;

// Built once: the statement every write with listening endpoints pays for.
const untracedDeliveryJobs = queueDeliveryJobsSql(
  sql`json_build_object('delivery_id', deliveries.id, 'manual', false)`,
);

/**
 * One delivery job per row of the `deliveries` CTE; evaluates to how many were
 * queued. With a `traceparent`, the jobs continue that trace (job-trace.ts).
 */
export function queueDeliveryJobs(traceparent: string | undefined): RawBuilder<unknown> {
  if (traceparent === undefined) return untracedDeliveryJobs;
  return queueDeliveryJobsSql(
    sql`json_build_object('delivery_id', deliveries.id, 'manual', false, ${TRACEPARENT_KEY}::text, ${traceparent}::text)`,
  );
}

/**
 * Queues the delivery's next attempt at `runAt` in the caller's transaction. A
 * job of the delivery already waiting is replaced, so a delivery never has two;
 * one running now keeps running and loses its key (graphile-worker's rule).
 */
export async function scheduleDelivery(
  trx: Trx,
  payload: DeliveryJobPayload,
  runAt: Date,
): Promise<void> {
  await sql`SELECT graphile_worker.add_job(
      identifier => ${DELIVERY_JOB.name},
      payload => ${JSON.stringify(withTraceparent(payload, activeTraceparent()))}::json,
      priority => ${JOB_PRIORITY[DELIVERY_JOB.priority]}::int,
      max_attempts => ${DELIVERY_JOB.maxAttempts}::int,
      job_key => ${deliveryJobKey(payload.delivery_id)},
      run_at => ${runAt}
    )`.execute(trx);
}
