/**
 * Creating notifications: the inbox row and one send row per enabled external
 * channel, for each recipient, in the caller's transaction, with a job per new
 * send. Safe to call again with the same source key: the unique constraints
 * make a repeat a no-op, so a retried job never notifies twice (ADR 0020).
 */
import type { Trx } from '../db/database.ts';
import type { NotificationChannel, NotificationKind } from '../db/types.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { uuidv7 } from '../lib/ids.ts';
import {
  findRecipients,
  insertInboxRows,
  insertSends,
  teamManagerIds,
} from './notifications.repository.ts';
import { sendNotificationJob } from './send-job.ts';

export interface NotificationSpec {
  readonly teamId: string;
  readonly kind: NotificationKind;
  /**
   * What caused it (an event id, `due_soon:<task>:<date>`, a key of the caller's).
   * One notification per (user, source key) and one send per (user, source key,
   * channel), however often this is called.
   */
  readonly sourceKey: string;
  readonly title: string;
  readonly body: string;
  readonly taskId?: string | null;
  readonly actorId?: string | null;
  /** Ids a client needs to link the notification; no secrets, no copies of rows. */
  readonly data?: Record<string, unknown>;
}

export interface CreatedNotifications {
  /** New inbox rows. */
  readonly inbox: number;
  /** Ids of the new send rows, each with its send-notification job queued. */
  readonly sendIds: readonly string[];
}

const MAX_TITLE = 500;
const MAX_BODY = 5000;
const EXTERNAL_CHANNELS: readonly NotificationChannel[] = ['email', 'push', 'sms'];

const clip = (text: string, max: number) =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;
/** A title is one line: it is also an email's Subject header. */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The footer of every external message: why it came, and how to stop it. */
const FOOTER =
  '\n\n--\nTasklane. Choose which notifications you get with PATCH /v1/me/notification-preferences.';

/**
 * Notifies `userIds` (unknown ids are skipped) through the channels each has on.
 * Runs in the caller's transaction: the rows and their jobs commit together.
 * The caller decides who may be told (visibility is its concern, not this one's).
 */
export async function createNotifications(
  trx: Trx,
  userIds: readonly string[],
  spec: NotificationSpec,
): Promise<CreatedNotifications> {
  const recipients = await findRecipients(trx, [...new Set(userIds)]);
  const title = clip(oneLine(spec.title), MAX_TITLE);
  const body = clip(spec.body, MAX_BODY);
  const now = new Date();
  const inbox = await insertInboxRows(
    trx,
    recipients
      .filter((recipient) => recipient.preferences.in_app)
      .map((recipient) => ({
        id: uuidv7(now.getTime()),
        user_id: recipient.id,
        team_id: spec.teamId,
        kind: spec.kind,
        source_key: spec.sourceKey,
        task_id: spec.taskId ?? null,
        actor_id: spec.actorId ?? null,
        title,
        body,
        data: JSON.stringify(spec.data ?? {}),
        created_at: now,
      })),
  );
  const sends = recipients.flatMap((recipient) =>
    EXTERNAL_CHANNELS.filter((channel) => recipient.preferences[channel]).map((channel) => {
      const id = uuidv7(now.getTime());
      return {
        id,
        user_id: recipient.id,
        channel,
        source_key: spec.sourceKey,
        // Push and SMS have no address of their own yet: the provider gets the user id.
        recipient: channel === 'email' ? recipient.email : recipient.id,
        subject: title,
        // SMS is short: the title says it all.
        body: channel === 'sms' ? title : `${body}${FOOTER}`,
        message_id: `<${id}@tasklane>`,
        created_at: now,
      };
    }),
  );
  const sendIds = await insertSends(trx, sends);
  for (const id of sendIds) {
    await enqueueJob(
      trx,
      sendNotificationJob,
      { send_id: id },
      { jobKey: `notification-send:${id}` },
    );
  }
  return { inbox, sendIds };
}

/**
 * Tells a team's owners and admins something about the team itself — a webhook
 * endpoint that was disabled, say. `sourceKey` makes it once per recipient
 * (e.g. `webhook_disabled:<endpoint id>:<disabled_at>`).
 */
export async function notifyTeamAdmins(
  trx: Trx,
  notice: {
    readonly teamId: string;
    readonly kind: 'webhook_disabled';
    readonly sourceKey: string;
    readonly title: string;
    readonly body: string;
    readonly data?: Record<string, unknown>;
  },
): Promise<CreatedNotifications> {
  return createNotifications(trx, await teamManagerIds(trx, notice.teamId), notice);
}
