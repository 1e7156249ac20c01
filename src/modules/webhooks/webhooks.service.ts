import { authorizeTeam } from '../../auth/permissions.ts';
import type { Db, Trx } from '../../db/database.ts';
import type { WebhookEndpoint } from '../../db/types.ts';
import { appendEvent, diffFields, EVENT_TYPES } from '../../events/event-log.ts';
import type { CursorCodec } from '../../http/cursor.ts';
import { assertIfMatch, type IfMatch } from '../../http/etag.ts';
import { splitPage } from '../../http/pagination.ts';
import { AppError, invalidField } from '../../http/problems.ts';
import { uuidv7 } from '../../lib/ids.ts';
import { failPendingDeliveries } from '../../webhooks/deliveries.repository.ts';
import { generateWebhookSecret } from '../../webhooks/signing.ts';
import { checkTargetUrl } from '../../webhooks/target-url.ts';
import {
  deleteEndpoint,
  findEndpoint,
  insertEndpoint,
  listTeamEndpoints,
  lockEndpoint,
  updateEndpoint,
} from './webhooks.repository.ts';

const SUBJECTS = new Set(EVENT_TYPES.map((type) => type.slice(0, type.indexOf('.'))));
const KNOWN_TYPES = new Set<string>(EVENT_TYPES);

/** Each pattern must name a real event type or subject: a typo would silently receive nothing. */
function checkEventPatterns(patterns: readonly string[]): string[] {
  patterns.forEach((pattern, index) => {
    const [subject, verb] = pattern.split('.');
    const known =
      pattern === '*' || (verb === '*' ? SUBJECTS.has(subject!) : KNOWN_TYPES.has(pattern));
    if (!known) throw invalidField(`/events/${index}`, `is not an event type: ${pattern}`);
  });
  return [...patterns];
}

/** The endpoint, for an owner of its team; 404 for non-members, 403 for other roles. */
async function authorizedEndpoint(
  db: Db | Trx,
  userId: string,
  webhookId: string,
  lock: boolean,
): Promise<WebhookEndpoint> {
  const endpoint = lock
    ? await lockEndpoint(db as Trx, webhookId)
    : await findEndpoint(db, webhookId);
  if (!endpoint) throw new AppError('not_found', 'webhook not found');
  await authorizeTeam(db, userId, endpoint.team_id, 'webhook.manage');
  return endpoint;
}

function eventOf(endpoint: WebhookEndpoint, actorId: string | null) {
  return { teamId: endpoint.team_id, projectId: null, actorId, subjectId: endpoint.id };
}

export interface WebhookInput {
  readonly url: string;
  readonly events: readonly string[];
  readonly description?: string;
}

export interface WebhookSettings {
  readonly allowPrivateTargets: boolean;
}

/** A new endpoint and its secret, which the caller sees this once. */
export async function createWebhook(
  db: Db,
  settings: WebhookSettings,
  userId: string,
  teamId: string,
  input: WebhookInput,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  // Before the URL check: its DNS lookup is not for callers who may not create one.
  await authorizeTeam(db, userId, teamId, 'webhook.manage');
  const eventTypes = checkEventPatterns(input.events);
  const url = await checkTargetUrl(input.url, settings.allowPrivateTargets);
  const secret = generateWebhookSecret();
  const endpoint = await db.transaction().execute(async (trx) => {
    const now = new Date();
    const created = await insertEndpoint(trx, {
      id: uuidv7(),
      team_id: teamId,
      url,
      description: input.description ?? '',
      event_types: eventTypes,
      secret,
      created_by: userId,
      created_at: now,
      updated_at: now,
    });
    await appendEvent(trx, {
      ...eventOf(created, userId),
      type: 'webhook_endpoint.created',
      data: { url: created.url, events: created.event_types },
    });
    return created;
  });
  return { endpoint, secret };
}

export async function listWebhooks(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  teamId: string,
  page: { limit: number; cursor?: string },
): Promise<{ endpoints: WebhookEndpoint[]; nextCursor: string | null }> {
  await authorizeTeam(db, userId, teamId, 'webhook.manage');
  const binding = { list: 'webhooks', teamId };
  const after = page.cursor ? String(cursors.decode(page.cursor, binding)[0]) : undefined;
  const rows = await listTeamEndpoints(db, teamId, { after, limit: page.limit + 1 });
  const { items, last, hasMore } = splitPage(rows, page.limit);
  return {
    endpoints: items,
    nextCursor: hasMore && last ? cursors.encode(binding, [last.id]) : null,
  };
}

