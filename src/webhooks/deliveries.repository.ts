import { sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type {
  Event,
  WebhookAttempt,
  WebhookDelivery,
  WebhookDeliveryState,
  WebhookEndpoint,
} from '../db/types.ts';

/** What an attempt needs: the delivery, its endpoint and the event it carries. */
export interface DeliveryTarget {
  readonly delivery: WebhookDelivery;
  readonly endpoint: WebhookEndpoint;
  readonly event: Event;
}

export async function findDeliveryTarget(
  db: Db,
  deliveryId: string,
): Promise<DeliveryTarget | undefined> {
  const delivery = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('id', '=', deliveryId)
    .executeTakeFirst();
  if (!delivery) return undefined;
  const [endpoint, event] = await Promise.all([
    db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', delivery.endpoint_id)
      .executeTakeFirst(),
    db.selectFrom('events').selectAll().where('id', '=', delivery.event_id).executeTakeFirst(),
  ]);
  return endpoint && event ? { delivery, endpoint, event } : undefined;
}

/**
 * Records a successful attempt in one statement: the delivery succeeded (even
 * if something ended it meanwhile: it was delivered), its attempt row, and the
 * endpoint's health reset if a failure had been counted since the target was
 * read. No transaction, no endpoint row lock in the common case: a healthy
 * endpoint's deliveries do not queue behind each other.
 */
export async function recordSuccess(
  db: Db,
  attempt: Omit<WebhookAttempt, 'number' | 'error'> & { endpoint_id: string },
): Promise<number | undefined> {
  const { rows } = await sql<{ number: number }>`
    WITH delivery AS (
      UPDATE webhook_deliveries
      SET state = 'succeeded', attempts = attempts + 1, last_status = ${attempt.status},
        last_error = NULL, next_attempt_at = NULL, completed_at = now()
      WHERE id = ${attempt.delivery_id}
      RETURNING id, attempts
    ), healthy AS (
      UPDATE webhook_endpoints SET consecutive_failures = 0, circuit_open_until = NULL
      WHERE id = ${attempt.endpoint_id}
        AND (consecutive_failures > 0 OR circuit_open_until IS NOT NULL)
    )
    INSERT INTO webhook_attempts
      (delivery_id, number, started_at, duration_ms, status, response_snippet)
    SELECT id, attempts, ${attempt.started_at}, ${attempt.duration_ms}, ${attempt.status},
      ${attempt.response_snippet}
    FROM delivery
    RETURNING number`.execute(db);
  return rows[0]?.number;
}

export function lockDelivery(trx: Trx, deliveryId: string): Promise<WebhookDelivery | undefined> {
  return trx
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('id', '=', deliveryId)
    .forUpdate()
    .executeTakeFirst();
}

/**
 * Takes the half-open probe of an endpoint whose circuit cooldown is over:
 * moves `circuit_open_until` to `until`, so every other delivery keeps waiting
 * while this one tries. True for the one caller that got it.
 */
export async function claimCircuitProbe(db: Db, endpointId: string, until: Date): Promise<boolean> {
  const claimed = await db
    .updateTable('webhook_endpoints')
    .set({ circuit_open_until: until })
    .where('id', '=', endpointId)
    .where('circuit_open_until', '<=', sql<Date>`now()`)
    .returning('id')
    .executeTakeFirst();
  return claimed !== undefined;
}

export async function setNextAttempt(trx: Trx, deliveryId: string, at: Date): Promise<void> {
  await trx
    .updateTable('webhook_deliveries')
    .set({ next_attempt_at: at })
    .where('id', '=', deliveryId)
    .execute();
}

/** Ends every waiting delivery of an endpoint that stopped receiving; retryable by hand later. */
export async function failPendingDeliveries(
  trx: Trx,
  endpointId: string,
  reason: string,
): Promise<void> {
  await trx
    .updateTable('webhook_deliveries')
    .set({ state: 'failed', last_error: reason, next_attempt_at: null, completed_at: new Date() })
    .where('endpoint_id', '=', endpointId)
    .where('state', '=', 'pending')
    .execute();
}

export async function insertAttempt(trx: Trx, attempt: WebhookAttempt): Promise<void> {
  await trx.insertInto('webhook_attempts').values(attempt).execute();
}

export async function updateDelivery(
  trx: Trx,
  deliveryId: string,
  changes: {
    state: WebhookDeliveryState;
    attempts?: number;
    last_status?: number | null;
    last_error?: string | null;
    next_attempt_at: Date | null;
    completed_at: Date | null;
  },
): Promise<WebhookDelivery> {
  return trx
    .updateTable('webhook_deliveries')
    .set(changes)
    .where('id', '=', deliveryId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Delivery bookkeeping on the endpoint: no version bump, the ETag is about what people set. */
export async function updateEndpointHealth(
  trx: Trx,
  endpointId: string,
  health: {
    consecutive_failures: number;
    circuit_open_until: Date | null;
    disabled_at?: Date;
    disabled_reason?: 'gone' | 'retries_exhausted';
  },
): Promise<void> {
  await trx.updateTable('webhook_endpoints').set(health).where('id', '=', endpointId).execute();
}

/** A page of an endpoint's deliveries, newest first (keyset on the UUIDv7 id). */
export function listEndpointDeliveries(
  db: Db,
  endpointId: string,
  page: { before: string | undefined; limit: number; state: WebhookDeliveryState | undefined },
): Promise<WebhookDelivery[]> {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId);
  if (page.state !== undefined) query = query.where('state', '=', page.state);
  if (page.before !== undefined) query = query.where('id', '<', page.before);
  return query.orderBy('id', 'desc').limit(page.limit).execute();
}

export function findEndpointDelivery(
  db: Db | Trx,
  endpointId: string,
  deliveryId: string,
): Promise<WebhookDelivery | undefined> {
  return db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('id', '=', deliveryId)
    .where('endpoint_id', '=', endpointId)
    .executeTakeFirst();
}

export function listAttempts(db: Db, deliveryId: string): Promise<WebhookAttempt[]> {
  return db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where('delivery_id', '=', deliveryId)
    .orderBy('number')
    .execute();
}
