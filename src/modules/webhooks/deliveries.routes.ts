import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { problems } from '../../http/openapi-responses.ts';
import { pageOf, sendPage } from '../../http/pagination.ts';
import { bearerAuth } from '../../http/schema-types.ts';
import {
  DeliveryListQuery,
  DeliveryParams,
  DeliverySchema,
  DeliveryWithAttemptsSchema,
  presentAttempt,
  presentDelivery,
} from './deliveries.schemas.ts';
import { getDelivery, listDeliveries, retryDelivery } from './deliveries.service.ts';
import { WebhookParams } from './webhooks.schemas.ts';

const DeliveryRef = Type.Ref('WebhookDelivery');

export function deliveryRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, cursors, authenticate } = deps;
  return async (app) => {
    app.addSchema(DeliverySchema);
    app.addSchema(DeliveryWithAttemptsSchema);

    app.get(
      '/v1/webhooks/:webhook_id/deliveries',
      {
        onRequest: authenticate,
        schema: {
          tags: ['webhooks'],
          summary: 'An endpoint’s deliveries, newest first (owner)',
          security: bearerAuth,
          params: WebhookParams,
          querystring: DeliveryListQuery,
          response: { 200: pageOf(DeliveryRef), ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const { deliveries, nextCursor } = await listDeliveries(
          db,
          cursors,
          principalOf(request).userId,
          request.params.webhook_id,
          request.query,
        );
        return sendPage(request, reply, deliveries.map(presentDelivery), nextCursor);
      },
    );

    app.get(
      '/v1/webhooks/:webhook_id/deliveries/:delivery_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['webhooks'],
          summary: 'One delivery with every attempt: status, latency, the start of the response',
          security: bearerAuth,
          params: DeliveryParams,
          response: { 200: Type.Ref('WebhookDeliveryWithAttempts'), ...problems(401, 403, 404) },
        },
      },
      async (request) => {
        const { delivery, attempts } = await getDelivery(
          db,
          principalOf(request).userId,
          request.params.webhook_id,
          request.params.delivery_id,
        );
        return { ...presentDelivery(delivery), attempts: attempts.map(presentAttempt) };
      },
    );

    app.post(
      '/v1/webhooks/:webhook_id/deliveries/:delivery_id/retry',
      {
        onRequest: authenticate,
        schema: {
          tags: ['webhooks'],
          summary: 'Attempt a delivery again now, with the same webhook-id (owner)',
          security: bearerAuth,
          params: DeliveryParams,
          response: { 202: DeliveryRef, ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const delivery = await retryDelivery(
          db,
          principalOf(request).userId,
          request.params.webhook_id,
          request.params.delivery_id,
        );
        return reply.code(202).send(presentDelivery(delivery));
      },
    );
  };
}
