/**
 * Which events notify whom, decided from the event alone (its type and data), so
 * that appending an event that notifies nobody costs nothing more than a branch.
 * The job that creates the notifications asks the same question again, then
 * checks what only the database knows (who may still see the project).
 */
import type { EventType } from '../events/event-log.ts';
import { mentionedUserIds, newlyMentionedUserIds } from './mentions.ts';

/** The parts of an event the rules read: what appendEvent writes, and what the events table holds. */
export interface EventFacts {
  readonly type: EventType | string;
  readonly actorId: string | null;
  readonly subjectId: string;
  readonly data: unknown;
}

export interface EventCandidates {
  readonly kind: 'assigned' | 'mentioned';
  readonly taskId: string;
  /** Set for mentions: the comment they are in. */
  readonly commentId?: string;
  /** Who may be notified, before the visibility check; never the actor. */
  readonly userIds: readonly string[];
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** The users an event may notify, or undefined when it notifies nobody. */
export function notificationCandidates(event: EventFacts): EventCandidates | undefined {
  const data = record(event.data);
  const change = (field: string) => record(record(data.changes)[field]);
  let candidates: EventCandidates | undefined;
  switch (event.type) {
    case 'task.created':
      candidates = assignment(event.subjectId, text(data.assignee_id));
      break;
    case 'task.updated':
      candidates = assignment(event.subjectId, text(change('assignee_id').after));
      break;
    case 'comment.created':
      candidates = mention(
        event.subjectId,
        text(data.task_id),
        mentionedUserIds(text(data.body) ?? ''),
      );
      break;
    case 'comment.updated': {
      const body = change('body');
      const ids = newlyMentionedUserIds(text(body.before) ?? '', text(body.after) ?? '');
      candidates = mention(event.subjectId, text(data.task_id), ids);
      break;
    }
  }
  if (!candidates) return undefined;
  // Assigning yourself, or mentioning yourself, tells you nothing new.
  const userIds = candidates.userIds.filter((id) => id !== event.actorId);
  return userIds.length > 0 ? { ...candidates, userIds } : undefined;
}

function assignment(taskId: string, assigneeId: string | undefined): EventCandidates | undefined {
  return assigneeId ? { kind: 'assigned', taskId, userIds: [assigneeId] } : undefined;
}

function mention(
  commentId: string,
  taskId: string | undefined,
  userIds: string[],
): EventCandidates | undefined {
  return taskId && userIds.length > 0
    ? { kind: 'mentioned', taskId, commentId, userIds }
    : undefined;
}
