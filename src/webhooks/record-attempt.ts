/**
 * The bookkeeping after an attempt, in one transaction: the attempt's row, the
 * delivery's new state, the endpoint's health (failure count, circuit), and —
 * when the delivery must be tried again — its next job. A crash before this
 * commits loses the attempt's record, never the delivery: its job runs again.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { WebhookConfig } from '../config.ts';
import type { Db, Trx } from '../db/database.ts';
import type { WebhookDelivery, WebhookEndpoint } from '../db/types.ts';
import { appendEvent } from '../events/event-log.ts';
import { lockEndpoint } from '../modules/webhooks/webhooks.repository.ts';
import { notifyTeamAdmins } from '../notifications/create.ts';
import {
  failPendingDeliveries,
  insertAttempt,
  lockDelivery,
  recordSuccess,
  updateDelivery,
  updateEndpointHealth,
} from './deliveries.repository.ts';
import { scheduleDelivery } from './delivery-queue.ts';
import type { SentAttempt } from './http-client.ts';
import { type AttemptOutcome, circuitOpenForMs, isSuccess, outcomeOf } from './retry-policy.ts';

export interface AttemptRecord {
  readonly deliveryId: string;
  readonly endpointId: string;
  /** The endpoint had no failure counted when the attempt began (the fast path's condition). */
  readonly endpointWasHealthy: boolean;
  readonly eventId: string;
  readonly eventType: string;
  readonly manual: boolean;
  readonly startedAt: Date;
  readonly sent: SentAttempt;
}

export async function recordAttempt(
  db: Db,
  config: WebhookConfig,
  log: FastifyBaseLogger,
  record: AttemptRecord,
): Promise<AttemptOutcome | undefined> {
  const { result } = record.sent;
  // The common case in one statement; failures, and successes that close a
  // circuit, take the transaction below.
  if (isSuccess(result) && record.endpointWasHealthy && result.kind === 'response') {
    const number = await recordSuccess(db, {
      delivery_id: record.deliveryId,
      endpoint_id: record.endpointId,
      started_at: record.startedAt,
      duration_ms: record.sent.durationMs,
      status: result.status,
      response_snippet: record.sent.snippet,
    });
    if (number === undefined) return undefined; // deleted while the request was out
    log.info(
      { ...logFields(record, number), status: result.status, outcome: 'succeeded' },
      'webhook delivered',
    );
    return { next: 'succeeded' };
  }
  return db.transaction().execute(async (trx) => {
    // Endpoint before delivery: the order an owner's PATCH takes them in, so the
    // two never wait on each other.
    const endpoint = await lockEndpoint(trx, record.endpointId);
    const delivery = await lockDelivery(trx, record.deliveryId);
    if (!endpoint || !delivery) return undefined; // deleted while the request was out
    const attempts = delivery.attempts + 1;
    await insertAttempt(trx, {
      delivery_id: delivery.id,
      number: attempts,
      started_at: record.startedAt,
      duration_ms: record.sent.durationMs,
      status: result.kind === 'response' ? result.status : null,
      error: result.kind === 'error' ? result.error : null,
      response_snippet: record.sent.snippet,
    });
    const outcome = outcomeOf({
      result,
      attempts,
      manual: record.manual,
      scheduleMs: config.retryScheduleMs,
    });
    // A delivery ended meanwhile (its endpoint disabled) keeps its end, unless
    // this attempt got through: then it was delivered, whatever happened around it.
    const applies = delivery.state === 'pending' || outcome.next === 'succeeded';
    if (applies) await applyOutcome(trx, delivery, attempts, outcome, record);
    await updateHealth(trx, endpoint, config, outcome, delivery.id);
    const fields = {
      ...logFields(record, attempts),
      status: result.kind === 'response' ? result.status : null,
      error: result.kind === 'error' ? result.error : undefined,
      outcome: outcome.next,
      retry_in_ms: outcome.next === 'retry' ? outcome.delayMs : undefined,
    };
    if (isSuccess(result)) log.info(fields, 'webhook delivered');
    else log.warn(fields, 'webhook delivery attempt failed');
    return outcome;
  });
}

