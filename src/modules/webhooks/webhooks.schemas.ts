import { Type } from 'typebox';
import type { WebhookEndpoint } from '../../db/types.ts';
import { PageQuery } from '../../http/pagination.ts';
import { Timestamp, Uuid } from '../../http/schema-types.ts';

const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    'Where deliveries are POSTed: an absolute http(s) URL without credentials; private, loopback and link-local targets are refused unless the server allows them',
});
const EventPatterns = Type.Array(
  Type.String({
    pattern: '^(\\*|[a-z_]{1,50}\\.(\\*|[a-z_]{1,50}))$',
    description: 'An event type (task.created), every type of a subject (task.*), or *',
  }),
  {
    minItems: 1,
    maxItems: 50,
    uniqueItems: true,
    description: 'The events delivered to this endpoint',
  },
);
const Description = Type.String({ maxLength: 500, description: 'A note for people, ≤ 500 chars' });

const nullable = <T extends ReturnType<typeof Timestamp>>(schema: T, description: string) =>
  Type.Union([schema, Type.Null()], { description });

export const WebhookSchema = Type.Object(
  {
    id: Uuid('The endpoint id'),
    team_id: Uuid('The team whose events it receives'),
    url: Url,
    description: Description,
    events: Type.Array(Type.String(), { description: 'The events delivered to this endpoint' }),
    status: Type.Union([Type.Literal('enabled'), Type.Literal('disabled')], {
      description: 'disabled: nothing is delivered until an owner enables it again',
    }),
    disabled_reason: Type.Union(
      [
        Type.Literal('gone'),
        Type.Literal('retries_exhausted'),
        Type.Literal('manual'),
        Type.Null(),
      ],
      {
        description:
          'Why it is disabled: the receiver answered 410 (gone), a delivery failed every retry (retries_exhausted), or an owner disabled it (manual)',
      },
    ),
    disabled_at: nullable(Timestamp('When it was disabled'), 'When it was disabled'),
    consecutive_failures: Type.Integer({ description: 'Failed attempts since the last success' }),
    circuit_open_until: nullable(
      Timestamp('Until when deliveries wait'),
      'While the circuit breaker is open, deliveries wait until then; null when closed',
    ),
    previous_secret_expires_at: nullable(
      Timestamp('Until when the previous secret also signs'),
      'After a rotation, deliveries carry a second signature with the previous secret until then',
    ),
    created_at: Timestamp('When the endpoint was created'),
    updated_at: Timestamp('When the endpoint last changed'),
    version: Type.Integer({
      description: 'Incremented by every change; the ETag is derived from it',
    }),
  },
  { $id: 'Webhook', additionalProperties: false },
);

/** The endpoint with its signing secret: only in the answers to create and rotate. */
export const WebhookWithSecretSchema = Type.Object(
  {
    ...WebhookSchema.properties,
    secret: Type.String({
      description:
        'The signing secret (whsec_…), shown this once: verify deliveries with it (Standard Webhooks)',
    }),
  },
  { $id: 'WebhookWithSecret', additionalProperties: false },
);

export const TeamWebhooksParams = Type.Object({ team_id: Uuid('The team id') });
export const WebhookParams = Type.Object({ webhook_id: Uuid('The endpoint id') });

export const CreateWebhookBody = Type.Object(
  { url: Url, events: EventPatterns, description: Type.Optional(Description) },
  { additionalProperties: false },
);

export const PatchWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(EventPatterns),
    description: Type.Optional(Description),
    status: Type.Optional(
      Type.Union([Type.Literal('enabled'), Type.Literal('disabled')], {
        description:
          'enabled turns a disabled endpoint back on (its failure count and circuit reset); disabled stops deliveries',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const MAX_ROTATION_GRACE_SECONDS = 7 * 86_400;

export const RotateSecretBody = Type.Object(
  {
    grace_seconds: Type.Integer({
      minimum: 0,
      maximum: MAX_ROTATION_GRACE_SECONDS,
      default: 86_400,
      description:
        'How long the old secret keeps signing beside the new one (0–604800 s, default a day), so receivers can switch without dropping a delivery',
    }),
  },
  { additionalProperties: false },
);

export const WebhookListQuery = Type.Object(PageQuery, { additionalProperties: false });

export function presentWebhook(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    team_id: endpoint.team_id,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.event_types,
    status: endpoint.disabled_at === null ? ('enabled' as const) : ('disabled' as const),
    disabled_reason: endpoint.disabled_reason,
    disabled_at: endpoint.disabled_at?.toISOString() ?? null,
    consecutive_failures: endpoint.consecutive_failures,
    circuit_open_until: endpoint.circuit_open_until?.toISOString() ?? null,
    previous_secret_expires_at: endpoint.previous_secret_expires_at?.toISOString() ?? null,
    created_at: endpoint.created_at.toISOString(),
    updated_at: endpoint.updated_at.toISOString(),
    version: endpoint.version,
  };
}
