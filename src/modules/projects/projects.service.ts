import { authorizeTeam } from '../../auth/permissions.ts';
import { authorizeProject } from '../../auth/project-permissions.ts';
import type { Db } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import type { Project, Visibility } from '../../db/types.ts';
import type { CursorCodec } from '../../http/cursor.ts';
import { splitPage } from '../../http/pagination.ts';
import { AppError, invalidField } from '../../http/problems.ts';
import { uuidv7 } from '../../lib/ids.ts';
import { appendProjectEvent, appendProjectMemberEvent } from './project-events.ts';
import { insertProjectMember } from './project-members.repository.ts';
import { findProject, insertProject, listVisibleProjects } from './projects.repository.ts';
import { presentProject } from './projects.schemas.ts';

export const projectNotFound = () => new AppError('not_found', 'project not found');

export function cleanProjectName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '') throw invalidField('/name', 'must not be blank');
  return trimmed;
}

/**
 * Runs `work` (a whole transaction) and turns a taken key into 409. The unique
 * index decides, not a look-up first: two racing creates cannot both pass a
 * check, and the index's SQLSTATE names the loser. Caught outside the
 * transaction, which the failed statement has aborted.
 */
export async function withKeyConflict<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error, 'projects_team_key_key')) {
      throw new AppError('conflict', 'another project of this team already has this key');
    }
    throw error;
  }
}

/**
 * A new project and its `project.created` event; it takes a team admin or owner
 * (a non-member gets 404). A private project starts with its creator as its admin
 * member, or nobody but the team owners could see it.
 */
export async function createProject(
  db: Db,
  userId: string,
  teamId: string,
  input: { name: string; key: string; description?: string; visibility?: Visibility },
): Promise<Project> {
  const name = cleanProjectName(input.name);
  return withKeyConflict(() =>
    db.transaction().execute(async (trx) => {
      await authorizeTeam(trx, userId, teamId, 'project.create');
      const now = new Date();
      const project = await insertProject(trx, {
        id: uuidv7(now.getTime()),
        team_id: teamId,
        name,
        key: input.key,
        description: input.description ?? '',
        visibility: input.visibility ?? 'team',
        created_at: now,
        updated_at: now,
      });
      await appendProjectEvent(trx, project, 'project.created', userId, presentProject(project));
      if (project.visibility === 'private') {
        await insertProjectMember(trx, {
          project_id: project.id,
          user_id: userId,
          role: 'admin',
          joined_at: now,
        });
        await appendProjectMemberEvent(trx, project, 'project_member.added', userId, userId, {
          role: 'admin',
        });
      }
      return project;
    }),
  );
}

/** The team's projects the caller can see, active or archived ones, oldest first. */
export async function listProjects(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  teamId: string,
  query: { limit: number; cursor?: string; archived: boolean },
): Promise<{ projects: Project[]; nextCursor: string | null }> {
  await authorizeTeam(db, userId, teamId, 'team.read');
  const binding = { list: 'projects', teamId, archived: query.archived };
  const after = query.cursor ? String(cursors.decode(query.cursor, binding)[0]) : undefined;
  const rows = await listVisibleProjects(
    db,
    userId,
    teamId,
    { archived: query.archived },
    { after, limit: query.limit + 1 },
  );
  const { items, last, hasMore } = splitPage(rows, query.limit);
  return {
    projects: items,
    nextCursor: hasMore && last ? cursors.encode(binding, [last.id]) : null,
  };
}

/** One project the caller can see; archived ones included. */
export async function getProject(db: Db, userId: string, projectId: string): Promise<Project> {
  await authorizeProject(db, userId, projectId, 'project.read');
  const project = await findProject(db, projectId);
  if (!project) throw projectNotFound();
  return project;
}
