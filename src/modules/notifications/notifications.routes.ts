import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { problems } from '../../http/openapi-responses.ts';
import { pageOf, sendPage } from '../../http/pagination.ts';
import { bearerAuth, NoContent } from '../../http/schema-types.ts';
import {
  NotificationListQuery,
  NotificationParams,
  NotificationSchema,
  PatchPreferencesBody,
  PreferencesSchema,
  presentNotification,
  presentPreferences,
} from './notifications.schemas.ts';
import {
  getPreferences,
  listNotifications,
  patchPreferences,
  readAllNotifications,
  readNotification,
} from './notifications.service.ts';

const tags = ['notifications'];
const NotificationRef = Type.Ref('Notification');
const PreferencesRef = Type.Ref('NotificationPreferences');

export function notificationRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, cursors, authenticate } = deps;
  return async (app) => {
    app.addSchema(NotificationSchema);
    app.addSchema(PreferencesSchema);

    app.get(
      '/v1/me/notifications',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Your in-app notifications, newest first',
          description:
            'Assignments, @mentions (`<@user_id>` in a comment), tasks due tomorrow, and team notices. Each appears once, however often its job ran.',
          security: bearerAuth,
          querystring: NotificationListQuery,
          response: { 200: pageOf(NotificationRef), ...problems(400, 401) },
        },
      },
      async (request, reply) => {
        const { notifications, nextCursor } = await listNotifications(
          db,
          cursors,
          principalOf(request).userId,
          request.query,
        );
        return sendPage(request, reply, notifications.map(presentNotification), nextCursor);
      },
    );

    app.post(
      '/v1/me/notifications/:notification_id/read',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Mark one of your notifications read',
          description: 'Idempotent: marking it again keeps the first `read_at`.',
          security: bearerAuth,
          params: NotificationParams,
          response: { 200: NotificationRef, ...problems(401, 404) },
        },
      },
      async (request) =>
        presentNotification(
          await readNotification(db, principalOf(request).userId, request.params.notification_id),
        ),
    );

    app.post(
      '/v1/me/notifications/read-all',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Mark all your notifications read',
          security: bearerAuth,
          response: { 204: NoContent, ...problems(401) },
        },
      },
      async (request, reply) => {
        await readAllNotifications(db, principalOf(request).userId);
        return reply.code(204).send();
      },
    );

    app.get(
      '/v1/me/notification-preferences',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Which channels notify you',
          security: bearerAuth,
          response: { 200: PreferencesRef, ...problems(401) },
        },
      },
      async (request) => presentPreferences(await getPreferences(db, principalOf(request).userId)),
    );

    app.patch(
      '/v1/me/notification-preferences',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Turn channels on or off (JSON Merge Patch)',
          description:
            'Absent channels stay as they are; an unknown field is 422. Applies to notifications created from now on.',
          security: bearerAuth,
          body: PatchPreferencesBody,
          response: { 200: PreferencesRef, ...problems(401) },
        },
      },
      async (request) =>
        presentPreferences(await patchPreferences(db, principalOf(request).userId, request.body)),
    );
  };
}
