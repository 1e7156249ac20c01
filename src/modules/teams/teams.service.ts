import { authorizeTeam } from '../../auth/permissions.ts';
import type { Db } from '../../db/database.ts';
import type { Plan, Role, Team } from '../../db/types.ts';
import { appendEvent, diffFields } from '../../events/event-log.ts';
import type { CursorCodec } from '../../http/cursor.ts';
import { assertIfMatch, type IfMatch } from '../../http/etag.ts';
import { splitPage } from '../../http/pagination.ts';
import { AppError, invalidField } from '../../http/problems.ts';
import { uuidv7 } from '../../lib/ids.ts';
import { insertMember } from './members.repository.ts';
import {
  deleteTeam,
  findTeam,
  insertTeam,
  listTeamsOfUser,
  lockTeam,
  updateTeam,
} from './teams.repository.ts';

const cleanName = (name: string) => {
  const trimmed = name.trim();
  if (trimmed === '') throw invalidField('/name', 'must not be blank');
  return trimmed;
};

/** A new team, with its creator as the first owner, in one transaction. */
export async function createTeam(db: Db, userId: string, input: { name: string }): Promise<Team> {
  const name = cleanName(input.name);
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const team = await insertTeam(trx, { id: uuidv7(), name, created_at: now, updated_at: now });
    await insertMember(trx, { team_id: team.id, user_id: userId, role: 'owner', joined_at: now });
    // The log starts with its founding owner, so every membership has an event.
    await appendEvent(trx, {
      teamId: team.id,
      projectId: null,
      type: 'member.added',
      actorId: userId,
      subjectId: userId,
      data: { user_id: userId, role: 'owner' },
    });
    return team;
  });
}

export async function listTeams(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  page: { limit: number; cursor?: string },
): Promise<{ teams: (Team & { role: Role })[]; nextCursor: string | null }> {
  const binding = { list: 'teams', userId };
  const after = page.cursor ? String(cursors.decode(page.cursor, binding)[0]) : undefined;
  const rows = await listTeamsOfUser(db, userId, { after, limit: page.limit + 1 });
  const { items, last, hasMore } = splitPage(rows, page.limit);
  return { teams: items, nextCursor: hasMore && last ? cursors.encode(binding, [last.id]) : null };
}

export async function getTeam(db: Db, userId: string, teamId: string): Promise<Team> {
  await authorizeTeam(db, userId, teamId, 'team.read');
  const team = await findTeam(db, teamId);
  if (!team) throw new AppError('not_found', 'team not found');
  return team;
}

/** JSON Merge Patch of name and plan; renaming takes an admin, changing plan an owner. */
export async function patchTeam(
  db: Db,
  userId: string,
  teamId: string,
  changes: { name?: string; plan?: Plan },
  ifMatch: IfMatch | undefined,
): Promise<Team> {
  return db.transaction().execute(async (trx) => {
    const team = await lockTeam(trx, teamId);
    if (!team) throw new AppError('not_found', 'team not found');
    await authorizeTeam(trx, userId, teamId, 'team.update');
    if (changes.plan !== undefined && changes.plan !== team.plan) {
      await authorizeTeam(trx, userId, teamId, 'team.change_plan');
    }
    assertIfMatch(ifMatch, team.version);
    const name = changes.name === undefined ? undefined : cleanName(changes.name);
    // A patch that changes nothing is not a change: version and ETag stay put.
    if ((name ?? team.name) === team.name && (changes.plan ?? team.plan) === team.plan) return team;
    const updated = await updateTeam(trx, teamId, { name, plan: changes.plan }, new Date());
    await appendEvent(trx, {
      teamId,
      projectId: null,
      type: 'team.updated',
      actorId: userId,
      subjectId: teamId,
      data: {
        changes: diffFields({ name: team.name, plan: team.plan }, { name, plan: changes.plan }),
      },
    });
    return updated;
  });
}

/** Deletes the team and, by cascade, its memberships. Owners only. */
export async function removeTeam(
  db: Db,
  userId: string,
  teamId: string,
  ifMatch: IfMatch | undefined,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const team = await lockTeam(trx, teamId);
    if (!team) throw new AppError('not_found', 'team not found');
    await authorizeTeam(trx, userId, teamId, 'team.delete');
    assertIfMatch(ifMatch, team.version);
    await deleteTeam(trx, teamId);
  });
}
