import { Type } from 'typebox';
import type { Event } from '../../db/types.ts';
import { PageQuery } from '../../http/pagination.ts';
import { Timestamp, Uuid } from '../../http/schema-types.ts';

export const EventSchema = Type.Object(
  {
    id: Uuid('The event id (UUIDv7: events sort by it, newest last)'),
    type: Type.String({ description: 'What happened, `<subject>.<verb>`, e.g. task.updated' }),
    team_id: Uuid('The team the change happened in'),
    project_id: Type.Union([Uuid('The project the change happened in'), Type.Null()], {
      description: 'The project the change happened in; null for team-level changes',
    }),
    actor_id: Type.Union([Uuid('Who made the change'), Type.Null()], {
      description: 'Who made the change; null once their account is gone',
    }),
    subject_id: Uuid('The id of what changed (a task, a comment, a member’s user id…)'),
    data: Type.Object(
      {},
      {
        additionalProperties: true,
        description:
          '*.created: the new resource; *.updated: { changes: { field: { before, after } } }; others: the ids that place the change',
      },
    ),
    created_at: Timestamp('When the change was made'),
  },
  { $id: 'Event', additionalProperties: false },
);

export const EventListQuery = Type.Object(
  {
    ...PageQuery,
    type: Type.Optional(
      Type.String({
        pattern: '^[a-z_]{1,50}\\.([a-z_]{1,50})?$',
        description:
          'Only events of this type (task.updated), or of every type with this prefix when it ends with a dot (task.)',
      }),
    ),
    project_id: Type.Optional(Uuid('Only events of changes inside this project')),
    subject_id: Type.Optional(Uuid('Only events about this resource: the history of one task')),
  },
  { additionalProperties: false },
);

export function presentEvent(event: Event) {
  return {
    id: event.id,
    type: event.type,
    team_id: event.team_id,
    project_id: event.project_id,
    actor_id: event.actor_id,
    subject_id: event.subject_id,
    data: event.data as Record<string, unknown>,
    created_at: event.created_at.toISOString(),
  };
}
