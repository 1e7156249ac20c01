import type { Db, Trx } from '../../db/database.ts';
import type { Plan, Role, Team } from '../../db/types.ts';

export async function insertTeam(
  trx: Trx,
  team: { id: string; name: string; created_at: Date; updated_at: Date },
): Promise<Team> {
  return trx.insertInto('teams').values(team).returningAll().executeTakeFirstOrThrow();
}

export function findTeam(db: Db | Trx, id: string): Promise<Team | undefined> {
  return db.selectFrom('teams').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * The team row, locked until the transaction ends: membership changes queue behind
 * it. FOR NO KEY UPDATE, not FOR UPDATE: inserts that reference the team (events,
 * projects) only need a KEY SHARE lock, and must not wait on a membership change.
 */
export function lockTeam(trx: Trx, id: string): Promise<Team | undefined> {
  return trx
    .selectFrom('teams')
    .selectAll()
    .where('id', '=', id)
    .forNoKeyUpdate()
    .executeTakeFirst();
}

export function updateTeam(
  trx: Trx,
  id: string,
  changes: { name?: string; plan?: Plan },
  at: Date,
): Promise<Team> {
  return trx
    .updateTable('teams')
    .set((eb) => ({ ...changes, updated_at: at, version: eb('version', '+', 1) }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteTeam(trx: Trx, id: string): Promise<void> {
  await trx.deleteFrom('teams').where('id', '=', id).execute();
}

/**
 * A page of the teams `userId` belongs to, oldest first. Ids are UUIDv7, so id
 * order is creation order, and the keyset is the id alone; served by the index
 * on team_members (user_id, team_id).
 */
export function listTeamsOfUser(
  db: Db,
  userId: string,
  page: { after: string | undefined; limit: number },
): Promise<(Team & { role: Role })[]> {
  let query = db
    .selectFrom('team_members as m')
    .innerJoin('teams as t', 't.id', 'm.team_id')
    .selectAll('t')
    .select('m.role')
    .where('m.user_id', '=', userId);
  if (page.after !== undefined) query = query.where('m.team_id', '>', page.after);
  return query.orderBy('m.team_id').limit(page.limit).execute();
}