export function getWebhook(db: Db, userId: string, webhookId: string): Promise<WebhookEndpoint> {
  return authorizedEndpoint(db, userId, webhookId, false);
}

export interface WebhookPatch {
  readonly url?: string;
  readonly events?: readonly string[];
  readonly description?: string;
  readonly status?: 'enabled' | 'disabled';
}

/**
 * JSON Merge Patch. Enabling a disabled endpoint starts it afresh (no failures,
 * circuit closed); disabling fails its pending deliveries, which an owner can
 * retry once it is enabled again.
 */
export async function patchWebhook(
  db: Db,
  settings: WebhookSettings,
  userId: string,
  webhookId: string,
  patch: WebhookPatch,
  ifMatch: IfMatch | undefined,
): Promise<WebhookEndpoint> {
  const eventTypes = patch.events === undefined ? undefined : checkEventPatterns(patch.events);
  const url =
    patch.url === undefined
      ? undefined
      : await checkTargetUrl(patch.url, settings.allowPrivateTargets);
  return db.transaction().execute(async (trx) => {
    const endpoint = await authorizedEndpoint(trx, userId, webhookId, true);
    assertIfMatch(ifMatch, endpoint.version);
    const wasEnabled = endpoint.disabled_at === null;
    const enabling = patch.status === 'enabled' && !wasEnabled;
    const disabling = patch.status === 'disabled' && wasEnabled;
    const changes = diffFields(
      { url: endpoint.url, events: endpoint.event_types, description: endpoint.description },
      { url, events: eventTypes, description: patch.description },
    );
    if (Object.keys(changes).length === 0 && !enabling && !disabling) return endpoint;
    const now = new Date();
    const updated = await updateEndpoint(
      trx,
      webhookId,
      {
        url,
        event_types: eventTypes,
        description: patch.description,
        ...(enabling
          ? {
              disabled_at: null,
              disabled_reason: null,
              consecutive_failures: 0,
              circuit_open_until: null,
            }
          : {}),
        ...(disabling ? { disabled_at: now, disabled_reason: 'manual' as const } : {}),
      },
      now,
    );
    if (disabling) await failPendingDeliveries(trx, webhookId, 'endpoint disabled');
    if (enabling || disabling) {
      changes.status = { before: wasEnabled ? 'enabled' : 'disabled', after: patch.status };
    }
    await appendEvent(trx, {
      ...eventOf(updated, userId),
      type: 'webhook_endpoint.updated',
      data: { changes },
    });
    return updated;
  });
}

export async function removeWebhook(
  db: Db,
  userId: string,
  webhookId: string,
  ifMatch: IfMatch | undefined,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const endpoint = await authorizedEndpoint(trx, userId, webhookId, true);
    assertIfMatch(ifMatch, endpoint.version);
    await deleteEndpoint(trx, webhookId);
    await appendEvent(trx, {
      ...eventOf(endpoint, userId),
      type: 'webhook_endpoint.deleted',
      data: { url: endpoint.url },
    });
  });
}

/**
 * A new secret; the current one keeps signing beside it for `graceSeconds`, so a
 * receiver that has not switched yet still verifies every delivery.
 */
export async function rotateWebhookSecret(
  db: Db,
  userId: string,
  webhookId: string,
  graceSeconds: number,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const secret = generateWebhookSecret();
  const endpoint = await db.transaction().execute(async (trx) => {
    const current = await authorizedEndpoint(trx, userId, webhookId, true);
    const now = new Date();
    const keepsOld = graceSeconds > 0;
    const updated = await updateEndpoint(
      trx,
      webhookId,
      {
        secret,
        previous_secret: keepsOld ? current.secret : null,
        previous_secret_expires_at: keepsOld ? new Date(now.getTime() + graceSeconds * 1000) : null,
      },
      now,
    );
    await appendEvent(trx, {
      ...eventOf(updated, userId),
      type: 'webhook_endpoint.secret_rotated',
      data: {
        previous_secret_expires_at: updated.previous_secret_expires_at?.toISOString() ?? null,
      },
    });
    return updated;
  });
  return { endpoint, secret };
}
