import { authorizeProject } from '../../auth/project-permissions.ts';
import type { Db, Trx } from '../../db/database.ts';
import type { Project, Visibility } from '../../db/types.ts';
import { diffFields } from '../../events/event-log.ts';
import { assertIfMatch, type IfMatch } from '../../http/etag.ts';
import { AppError } from '../../http/problems.ts';
import { appendProjectEvent, appendProjectMemberEvent } from './project-events.ts';
import { deleteAllProjectMembers, insertProjectMember } from './project-members.repository.ts';
import { lockProject, type ProjectChanges, updateProject } from './projects.repository.ts';
import { cleanProjectName, projectNotFound, withKeyConflict } from './projects.service.ts';

/** What PUT and PATCH may change. PATCH's `description: null` clears it. */
export interface ProjectEdit {
  name?: string;
  key?: string;
  description?: string | null;
  visibility?: Visibility;
}

export const projectArchived = () =>
  new AppError('conflict', 'the project is archived: unarchive it before changing it');

/**
 * The project locked for a change by a project admin, once the If-Match holds:
 * 404 if the caller cannot see it, 403 if they may not administer it, 412 if stale.
 */
async function lockForAdmin(
  trx: Trx,
  userId: string,
  projectId: string,
  ifMatch: IfMatch | undefined,
): Promise<Project> {
  const project = await lockProject(trx, projectId);
  if (!project) throw projectNotFound();
  await authorizeProject(trx, userId, projectId, 'project.update');
  assertIfMatch(ifMatch, project.version);
  return project;
}

/**
 * PUT (every field) and PATCH (some). Only fields whose value differs count: a
 * change to nothing keeps version, ETag and updated_at, and writes no event.
 */
export async function editProject(
  db: Db,
  userId: string,
  projectId: string,
  edit: ProjectEdit,
  ifMatch: IfMatch | undefined,
): Promise<Project> {
  const wanted: ProjectChanges = {
    name: edit.name === undefined ? undefined : cleanProjectName(edit.name),
    key: edit.key,
    description: edit.description === null ? '' : edit.description,
    visibility: edit.visibility,
  };
  return withKeyConflict(() =>
    db.transaction().execute(async (trx) => {
      const project = await lockForAdmin(trx, userId, projectId, ifMatch);
      if (project.archived_at !== null) throw projectArchived();
      const changes = diffFields<ProjectChanges>(project, wanted);
      if (Object.keys(changes).length === 0) return project;
      const changed = Object.fromEntries(
        Object.entries(changes).map(([field, { after }]) => [field, after]),
      ) as ProjectChanges;
      const now = new Date();
      const updated = await updateProject(trx, projectId, changed, now);
      await appendProjectEvent(trx, updated, 'project.updated', userId, { changes });
      if (changed.visibility !== undefined) await resetMemberList(trx, updated, userId, now);
      return updated;
    }),
  );
}

/**
 * A change of visibility starts the member list afresh. To team: the list goes,
 * as a team project takes its roles from the team and a list left behind would
 * silently grant access again if the project turned private later. To private:
 * the admin who made the change becomes its admin member, so they keep the
 * project they just closed (a team admin sees a private project only as a member).
 */
async function resetMemberList(trx: Trx, project: Project, actorId: string, at: Date) {
  for (const member of await deleteAllProjectMembers(trx, project.id)) {
    await appendProjectMemberEvent(
      trx,
      project,
      'project_member.removed',
      actorId,
      member.user_id,
      {
        role: member.role,
      },
    );
  }
  if (project.visibility === 'private') {
    await insertProjectMember(trx, {
      project_id: project.id,
      user_id: actorId,
      role: 'admin',
      joined_at: at,
    });
    await appendProjectMemberEvent(trx, project, 'project_member.added', actorId, actorId, {
      role: 'admin',
    });
  }
}

/** DELETE: archives. Archiving an archived project changes nothing (idempotent). */
export async function archiveProject(
  db: Db,
  userId: string,
  projectId: string,
  ifMatch: IfMatch | undefined,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const project = await lockForAdmin(trx, userId, projectId, ifMatch);
    if (project.archived_at !== null) return;
    const now = new Date();
    const updated = await updateProject(trx, projectId, { archived_at: now }, now);
    await appendProjectEvent(trx, updated, 'project.archived', userId, {
      archived_at: now.toISOString(),
    });
  });
}

/** Brings an archived project back; unarchiving an active one changes nothing. */
export async function unarchiveProject(
  db: Db,
  userId: string,
  projectId: string,
  ifMatch: IfMatch | undefined,
): Promise<Project> {
  return db.transaction().execute(async (trx) => {
    const project = await lockForAdmin(trx, userId, projectId, ifMatch);
    if (project.archived_at === null) return project;
    const now = new Date();
    const updated = await updateProject(trx, projectId, { archived_at: null }, now);
    await appendProjectEvent(trx, updated, 'project.unarchived', userId, {
      archived_at: project.archived_at.toISOString(),
    });
    return updated;
  });
}
