import type { Db, Trx } from '../db/database.ts';
import type { Role } from '../db/types.ts';
import { AppError } from '../http/problems.ts';
import { noteTeam } from '../observability/work-scope.ts';

/**
 * Every question "may this user do X in this team?" is answered here, and only here.
 * Each action names the least powerful role that may take it.
 */
const minimumRole = {
  'team.read': 'viewer',
  'team.update': 'admin',
  'team.change_plan': 'owner',
  'team.delete': 'owner',
  'project.create': 'admin',
  'member.list': 'viewer',
  'member.manage': 'admin',
  /** Granting, changing or taking away the owner role. */
  'member.manage_owner': 'owner',
  /**
   * Webhooks receive every event of the team, private projects' included, so only
   * those who see every project (owners, ADR 0008) may point one somewhere.
   */
  'webhook.manage': 'owner',
} as const satisfies Record<string, Role>;

export type TeamAction = keyof typeof minimumRole;

const rank: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export function roleAllows(role: Role, action: TeamAction): boolean {
  return rank[role] >= rank[minimumRole[action]];
}

/** The caller's role in each of `teamIds` they belong to; absent means not a member. */
export async function teamRoles(
  db: Db | Trx,
  userId: string,
  teamIds: readonly string[],
): Promise<Map<string, Role>> {
  if (teamIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('team_members')
    .select(['team_id', 'role'])
    .where('user_id', '=', userId)
    .where('team_id', 'in', teamIds)
    .execute();
  return new Map(rows.map((row) => [row.team_id, row.role]));
}

/** Of `teamIds`, the ones where the user may take `action`, in one query. */
export async function teamsAllowing(
  db: Db | Trx,
  userId: string,
  teamIds: readonly string[],
  action: TeamAction,
): Promise<Set<string>> {
  const roles = await teamRoles(db, userId, teamIds);
  return new Set([...roles].filter(([, role]) => roleAllows(role, action)).map(([id]) => id));
}

/**
 * The caller's role when they may take `action` in the team. A non-member gets 404
 * (the team's existence does not leak); a member without the right gets 403.
 */
export async function authorizeTeam(
  db: Db | Trx,
  userId: string,
  teamId: string,
  action: TeamAction,
): Promise<Role> {
  const role = (await teamRoles(db, userId, [teamId])).get(teamId);
  if (role === undefined) throw new AppError('not_found', 'team not found');
  noteTeam(teamId);
  if (!roleAllows(role, action)) {
    throw new AppError('forbidden', `your role (${role}) may not do this (${action})`);
  }
  return role;
}
