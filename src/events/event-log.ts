import type { Trx } from '../db/database.ts';
import { uuidv7 } from '../lib/ids.ts';

/**
 * The kinds of change Tasklane records. `<subject>.<verb>`, stable: clients and
 * webhook consumers branch on them.
 */
export type EventType =
  | 'team.updated'
  | 'member.added'
  | 'member.role_changed'
  | 'member.removed'
  | 'project.created'
  | 'project.updated'
  | 'project.archived'
  | 'project.unarchived'
  | 'project_member.added'
  | 'project_member.role_changed'
  | 'project_member.removed'
  | 'task.created'
  | 'task.updated'
  | 'task.deleted'
  | 'task.restored'
  | 'comment.created'
  | 'comment.updated'
  | 'comment.deleted'
  | 'comment.restored';

/** An update's changed fields, each with its value before and after. */
export type FieldChanges = Record<string, { before: unknown; after: unknown }>;

export interface NewEvent {
  readonly teamId: string;
  /** Set for changes inside a project: its events are visible only to those who see it. */
  readonly projectId: string | null;
  readonly type: EventType;
  readonly actorId: string | null;
  readonly subjectId: string;
  /** For `*.created`: the new resource; for `*.updated`: `{ changes }`; ids, not secrets. */
  readonly data: Record<string, unknown>;
}

/**
 * Appends an event in the caller's transaction: the change and its event commit
 * together or not at all. Takes a Transaction, so an event outside one does not
 * compile.
 */
export async function appendEvent(trx: Trx, event: NewEvent): Promise<void> {
  await trx
    .insertInto('events')
    .values({
      id: uuidv7(),
      team_id: event.teamId,
      project_id: event.projectId,
      type: event.type,
      actor_id: event.actorId,
      subject_id: event.subjectId,
      data: JSON.stringify(event.data),
      created_at: new Date(),
    })
    .execute();
}

/**
 * The fields of `patch` whose value differs from `current`, with both values:
 * the `changes` of an `*.updated` event. Arrays and objects compare by content.
 */
export function diffFields<T extends Record<string, unknown>>(
  current: T,
  patch: Partial<T>,
): FieldChanges {
  const changes: FieldChanges = {};
  for (const [field, after] of Object.entries(patch)) {
    if (after === undefined) continue;
    const before = current[field];
    if (JSON.stringify(before) !== JSON.stringify(after)) changes[field] = { before, after };
  }
  return changes;
}
