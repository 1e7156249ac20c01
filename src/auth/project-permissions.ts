import { type SelectQueryBuilder, sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { DB, ProjectRole, Role, Visibility } from '../db/types.ts';
import { AppError } from '../http/problems.ts';
import { noteTeam } from '../observability/work-scope.ts';

/**
 * What a user may do inside a project. A team-visible project gives every team
 * member their team role (owner and admin act as admin); a private project is
 * seen only by its own members, with their project role, and by team owners,
 * who administer everything in their team.
 */
const minimumProjectRole = {
  'project.read': 'viewer',
  'task.read': 'viewer',
  'task.write': 'member',
  'comment.write': 'member',
  /** Edit or delete other people's comments. */
  'comment.moderate': 'admin',
  'project.update': 'admin',
  'project.manage_members': 'admin',
} as const satisfies Record<string, ProjectRole>;

export type ProjectAction = keyof typeof minimumProjectRole;

const rank: Record<ProjectRole, number> = { viewer: 0, member: 1, admin: 2 };

export function projectRoleAllows(role: ProjectRole, action: ProjectAction): boolean {
  return rank[role] >= rank[minimumProjectRole[action]];
}

export function effectiveProjectRole(
  visibility: Visibility,
  teamRole: Role,
  projectRole: ProjectRole | null,
): ProjectRole | undefined {
  if (teamRole === 'owner') return 'admin';
  if (visibility === 'private') return projectRole ?? undefined;
  return teamRole === 'admin' ? 'admin' : teamRole;
}

export interface ProjectAccess {
  readonly projectId: string;
  readonly teamId: string;
  readonly role: ProjectRole;
  readonly archived: boolean;
}

/** A project row joined with the caller's team and project memberships. */
export interface MembershipRow {
  readonly project_id: string;
  readonly team_id: string;
  readonly visibility: Visibility;
  readonly archived_at: Date | null;
  /** Null when the caller is not in the project's team. */
  readonly team_role: Role | null;
  readonly project_role: ProjectRole | null;
}

/** The access a membership row gives, or undefined when the project is invisible to the caller. */
export function accessFromMembership(row: MembershipRow): ProjectAccess | undefined {
  if (row.team_role === null) return undefined;
  const role = effectiveProjectRole(row.visibility, row.team_role, row.project_role);
  if (role === undefined) return undefined;
  return {
    projectId: row.project_id,
    teamId: row.team_id,
    role,
    archived: row.archived_at !== null,
  };
}

/** 404 when `access` is undefined (invisible), 403 when its role may not take `action`. */
export function assertProjectAction(
  access: ProjectAccess | undefined,
  action: ProjectAction,
  notFound: () => AppError = () => new AppError('not_found', 'project not found'),
): ProjectAccess {
  if (!access) throw notFound();
  noteTeam(access.teamId);
  if (!projectRoleAllows(access.role, action)) {
    throw new AppError(
      'forbidden',
      `your role in this project (${access.role}) does not allow this`,
    );
  }
  return access;
}

/** The caller's access to each of `projectIds` they can see, in one query. */
export async function projectAccess(
  db: Db | Trx,
  userId: string,
  projectIds: readonly string[],
): Promise<Map<string, ProjectAccess>> {
  if (projectIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('projects as p')
    .innerJoin('team_members as tm', (join) =>
      join.onRef('tm.team_id', '=', 'p.team_id').on('tm.user_id', '=', userId),
    )
    .leftJoin('project_members as pm', (join) =>
      join.onRef('pm.project_id', '=', 'p.id').on('pm.user_id', '=', userId),
    )
    .select([
      'p.id as project_id',
      'p.team_id',
      'p.visibility',
      'p.archived_at',
      'tm.role as team_role',
      'pm.role as project_role',
    ])
    .where('p.id', 'in', projectIds)
    .execute();
  const access = new Map<string, ProjectAccess>();
  for (const row of rows) {
    const granted = accessFromMembership(row);
    if (granted) access.set(row.project_id, granted);
  }
  return access;
}

/**
 * The caller's access when they may take `action` in the project. A project they
 * cannot see is 404 (as if it did not exist); one they see but may not change, 403.
 */
export async function authorizeProject(
  db: Db | Trx,
  userId: string,
  projectId: string,
  action: ProjectAction,
  notFound?: () => AppError,
): Promise<ProjectAccess> {
  const access = (await projectAccess(db, userId, [projectId])).get(projectId);
  return assertProjectAction(access, action, notFound);
}

/**
 * The ids of every project the user can see, as a subquery for
 * `where('project_id', 'in', visibleProjectIds(db, userId))` in cross-project lists.
 */
export function visibleProjectIds(
  db: Db | Trx,
  userId: string,
): SelectQueryBuilder<DB, 'projects', { id: string }> {
  return db
    .selectFrom('projects')
    .select('projects.id')
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('team_members as tm')
          .select(sql`1`.as('one'))
          .whereRef('tm.team_id', '=', 'projects.team_id')
          .where('tm.user_id', '=', userId)
          .where((inner) =>
            inner.or([
              inner('projects.visibility', '=', 'team'),
              inner('tm.role', '=', 'owner'),
              inner.exists(
                inner
                  .selectFrom('project_members as pm')
                  .select(sql`1`.as('one'))
                  .whereRef('pm.project_id', '=', 'projects.id')
                  .where('pm.user_id', '=', userId),
              ),
            ]),
          ),
      ),
    );
}
