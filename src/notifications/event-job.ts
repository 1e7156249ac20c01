/**
 * Notifications caused by events: assignment (`task.created` with an assignee,
 * `task.updated` that changes it) and @mentions (`comment.created`, and
 * `comment.updated` for the newly mentioned only). The event's transaction
 * queues a job when the event's data names someone to tell; the job checks who
 * may still see the project and creates the notifications in one transaction.
 */
import { Type } from 'typebox';
import { projectAccess } from '../auth/project-permissions.ts';
import type { Db, Trx } from '../db/database.ts';
import type { StoredEvent } from '../events/event-log.ts';
import { defineJob } from '../jobs/catalogue.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { createNotifications, type NotificationSpec } from './create.ts';
import { type EventCandidates, notificationCandidates } from './event-rules.ts';
import { mentionedUserIds, renderMentions } from './mentions.ts';
import {
  findComment,
  findEvent,
  findNotifiedTask,
  type NotifiedTask,
  userNames,
} from './sources.repository.ts';

export const notifyEventJob = defineJob({
  name: 'notify-event',
  payload: Type.Object(
    { event_id: Type.String({ format: 'uuid' }) },
    { additionalProperties: false },
  ),
  priority: 'interactive',
  maxAttempts: 5,
  async run({ event_id }, { db, log }) {
    const event = await findEvent(db, event_id);
    // Gone with its team (the log cascades): nobody is left to tell.
    if (!event) return;
    const candidates = notificationCandidates({
      type: event.type,
      actorId: event.actor_id,
      subjectId: event.subject_id,
      data: event.data,
    });
    if (!candidates) return;
    const spec = await specFor(db, event, candidates);
    if (!spec) return;
    const recipients = await whoMaySee(db, spec.projectId, spec.userIds);
    if (recipients.length === 0) return;
    const created = await db
      .transaction()
      .execute((trx) => createNotifications(trx, recipients, spec.notification));
    log.info(
      { event_id, kind: candidates.kind, inbox: created.inbox, sends: created.sendIds.length },
      'notifications created',
    );
  },
});

/**
 * Called for every event, in its transaction (side-effects.ts): queues the job
 * only when the event's own data names someone to notify, so that most events
 * cost one branch and no query.
 */
export async function queueEventNotifications(trx: Trx, event: StoredEvent): Promise<void> {
  if (!notificationCandidates(event)) return;
  await enqueueJob(
    trx,
    notifyEventJob,
    { event_id: event.id },
    { jobKey: `notify-event:${event.id}` },
  );
}

/**
 * Only users who can see the project (any role) hear about it: a mention of
 * someone outside a private project must not leak its task or comment to them.
 */
async function whoMaySee(db: Db, projectId: string, userIds: readonly string[]): Promise<string[]> {
  const allowed: string[] = [];
  for (const userId of userIds) {
    if ((await projectAccess(db, userId, [projectId])).has(projectId)) allowed.push(userId);
  }
  return allowed;
}

const taskKey = (task: NotifiedTask) => `${task.project_key}-${task.number}`;
const EXCERPT_LENGTH = 1000;

async function specFor(
  db: Db,
  event: { id: string; actor_id: string | null },
  candidates: EventCandidates,
): Promise<{ projectId: string; userIds: string[]; notification: NotificationSpec } | undefined> {
  const task = await findNotifiedTask(db, candidates.taskId);
  // A task in the trash (or purged) by the time the job runs is not worth a message.
  if (!task || task.deleted_at !== null) return undefined;
  let userIds = [...candidates.userIds];
  let commentBody: string | undefined;
  if (candidates.kind === 'mentioned') {
    const comment = await findComment(db, candidates.commentId!);
    if (!comment || comment.deleted_at !== null) return undefined;
    // A moderator's edit is not the author's voice: the author is never told about their own comment.
    userIds = userIds.filter((id) => id !== comment.author_id);
    commentBody = comment.body;
  }
  if (userIds.length === 0) return undefined;
  // Names for the actor and for every mention in the text, so it reads `@Ada`, not a uuid.
  const named = [
    ...(event.actor_id ? [event.actor_id] : []),
    ...mentionedUserIds(commentBody ?? ''),
  ];
  const names = await userNames(db, named);
  const actor = (event.actor_id && names.get(event.actor_id)) || 'Someone';
  const key = taskKey(task);
  const common = {
    teamId: task.team_id,
    sourceKey: event.id,
    taskId: task.id,
    actorId: event.actor_id,
  };
  const notification: NotificationSpec =
    candidates.kind === 'assigned'
      ? {
          ...common,
          kind: 'assigned',
          title: `${actor} assigned you ${key}: ${task.title}`,
          body: `${key} “${task.title}” is yours now${task.due_date ? `, due ${task.due_date}` : ''}.`,
          data: { project_id: task.project_id, task_key: key, event_id: event.id },
        }
      : {
          ...common,
          kind: 'mentioned',
          title: `${actor} mentioned you on ${key}: ${task.title}`,
          body: excerpt(renderMentions(commentBody ?? '', names)),
          data: {
            project_id: task.project_id,
            task_key: key,
            comment_id: candidates.commentId,
            event_id: event.id,
          },
        };
  return { projectId: task.project_id, userIds, notification };
}

function excerpt(text: string): string {
  return text.length <= EXCERPT_LENGTH ? text : `${text.slice(0, EXCERPT_LENGTH - 1)}…`;
}
