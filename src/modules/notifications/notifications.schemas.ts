import { Type } from 'typebox';
import type { Notification } from '../../db/types.ts';
import { PageQuery } from '../../http/pagination.ts';
import { Timestamp, Uuid } from '../../http/schema-types.ts';
import type { ChannelPreferences } from '../../notifications/preferences.ts';

export const NotificationSchema = Type.Object(
  {
    id: Uuid('The notification id (UUIDv7: newer ones sort after older ones)'),
    kind: Type.Union(
      [
        Type.Literal('assigned'),
        Type.Literal('mentioned'),
        Type.Literal('due_soon'),
        Type.Literal('webhook_disabled'),
      ],
      {
        description:
          'assigned: a task was assigned to you; mentioned: a comment mentions you; due_soon: a task of yours is due tomorrow; webhook_disabled: a webhook endpoint of your team was disabled',
      },
    ),
    team_id: Uuid('The team it is about'),
    task_id: Type.Union([Uuid('The task it is about'), Type.Null()], {
      description: 'The task it is about; null when it is about no task',
    }),
    actor_id: Type.Union([Uuid('Who caused it'), Type.Null()], {
      description: 'Who caused it; null for reminders, or once their account is gone',
    }),
    title: Type.String({ description: 'One line, ready to show' }),
    body: Type.String({ description: 'Plain text, ready to show; may be empty' }),
    data: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          'Ids to link it: project_id, task_key, comment_id, event_id, endpoint_id, depending on the kind',
      },
    ),
    created_at: Timestamp('When it was created'),
    read_at: Type.Union([Timestamp('When you marked it read'), Type.Null()], {
      description: 'When you marked it read; null while unread',
    }),
  },
  { $id: 'Notification', additionalProperties: false },
);

export const NotificationParams = Type.Object({
  notification_id: Uuid('The notification id'),
});

export const NotificationListQuery = Type.Object(
  {
    ...PageQuery,
    unread: Type.Optional(
      Type.Boolean({ description: 'true: only notifications not yet marked read' }),
    ),
  },
  { additionalProperties: false },
);

const channel = (description: string) => Type.Boolean({ description });
const channelFields = {
  in_app: channel('The inbox (GET /v1/me/notifications)'),
  email: channel('Email to your account’s address'),
  push: channel('Push to your devices'),
  sms: channel('Text messages'),
};

export const PreferencesSchema = Type.Object(channelFields, {
  $id: 'NotificationPreferences',
  additionalProperties: false,
  description:
    'Which channels notify you; without a choice of yours: in_app and email on, push and sms off',
});

/** JSON Merge Patch: absent channels stay as they are. */
export const PatchPreferencesBody = Type.Object(
  {
    in_app: Type.Optional(channelFields.in_app),
    email: Type.Optional(channelFields.email),
    push: Type.Optional(channelFields.push),
    sms: Type.Optional(channelFields.sms),
  },
  { additionalProperties: false },
);

export function presentNotification(notification: Notification) {
  return {
    id: notification.id,
    kind: notification.kind,
    team_id: notification.team_id,
    task_id: notification.task_id,
    actor_id: notification.actor_id,
    title: notification.title,
    body: notification.body,
    data: notification.data,
    created_at: notification.created_at.toISOString(),
    read_at: notification.read_at?.toISOString() ?? null,
  };
}

export function presentPreferences(preferences: ChannelPreferences) {
  const { in_app, email, push, sms } = preferences;
  return { in_app, email, push, sms };
}
