import { authorizeTeam } from '../../auth/permissions.ts';
import type { Db } from '../../db/database.ts';
import type { Event } from '../../db/types.ts';
import type { CursorCodec } from '../../http/cursor.ts';
import { splitPage } from '../../http/pagination.ts';
import { listTeamEvents } from './events.repository.ts';

export interface EventListQuery {
  limit: number;
  cursor?: string;
  type?: string;
  project_id?: string;
  subject_id?: string;
}

/**
 * A page of the team's event log, newest first, for any member of the team; a
 * non-member gets 404. Filtering by a project the caller cannot see gives an
 * empty page, as if it had no events: no existence leaks either way.
 */
export async function listEvents(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  teamId: string,
  query: EventListQuery,
): Promise<{ events: Event[]; nextCursor: string | null }> {
  await authorizeTeam(db, userId, teamId, 'team.read');
  const filters = { type: query.type, projectId: query.project_id, subjectId: query.subject_id };
  const binding = { list: 'events', teamId, ...filters };
  const before = query.cursor ? String(cursors.decode(query.cursor, binding)[0]) : undefined;
  const rows = await listTeamEvents(db, userId, teamId, filters, {
    before,
    limit: query.limit + 1,
  });
  const { items, last, hasMore } = splitPage(rows, query.limit);
  return { events: items, nextCursor: hasMore && last ? cursors.encode(binding, [last.id]) : null };
}
