import { sql } from 'kysely';
import type { Trx } from '../db/database.ts';
import { uuidv7 } from '../lib/ids.ts';
import { activeTraceparent } from '../observability/tracing.ts';
import { insertDeliveries, queueDeliveryJobs } from '../webhooks/delivery-queue.ts';
import { queueSideEffects } from './side-effects.ts';

/**
 * The kinds of change Tasklane records. `<subject>.<verb>`, stable: clients and
 * webhook consumers branch on them.
 */
export const EVENT_TYPES = [
  'team.updated',
  'member.added',
  'member.role_changed',
  'member.removed',
  'project.created',
  'project.updated',
  'project.archived',
  'project.unarchived',
  'project_member.added',
  'project_member.role_changed',
  'project_member.removed',
  'task.created',
  'task.updated',
  'task.deleted',
  'task.restored',
  'comment.created',
  'comment.updated',
  'comment.deleted',
  'comment.restored',
  'webhook_endpoint.created',
  'webhook_endpoint.updated',
  'webhook_endpoint.deleted',
  'webhook_endpoint.secret_rotated',
  'webhook_endpoint.disabled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

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

/** An event as written: what appendEvent returns, and what side effects are queued from. */
export interface StoredEvent extends NewEvent {
  readonly id: string;
  readonly createdAt: Date;
}

/**
 * Appends an event in the caller's transaction: the change and its event commit
 * together or not at all. Takes a Transaction, so an event outside one does not
 * compile. The event's side effects (webhook deliveries, notifications) are
 * queued in the same transaction (side-effects.ts), so none is lost or invented.
 */
export async function appendEvent(trx: Trx, event: NewEvent): Promise<void> {
  const stored: StoredEvent = { ...event, id: uuidv7(), createdAt: new Date() };
  // One round trip for the event, its webhook deliveries and their jobs: the
  // cost every write pays stays one statement however many endpoints listen.
  await sql`WITH event AS (
      INSERT INTO events (id, team_id, project_id, type, actor_id, subject_id, data, created_at)
      VALUES (${stored.id}, ${event.teamId}, ${event.projectId}, ${event.type}, ${event.actorId},
        ${event.subjectId}, ${JSON.stringify(event.data)}::jsonb, ${stored.createdAt})
    ), ${insertDeliveries(stored)}
    ${queueDeliveryJobs(activeTraceparent())}`.execute(trx);
  await queueSideEffects(trx, stored);
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
