import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { isNotModified, parseIfMatch, setEtag } from '../../http/etag.ts';
import { problems } from '../../http/openapi-responses.ts';
import { pageOf, sendPage } from '../../http/pagination.ts';
import { bearerAuth, IfMatchHeaders, NoContent } from '../../http/schema-types.ts';
import {
  CreateWebhookBody,
  PatchWebhookBody,
  presentWebhook,
  RotateSecretBody,
  TeamWebhooksParams,
  WebhookListQuery,
  WebhookParams,
  WebhookSchema,
  WebhookWithSecretSchema,
} from './webhooks.schemas.ts';
import {
  createWebhook,
  getWebhook,
  listWebhooks,
  patchWebhook,
  removeWebhook,
  rotateWebhookSecret,
} from './webhooks.service.ts';

const WebhookRef = Type.Ref('Webhook');
const WebhookWithSecretRef = Type.Ref('WebhookWithSecret');
// Their answers carry the signing secret, which is never stored (idempotency.ts).
const NO_STORED_RESPONSE = { idempotency: false } as const;

export function webhookRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, cursors, authenticate } = deps;
  const settings = { allowPrivateTargets: deps.config.webhooks.allowPrivateTargets };
  return async (app) => {
    app.addSchema(WebhookSchema);
    app.addSchema(WebhookWithSecretSchema);

    app.post(
      '/v1/teams/:team_id/webhooks',
      {
        onRequest: authenticate,
        config: NO_STORED_RESPONSE,
        schema: {
          tags: ['webhooks'],
          summary: 'Create a webhook endpoint (owner); its secret is in this answer only',
          security: bearerAuth,
          params: TeamWebhooksParams,
          body: CreateWebhookBody,
          response: { 201: WebhookWithSecretRef, ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        const { endpoint, secret } = await createWebhook(
          db,
          settings,
          principalOf(request).userId,
          request.params.team_id,
          request.body,
        );
        setEtag(reply, endpoint.version);
        return reply
          .code(201)
          .header('location', `/v1/webhooks/${endpoint.id}`)
          .header('cache-control', 'no-store')
          .send({ ...presentWebhook(endpoint), secret });
      },
    );

    app.get(
      '/v1/teams/:team_id/webhooks',
      {
        onRequest: authenticate,
        schema: {
          tags: ['webhooks'],
          summary: 'The team’s webhook endpoints, oldest first (owner)',
          security: bearerAuth,
          params: TeamWebhooksParams,
          querystring: WebhookListQuery,
          response: { 200: pageOf(WebhookRef), ...problems(400, 401, 403, 404) },
        },
      },
      async (request, reply) => {
        const { endpoints, nextCursor } = await listWebhooks(
          db,
          cursors,
          principalOf(request).userId,
          request.params.team_id,
          request.query,
        );
        return sendPage(request, reply, endpoints.map(presentWebhook), nextCursor);
      },
    );

    app.get(
      '/v1/webhooks/:webhook_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['webhooks'],
          summary: 'One webhook endpoint, with a strong ETag (owner)',
          security: bearerAuth,
          params: WebhookParams,
          response: { 200: WebhookRef, 304: NoContent, ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        const endpoint = await getWebhook(
          db,
          principalOf(request).userId,
          request.params.webhook_id,
        );
        if (isNotModified(request, reply, endpoint.version)) return reply.code(304).send();
        return presentWebhook(endpoint);
      },
    );

    app.patch(
      '/v1/webhooks/:webhook_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['webhooks'],
          summary: 'Change an endpoint’s URL, events or description, or enable/disable it (owner)',
          security: bearerAuth,
          params: WebhookParams,
          headers: IfMatchHeaders,
          body: PatchWebhookBody,
          response: { 200: WebhookRef, ...problems(401, 403, 404, 412) },
        },
      },
      async (request, reply) => {
        const endpoint = await patchWebhook(
          db,
          settings,
          principalOf(request).userId,
          request.params.webhook_id,
          request.body,
          parseIfMatch(request.headers['if-match']),
        );
        setEtag(reply, endpoint.version);
        return presentWebhook(endpoint);
      },
    );

    app.delete(
      '/v1/webhooks/:webhook_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['webhooks'],
          summary: 'Delete an endpoint and its delivery history (owner)',
          security: bearerAuth,
          params: WebhookParams,
          headers: IfMatchHeaders,
          response: { 204: NoContent, ...problems(401, 403, 404, 412) },
        },
      },
      async (request, reply) => {
        await removeWebhook(
          db,
          principalOf(request).userId,
          request.params.webhook_id,
          parseIfMatch(request.headers['if-match']),
        );
        return reply.code(204).send();
      },
    );

    app.post(
      '/v1/webhooks/:webhook_id/rotate-secret',
      {
        onRequest: authenticate,
        config: NO_STORED_RESPONSE,
        schema: {
          tags: ['webhooks'],
          summary:
            'A new signing secret (owner); the old one keeps signing beside it for grace_seconds',
          security: bearerAuth,
          params: WebhookParams,
          body: Type.Optional(RotateSecretBody),
          response: { 200: WebhookWithSecretRef, ...problems(401, 403, 404) },
        },
      },
      async (request, reply) => {
        const { endpoint, secret } = await rotateWebhookSecret(
          db,
          principalOf(request).userId,
          request.params.webhook_id,
          request.body?.grace_seconds ?? 86_400,
        );
        setEtag(reply, endpoint.version);
        return reply
          .header('cache-control', 'no-store')
          .send({ ...presentWebhook(endpoint), secret });
      },
    );
  };
}
