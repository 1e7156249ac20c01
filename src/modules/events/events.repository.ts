import { sql } from 'kysely';
import { visibleProjectIds } from '../../auth/project-permissions.ts';
import type { Db } from '../../db/database.ts';
import type { Event } from '../../db/types.ts';

export interface EventFilters {
  /** An exact type, or a prefix ending with a dot (`task.`). */
  readonly type?: string;
  readonly projectId?: string;
  readonly subjectId?: string;
}

/**
 * A page of a team's events that `userId` may see, newest first: team-level events
 * and those of projects they can see (a private project's events stay private).
 * Keyset on id alone: ids are UUIDv7, unique and in time order. Served by
 * events_team_id_idx, or events_project_id_idx / events_subject_id_idx when
 * filtered by project or subject.
 */
export function listTeamEvents(
  db: Db,
  userId: string,
  teamId: string,
  filters: EventFilters,
  page: { before: string | undefined; limit: number },
): Promise<Event[]> {
  const visible = visibleProjectIds(db, userId).where('projects.team_id', '=', teamId);
  let query = db
    .selectFrom('events')
    .selectAll()
    .where('team_id', '=', teamId)
    .where((eb) => eb.or([eb('project_id', 'is', null), eb('project_id', 'in', visible)]));
  const { type, projectId, subjectId } = filters;
  if (type !== undefined) {
    // starts_with, not LIKE: `_` in `project_member.` is a LIKE wildcard.
    query = type.endsWith('.')
      ? query.where(sql<boolean>`starts_with(type, ${type})`)
      : query.where('type', '=', type);
  }
  if (projectId !== undefined) query = query.where('project_id', '=', projectId);
  if (subjectId !== undefined) query = query.where('subject_id', '=', subjectId);
  if (page.before !== undefined) query = query.where('id', '<', page.before);
  return query.orderBy('id', 'desc').limit(page.limit).execute();
}
