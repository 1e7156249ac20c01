import { sql } from 'kysely';
import type { Db, Trx } from '../../db/database.ts';
import type { Role } from '../../db/types.ts';

export interface MemberRow {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  joined_at: Date;
}

function membersOf(db: Db | Trx, teamId: string) {
  return db
    .selectFrom('team_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.user_id', 'u.email', 'u.name', 'm.role', 'm.joined_at'])
    .where('m.team_id', '=', teamId);
}

export function findMember(
  db: Db | Trx,
  teamId: string,
  userId: string,
): Promise<MemberRow | undefined> {
  return membersOf(db, teamId).where('m.user_id', '=', userId).executeTakeFirst();
}

/** Keyset on (joined_at, user_id): user_id breaks ties, so no member repeats across pages. */
export function listMembers(
  db: Db,
  teamId: string,
  page: { after: { joinedAt: Date; userId: string } | undefined; limit: number },
): Promise<MemberRow[]> {
  let query = membersOf(db, teamId);
  const after = page.after;
  if (after) {
    query = query.where(
      sql<boolean>`(m.joined_at, m.user_id) > (${after.joinedAt}, ${after.userId}::uuid)`,
    );
  }
  return query.orderBy('m.joined_at').orderBy('m.user_id').limit(page.limit).execute();
}

export async function insertMember(
  trx: Trx,
  member: { team_id: string; user_id: string; role: Role; joined_at: Date },
): Promise<void> {
  await trx.insertInto('team_members').values(member).execute();
}

export async function updateMemberRole(
  trx: Trx,
  teamId: string,
  userId: string,
  role: Role,
): Promise<void> {
  await trx
    .updateTable('team_members')
    .set({ role })
    .where('team_id', '=', teamId)
    .where('user_id', '=', userId)
    .execute();
}

export async function deleteMember(trx: Trx, teamId: string, userId: string): Promise<void> {
  await trx
    .deleteFrom('team_members')
    .where('team_id', '=', teamId)
    .where('user_id', '=', userId)
    .execute();
}

export async function countOwners(trx: Trx, teamId: string): Promise<number> {
  const row = await trx
    .selectFrom('team_members')
    .select((eb) => eb.fn.countAll<number>().as('owners'))
    .where('team_id', '=', teamId)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow();
  return Number(row.owners);
}
