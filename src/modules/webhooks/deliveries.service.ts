import { authorizeTeam } from '../../auth/permissions.ts';
import type { Db } from '../../db/database.ts';
import type { WebhookAttempt, WebhookDelivery, WebhookDeliveryState } from '../../db/types.ts';
import type { CursorCodec } from '../../http/cursor.ts';
import { splitPage } from '../../http/pagination.ts';
import { AppError } from '../../http/problems.ts';
import {
  findEndpointDelivery,
  listAttempts,
  listEndpointDeliveries,
  updateDelivery,
} from '../../webhooks/deliveries.repository.ts';
import { scheduleDelivery } from '../../webhooks/delivery-queue.ts';
import { findEndpoint, lockEndpoint } from './webhooks.repository.ts';

async function authorizeEndpoint(db: Db, userId: string, webhookId: string) {
  const endpoint = await findEndpoint(db, webhookId);
  if (!endpoint) throw new AppError('not_found', 'webhook not found');
  await authorizeTeam(db, userId, endpoint.team_id, 'webhook.manage');
  return endpoint;
}

export async function listDeliveries(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  webhookId: string,
  query: { limit: number; cursor?: string; state?: WebhookDeliveryState },
): Promise<{ deliveries: WebhookDelivery[]; nextCursor: string | null }> {
  await authorizeEndpoint(db, userId, webhookId);
  const binding = { list: 'webhook-deliveries', webhookId, state: query.state ?? null };
  const before = query.cursor ? String(cursors.decode(query.cursor, binding)[0]) : undefined;
  const rows = await listEndpointDeliveries(db, webhookId, {
    before,
    limit: query.limit + 1,
    state: query.state,
  });
  const { items, last, hasMore } = splitPage(rows, query.limit);
  return {
    deliveries: items,
    nextCursor: hasMore && last ? cursors.encode(binding, [last.id]) : null,
  };
}

export async function getDelivery(
  db: Db,
  userId: string,
  webhookId: string,
  deliveryId: string,
): Promise<{ delivery: WebhookDelivery; attempts: WebhookAttempt[] }> {
  await authorizeEndpoint(db, userId, webhookId);
  const delivery = await findEndpointDelivery(db, webhookId, deliveryId);
  if (!delivery) throw new AppError('not_found', 'delivery not found');
  return { delivery, attempts: await listAttempts(db, deliveryId) };
}

/**
 * Tries a delivery again now, with its original `webhook-id`. A pending one
 * skips the rest of its wait and keeps its schedule; a finished one (failed, or
 * even succeeded: a receiver that lost it) gets one more attempt.
 */
export async function retryDelivery(
  db: Db,
  userId: string,
  webhookId: string,
  deliveryId: string,
): Promise<WebhookDelivery> {
  return db.transaction().execute(async (trx) => {
    const endpoint = await lockEndpoint(trx, webhookId);
    if (!endpoint) throw new AppError('not_found', 'webhook not found');
    await authorizeTeam(trx, userId, endpoint.team_id, 'webhook.manage');
    if (endpoint.disabled_at !== null) {
      throw new AppError('conflict', 'the webhook is disabled: enable it first (PATCH status)');
    }
    const delivery = await findEndpointDelivery(trx, webhookId, deliveryId);
    if (!delivery) throw new AppError('not_found', 'delivery not found');
    const now = new Date();
    const updated = await updateDelivery(trx, deliveryId, {
      state: 'pending',
      next_attempt_at: now,
      completed_at: null,
    });
    await scheduleDelivery(
      trx,
      { delivery_id: deliveryId, manual: delivery.state !== 'pending' },
      now,
    );
    return updated;
  });
}
