import { authorizeProject } from '../../auth/project-permissions.ts';
import type { Db, Trx } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import type { Project, ProjectRole } from '../../db/types.ts';
import type { CursorCodec } from '../../http/cursor.ts';
import { splitPage } from '../../http/pagination.ts';
import { AppError, invalidField } from '../../http/problems.ts';
import { findUserByEmail } from '../accounts/users.repository.ts';
import { findMember } from '../teams/members.repository.ts';
import { projectArchived } from './project-changes.service.ts';
import { appendProjectMemberEvent } from './project-events.ts';
import {
  deleteProjectMember,
  findProjectMember,
  insertProjectMember,
  listProjectMembers,
  type ProjectMemberRow,
  updateProjectMemberRole,
} from './project-members.repository.ts';
import { findProject, lockProject } from './projects.repository.ts';
import { projectNotFound } from './projects.service.ts';

const memberNotFound = () => new AppError('not_found', 'project member not found');

/** A team project takes its roles from the team: it has no member list to manage. */
function assertPrivate(project: Project): void {
  if (project.visibility !== 'private') {
    throw new AppError(
      'conflict',
      'team projects have no member list of their own: everyone in the team has their team role',
    );
  }
}

/**
 * A change to the member list of a project the caller can see, with the project
 * row locked: member changes and visibility changes to one project run one after
 * the other, so a member is never added to a project that just turned team-wide.
 */
async function changeMembers<T>(
  db: Db,
  actorId: string,
  projectId: string,
  work: (trx: Trx, project: Project) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const project = await lockProject(trx, projectId);
    if (!project) throw projectNotFound();
    await authorizeProject(trx, actorId, projectId, 'project.read');
    return work(trx, project);
  });
}

/** Checks what every member write needs, once the caller is known to see the project. */
function assertWritable(project: Project): void {
  assertPrivate(project);
  if (project.archived_at !== null) throw projectArchived();
}

export async function listMembersOfProject(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  projectId: string,
  page: { limit: number; cursor?: string },
): Promise<{ members: ProjectMemberRow[]; nextCursor: string | null }> {
  await authorizeProject(db, userId, projectId, 'project.read');
  const project = await findProject(db, projectId);
  if (!project) throw projectNotFound();
  assertPrivate(project);
  const binding = { list: 'project_members', projectId };
  const position = page.cursor ? cursors.decode(page.cursor, binding) : undefined;
  const after = position
    ? { joinedAt: new Date(String(position[0])), userId: String(position[1]) }
    : undefined;
  const rows = await listProjectMembers(db, projectId, { after, limit: page.limit + 1 });
  const { items, last, hasMore } = splitPage(rows, page.limit);
  const nextCursor =
    hasMore && last ? cursors.encode(binding, [last.joined_at.toISOString(), last.user_id]) : null;
  return { members: items, nextCursor };
}

export async function getProjectMember(
  db: Db,
  actorId: string,
  projectId: string,
  userId: string,
): Promise<ProjectMemberRow> {
  await authorizeProject(db, actorId, projectId, 'project.read');
  const project = await findProject(db, projectId);
  if (!project) throw projectNotFound();
  assertPrivate(project);
  const member = await findProjectMember(db, projectId, userId);
  if (!member) throw memberNotFound();
  return member;
}

/** Adds a member of the project's team, found by email, to a private project. */
export async function addProjectMember(
  db: Db,
  actorId: string,
  projectId: string,
  input: { email: string; role: ProjectRole },
): Promise<ProjectMemberRow> {
  try {
    return await changeMembers(db, actorId, projectId, async (trx, project) => {
      await authorizeProject(trx, actorId, projectId, 'project.manage_members');
      assertWritable(project);
      const user = await findUserByEmail(trx, input.email);
      // One answer for "no such account" and "not in the team": the project's
      // admins learn nothing about accounts outside their team.
      if (!user || !(await findMember(trx, project.team_id, user.id))) {
        throw invalidField('/email', 'must be the email of a member of the project’s team');
      }
      await insertProjectMember(trx, {
        project_id: projectId,
        user_id: user.id,
        role: input.role,
        joined_at: new Date(),
      });
      await appendProjectMemberEvent(trx, project, 'project_member.added', actorId, user.id, {
        role: input.role,
      });
      return (await findProjectMember(trx, projectId, user.id))!;
    });
  } catch (error) {
    if (isUniqueViolation(error, 'project_members_pkey')) {
      throw new AppError('conflict', 'this user is already a member of the project');
    }
    throw error;
  }
}

export async function changeProjectMemberRole(
  db: Db,
  actorId: string,
  projectId: string,
  userId: string,
  role: ProjectRole,
): Promise<ProjectMemberRow> {
  return changeMembers(db, actorId, projectId, async (trx, project) => {
    await authorizeProject(trx, actorId, projectId, 'project.manage_members');
    assertWritable(project);
    const member = await findProjectMember(trx, projectId, userId);
    if (!member) throw memberNotFound();
    if (member.role === role) return member;
    await updateProjectMemberRole(trx, projectId, userId, role);
    await appendProjectMemberEvent(trx, project, 'project_member.role_changed', actorId, userId, {
      changes: { role: { before: member.role, after: role } },
    });
    return { ...member, role };
  });
}

/**
 * Removes a member; any member may remove themself (leave). No "last admin"
 * rule: team owners administer every project of their team, so a private
 * project is never left without someone who can manage it.
 */
export async function removeProjectMember(
  db: Db,
  actorId: string,
  projectId: string,
  userId: string,
): Promise<void> {
  await changeMembers(db, actorId, projectId, async (trx, project) => {
    if (userId !== actorId) {
      await authorizeProject(trx, actorId, projectId, 'project.manage_members');
    }
    assertWritable(project);
    const member = await findProjectMember(trx, projectId, userId);
    if (!member) throw memberNotFound();
    await deleteProjectMember(trx, projectId, userId);
    await appendProjectMemberEvent(trx, project, 'project_member.removed', actorId, userId, {
      role: member.role,
    });
  });
}
