/**
 * What an event sets in motion beyond its webhook deliveries (those are queued
 * by the statement that inserts the event, event-log.ts), in the event's own
 * transaction (ADR 0017): the notifications it causes.
 */
import type { Trx } from '../db/database.ts';
import { queueEventNotifications } from '../notifications/event-job.ts';
import type { StoredEvent } from './event-log.ts';

export async function queueSideEffects(trx: Trx, event: StoredEvent): Promise<void> {
  await queueEventNotifications(trx, event);
}
