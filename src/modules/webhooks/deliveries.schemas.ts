import { Type } from 'typebox';
import type { WebhookAttempt, WebhookDelivery } from '../../db/types.ts';
import { PageQuery } from '../../http/pagination.ts';
import { Timestamp, Uuid } from '../../http/schema-types.ts';

const State = Type.Union(
  [Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')],
  {
    description:
      'pending: waiting for its next attempt; succeeded: a 2xx came back; failed: out of retries, 410, or its endpoint disabled',
  },
);
const nullableTime = (description: string) =>
  Type.Union([Timestamp(description), Type.Null()], { description });
const nullableInt = (description: string) =>
  Type.Union([Type.Integer(), Type.Null()], { description });
const nullableText = (description: string) =>
  Type.Union([Type.String(), Type.Null()], { description });

const deliveryProperties = {
  id: Uuid('The delivery id, sent as the `webhook-id` header on every attempt'),
  endpoint_id: Uuid('The endpoint (`/v1/webhooks/{id}`) it goes to'),
  event_id: Uuid('The event it carries'),
  event_type: Type.String({ description: 'The event’s type, e.g. task.created' }),
  state: State,
  attempt_count: Type.Integer({ description: 'Attempts made so far' }),
  next_attempt_at: nullableTime('When the next attempt is due; null once finished'),
  last_status: nullableInt('The HTTP status of the last attempt; null if no response came'),
  last_error: nullableText('Why the last attempt got no response (timed out, refused…)'),
  created_at: Timestamp('When the event committed and the delivery was created'),
  completed_at: nullableTime('When it succeeded or failed for good'),
};

export const DeliverySchema = Type.Object(deliveryProperties, {
  $id: 'WebhookDelivery',
  additionalProperties: false,
});

const AttemptSchema = Type.Object(
  {
    number: Type.Integer({ description: 'The attempt’s number, from 1' }),
    started_at: Timestamp('When the request went out'),
    duration_ms: Type.Integer({ description: 'Milliseconds until the response (or the failure)' }),
    status: nullableInt('The response’s HTTP status; null if none came'),
    error: nullableText('Why no response came'),
    response_snippet: nullableText('The first KiB of the response body'),
  },
  { additionalProperties: false },
);

export const DeliveryWithAttemptsSchema = Type.Object(
  { ...deliveryProperties, attempts: Type.Array(AttemptSchema, { description: 'Oldest first' }) },
  { $id: 'WebhookDeliveryWithAttempts', additionalProperties: false },
);

export const DeliveryParams = Type.Object({
  webhook_id: Uuid('The endpoint id'),
  delivery_id: Uuid('The delivery id (its webhook-id)'),
});

export const DeliveryListQuery = Type.Object(
  { ...PageQuery, state: Type.Optional(State) },
  { additionalProperties: false },
);

export function presentDelivery(delivery: WebhookDelivery) {
  return {
    id: delivery.id,
    endpoint_id: delivery.endpoint_id,
    event_id: delivery.event_id,
    event_type: delivery.event_type,
    state: delivery.state,
    attempt_count: delivery.attempts,
    next_attempt_at: delivery.next_attempt_at?.toISOString() ?? null,
    last_status: delivery.last_status,
    last_error: delivery.last_error,
    created_at: delivery.created_at.toISOString(),
    completed_at: delivery.completed_at?.toISOString() ?? null,
  };
}

export function presentAttempt(attempt: WebhookAttempt) {
  return {
    number: attempt.number,
    started_at: attempt.started_at.toISOString(),
    duration_ms: attempt.duration_ms,
    status: attempt.status,
    error: attempt.error,
    response_snippet: attempt.response_snippet,
  };
}
