import type { Insertable, Updateable } from 'kysely';
import type { Db, Trx } from '../../db/database.ts';
import type { WebhookEndpoint, WebhookEndpointsTable } from '../../db/types.ts';

export function insertEndpoint(
  trx: Trx,
  endpoint: Insertable<WebhookEndpointsTable>,
): Promise<WebhookEndpoint> {
  return trx
    .insertInto('webhook_endpoints')
    .values(endpoint)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findEndpoint(db: Db | Trx, id: string): Promise<WebhookEndpoint | undefined> {
  return db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The endpoint, locked until the transaction ends: changes to it and its deliveries' outcomes queue. */
export function lockEndpoint(trx: Trx, id: string): Promise<WebhookEndpoint | undefined> {
  return trx
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/** A change made by a person: it bumps the version (the ETag), unlike delivery bookkeeping. */
export function updateEndpoint(
  trx: Trx,
  id: string,
  changes: Updateable<WebhookEndpointsTable>,
  at: Date,
): Promise<WebhookEndpoint> {
  return trx
    .updateTable('webhook_endpoints')
    .set((eb) => ({ ...changes, updated_at: at, version: eb('version', '+', 1) }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteEndpoint(trx: Trx, id: string): Promise<void> {
  await trx.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
}

/** A page of a team's endpoints, oldest first (keyset on the UUIDv7 id). */
export function listTeamEndpoints(
  db: Db,
  teamId: string,
  page: { after: string | undefined; limit: number },
): Promise<WebhookEndpoint[]> {
  let query = db.selectFrom('webhook_endpoints').selectAll().where('team_id', '=', teamId);
  if (page.after !== undefined) query = query.where('id', '>', page.after);
  return query.orderBy('id').limit(page.limit).execute();
}
