import type { Trx } from '../../db/database.ts';
import type { Project } from '../../db/types.ts';
import { appendEvent, type EventType } from '../../events/event-log.ts';

/**
 * Events about a project or its member list. They carry the project id, so the
 * events of a private project are shown only to those who can see it.
 */
export function appendProjectEvent(
  trx: Trx,
  project: Project,
  type: Extract<EventType, `project.${string}`>,
  actorId: string,
  data: Record<string, unknown>,
): Promise<void> {
  return appendEvent(trx, {
    teamId: project.team_id,
    projectId: project.id,
    type,
    actorId,
    subjectId: project.id,
    data,
  });
}

/** The subject of a membership event is the member; the data names both ids. */
export function appendProjectMemberEvent(
  trx: Trx,
  project: Pick<Project, 'id' | 'team_id'>,
  type: Extract<EventType, `project_member.${string}`>,
  actorId: string,
  userId: string,
  data: Record<string, unknown>,
): Promise<void> {
  return appendEvent(trx, {
    teamId: project.team_id,
    projectId: project.id,
    type,
    actorId,
    subjectId: userId,
    data: { project_id: project.id, user_id: userId, ...data },
  });
}