/** The ids every attempt's log line carries, so one delivery's history greps out. */
function logFields(record: AttemptRecord, attempt: number) {
  return {
    delivery_id: record.deliveryId,
    webhook_id: record.deliveryId,
    endpoint_id: record.endpointId,
    event_id: record.eventId,
    event_type: record.eventType,
    // `attempt` on the job's logger counts runs of this job; this counts the delivery's.
    delivery_attempt: attempt,
    duration_ms: record.sent.durationMs,
  };
}

async function applyOutcome(
  trx: Trx,
  delivery: WebhookDelivery,
  attempts: number,
  outcome: AttemptOutcome,
  record: AttemptRecord,
): Promise<void> {
  const { result } = record.sent;
  const now = new Date();
  const retryAt = outcome.next === 'retry' ? new Date(now.getTime() + outcome.delayMs) : null;
  await updateDelivery(trx, delivery.id, {
    state: outcome.next === 'retry' ? 'pending' : outcome.next,
    attempts,
    last_status: result.kind === 'response' ? result.status : null,
    last_error: result.kind === 'error' ? result.error : null,
    next_attempt_at: retryAt,
    completed_at: retryAt ? null : now,
  });
  if (retryAt) await scheduleDelivery(trx, { delivery_id: delivery.id, manual: false }, retryAt);
}

/**
 * The circuit breaker and disabling. A success closes the circuit; a failure
 * counts, and from the threshold on opens the circuit for a cooldown that
 * doubles per failed probe. 410 or a delivery out of retries disables the
 * endpoint, ends its other pending deliveries and tells the team: an event, and
 * a notification to its owners and admins.
 */
async function updateHealth(
  trx: Trx,
  endpoint: WebhookEndpoint,
  config: WebhookConfig,
  outcome: AttemptOutcome,
  deliveryId: string,
): Promise<void> {
  if (outcome.next === 'succeeded') {
    await updateEndpointHealth(trx, endpoint.id, {
      consecutive_failures: 0,
      circuit_open_until: null,
    });
    return;
  }
  const failures = endpoint.consecutive_failures + 1;
  const openForMs = circuitOpenForMs(failures, config.circuitFailures, config.circuitCooldownMs);
  const disable =
    outcome.next === 'failed' && outcome.disableEndpoint && endpoint.disabled_at === null
      ? outcome.disableEndpoint
      : undefined;
  const now = new Date();
  await updateEndpointHealth(trx, endpoint.id, {
    consecutive_failures: failures,
    circuit_open_until: openForMs === undefined ? null : new Date(now.getTime() + openForMs),
    ...(disable ? { disabled_at: now, disabled_reason: disable } : {}),
  });
  if (!disable) return;
  await failPendingDeliveries(trx, endpoint.id, 'endpoint disabled');
  await appendEvent(trx, {
    teamId: endpoint.team_id,
    projectId: null,
    type: 'webhook_endpoint.disabled',
    actorId: null,
    subjectId: endpoint.id,
    data: { reason: disable, url: endpoint.url, delivery_id: deliveryId },
  });
  const why =
    disable === 'gone'
      ? 'it answered 410 Gone'
      : `a delivery failed ${config.retryScheduleMs.length + 1} attempts`;
  await notifyTeamAdmins(trx, {
    teamId: endpoint.team_id,
    kind: 'webhook_disabled',
    sourceKey: `webhook_disabled:${endpoint.id}:${now.toISOString()}`,
    title: 'A webhook endpoint was disabled',
    body: `Tasklane stopped delivering to ${endpoint.url}: ${why}. Fix the receiver, enable the endpoint again (PATCH /v1/webhooks/${endpoint.id} {"status":"enabled"}) and retry the failed deliveries.`,
    data: { webhook_id: endpoint.id, reason: disable, delivery_id: deliveryId },
  });
}
