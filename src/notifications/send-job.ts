/**
 * `send-notification`: one attempt at one send row, exactly once in effect
 * (ADR 0020). Claim (`sending`), hand to the channel's provider, mark `sent`.
 * A crash between the provider's acceptance and `sent` leaves the row `sending`;
 * the retry sends again under the same Message-ID, which the receiver dedupes.
 */
import { Type } from 'typebox';
import { defineJob } from '../jobs/catalogue.ts';
import { claimSend, markSendSent, recordSendError } from './sends.repository.ts';

export const sendNotificationJob = defineJob({
  name: 'send-notification',
  payload: Type.Object(
    { send_id: Type.String({ format: 'uuid' }) },
    { additionalProperties: false },
  ),
  priority: 'interactive',
  // Retries wait up to 30 s, 1 min, 2 min … at most an hour (jittered), so ten
  // attempts span up to about three hours: an SMTP server down for maintenance
  // does not lose the message, and a dead one fails it the same afternoon.
  maxAttempts: 10,
  backoff: { baseMs: 30_000, maxMs: 3_600_000 },
  async run({ send_id }, { db, log, notificationProviders, attempt, maxAttempts }) {
    const send = await claimSend(db, send_id);
    if (!send) {
      log.debug({ send_id }, 'notification send already sent or gone: nothing to do');
      return;
    }
    const fields = {
      send_id,
      user_id: send.user_id,
      channel: send.channel,
      send_attempt: send.attempts,
      message_id: send.message_id,
    };
    log.info(fields, 'notification send attempt');
    try {
      await notificationProviders.byChannel[send.channel].send({
        idempotencyKey: send.message_id,
        to: send.recipient,
        subject: send.subject,
        text: send.body,
      });
    } catch (error) {
      const final = attempt >= maxAttempts;
      const message = error instanceof Error ? error.message : String(error);
      await recordSendError(db, send_id, message, final);
      log.warn({ ...fields, err: error, final }, 'notification send attempt failed');
      // Thrown, so the queue retries with backoff, or keeps the job as failed after the last.
      throw error;
    }
    await markSendSent(db, send_id);
    log.info(fields, 'notification sent');
  },
});
