/**
 * The `deliver-webhook` job: one attempt at one delivery (ADR 0018). It signs the
 * event per Standard Webhooks with the endpoint's secrets, POSTs it, and records
 * what happened (record-attempt.ts), which queues the next attempt if one is due.
 * A worker killed mid-request leaves the job to run again: the receiver may then
 * see the delivery twice, always with the same `webhook-id`.
 */
import { Type } from 'typebox';
import type { WebhookConfig } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Event, WebhookEndpoint } from '../db/types.ts';
import { defineJob } from '../jobs/catalogue.ts';
import { presentEvent } from '../modules/events/events.schemas.ts';
import { claimCircuitProbe, findDeliveryTarget, setNextAttempt } from './deliveries.repository.ts';
import { DELIVERY_JOB, type DeliveryJobPayload, scheduleDelivery } from './delivery-queue.ts';
import { recordAttempt } from './record-attempt.ts';
import { jittered } from './retry-policy.ts';
import { webhookHeaders } from './signing.ts';

/** The body receivers get: Standard Webhooks' `{type, timestamp, data}`, data being the event. */
export function deliveryBody(event: Event): string {
  return JSON.stringify({
    type: event.type,
    timestamp: event.created_at.toISOString(),
    data: presentEvent(event),
  });
}

/** The secrets that sign now: the current one, and the previous one during its grace period. */
export function signingSecrets(endpoint: WebhookEndpoint, now: Date): string[] {
  const previous =
    endpoint.previous_secret !== null &&
    endpoint.previous_secret_expires_at !== null &&
    endpoint.previous_secret_expires_at > now
      ? [endpoint.previous_secret]
      : [];
  return [endpoint.secret, ...previous];
}

/**
 * While an endpoint's circuit is open its deliveries wait, without spending an
 * attempt; once the cooldown is over, one delivery takes the half-open probe and
 * the others wait for its verdict. A manual retry is a person's call: it goes.
 */
async function waitForCircuit(
  db: Db,
  config: WebhookConfig,
  endpoint: WebhookEndpoint,
  payload: DeliveryJobPayload,
): Promise<boolean> {
  if (payload.manual || endpoint.circuit_open_until === null) return false;
  const now = Date.now();
  let openUntil = endpoint.circuit_open_until.getTime();
  if (openUntil <= now) {
    // The probe holds the circuit for as long as an attempt can take, and a little.
    const probeUntil = new Date(now + config.timeoutMs + 5_000);
    if (await claimCircuitProbe(db, endpoint.id, probeUntil)) return false;
    openUntil = probeUntil.getTime();
  }
  // Spread the waiters, so a closing circuit does not release them all at once.
  const wakeAt = new Date(openUntil + jittered(Math.min(config.circuitCooldownMs, 10_000) / 2));
  await db.transaction().execute(async (trx) => {
    await setNextAttempt(trx, payload.delivery_id, wakeAt);
    await scheduleDelivery(trx, payload, wakeAt);
  });
  return true;
}

const DeliveryPayload = Type.Object(
  { delivery_id: Type.String({ format: 'uuid' }), manual: Type.Boolean() },
  { additionalProperties: false },
);

export const deliverWebhook = defineJob({
  ...DELIVERY_JOB,
  payload: DeliveryPayload,
  async run(payload, { db, config, log, webhookSender, metrics }) {
    const target = await findDeliveryTarget(db, payload.delivery_id);
    // Gone (its endpoint or team deleted) or already finished: nothing to do.
    if (target?.delivery.state !== 'pending') return;
    const { delivery, endpoint, event } = target;
    if (endpoint.disabled_at !== null) return;
    if (await waitForCircuit(db, config.webhooks, endpoint, payload)) return;

    const startedAt = new Date();
    const body = deliveryBody(event);
    const headers = webhookHeaders(signingSecrets(endpoint, startedAt), {
      webhookId: delivery.id,
      timestamp: Math.floor(startedAt.getTime() / 1000),
      body,
    });
    const sent = await webhookSender.send(endpoint.url, headers, body);
    const outcome = await recordAttempt(db, config.webhooks, log, {
      deliveryId: delivery.id,
      endpointId: endpoint.id,
      endpointWasHealthy:
        endpoint.consecutive_failures === 0 && endpoint.circuit_open_until === null,
      eventId: event.id,
      eventType: event.type,
      manual: payload.manual,
      startedAt,
      sent,
    });
    metrics?.webhookAttempts.inc({ outcome: outcome?.next ?? 'gone' });
    metrics?.webhookAttemptDuration.observe(sent.durationMs / 1000);
  },
});
