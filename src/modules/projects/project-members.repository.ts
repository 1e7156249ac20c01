import { sql } from 'kysely';
import type { Db, Trx } from '../../db/database.ts';
import type { ProjectRole } from '../../db/types.ts';

export interface ProjectMemberRow {
  user_id: string;
  email: string;
  name: string;
  role: ProjectRole;
  joined_at: Date;
}

function membersOf(db: Db | Trx, projectId: string) {
  return db
    .selectFrom('project_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.user_id', 'u.email', 'u.name', 'm.role', 'm.joined_at'])
    .where('m.project_id', '=', projectId);
}

export function findProjectMember(
  db: Db | Trx,
  projectId: string,
  userId: string,
): Promise<ProjectMemberRow | undefined> {
  return membersOf(db, projectId).where('m.user_id', '=', userId).executeTakeFirst();
}

/**
 * Keyset on (joined_at, user_id): user_id breaks ties, so no member repeats across
 * pages. Served by the primary key (project_id, user_id) and a sort of one
 * project's members, which a member list keeps small.
 */
export function listProjectMembers(
  db: Db,
  projectId: string,
  page: { after: { joinedAt: Date; userId: string } | undefined; limit: number },
): Promise<ProjectMemberRow[]> {
  let query = membersOf(db, projectId);
  const after = page.after;
  if (after) {
    query = query.where(
      sql<boolean>`(m.joined_at, m.user_id) > (${after.joinedAt}, ${after.userId}::uuid)`,
    );
  }
  return query.orderBy('m.joined_at').orderBy('m.user_id').limit(page.limit).execute();
}

/** Fails with 23505 on `project_members_pkey` when the user is already a member. */
export async function insertProjectMember(
  trx: Trx,
  member: { project_id: string; user_id: string; role: ProjectRole; joined_at: Date },
): Promise<void> {
  await trx.insertInto('project_members').values(member).execute();
}

/** Makes the user an admin member, whatever they were before (or if they were not one). */
export async function upsertProjectAdmin(
  trx: Trx,
  projectId: string,
  userId: string,
  at: Date,
): Promise<void> {
  await trx
    .insertInto('project_members')
    .values({ project_id: projectId, user_id: userId, role: 'admin', joined_at: at })
    .onConflict((oc) => oc.columns(['project_id', 'user_id']).doUpdateSet({ role: 'admin' }))
    .execute();
}

export async function updateProjectMemberRole(
  trx: Trx,
  projectId: string,
  userId: string,
  role: ProjectRole,
): Promise<void> {
  await trx
    .updateTable('project_members')
    .set({ role })
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .execute();
}

export async function deleteProjectMember(
  trx: Trx,
  projectId: string,
  userId: string,
): Promise<void> {
  await trx
    .deleteFrom('project_members')
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .execute();
}

/** Drops the whole member list, returning who was on it. */
export function deleteAllProjectMembers(
  trx: Trx,
  projectId: string,
): Promise<{ user_id: string; role: ProjectRole }[]> {
  return trx
    .deleteFrom('project_members')
    .where('project_id', '=', projectId)
    .returning(['user_id', 'role'])
    .execute();
}

/**
 * Drops a user from every private project of a team, as they leave the team: left
 * behind, the rows would silently give access back if the user rejoined.
 */
export function deleteMembershipsInTeam(
  trx: Trx,
  teamId: string,
  userId: string,
): Promise<{ project_id: string; role: ProjectRole }[]> {
  return trx
    .deleteFrom('project_members')
    .where('user_id', '=', userId)
    .where('project_id', 'in', (eb) =>
      eb.selectFrom('projects').select('id').where('team_id', '=', teamId),
    )
    .returning(['project_id', 'role'])
    .execute();
}
