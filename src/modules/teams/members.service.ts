import { authorizeTeam, type TeamAction } from '../../auth/permissions.ts';
import type { Db, Trx } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import type { Role } from '../../db/types.ts';
import { appendEvent, type EventType } from '../../events/event-log.ts';
import type { CursorCodec } from '../../http/cursor.ts';
import { splitPage } from '../../http/pagination.ts';
import { AppError, invalidField } from '../../http/problems.ts';
import { findUserByEmail } from '../accounts/users.repository.ts';
import { appendProjectMemberEvent } from '../projects/project-events.ts';
import { deleteMembershipsInTeam } from '../projects/project-members.repository.ts';
import {
  countOwners,
  deleteMember,
  findMember,
  insertMember,
  listMembers,
  type MemberRow,
  updateMemberRole,
} from './members.repository.ts';
import { lockTeam } from './teams.repository.ts';

const memberNotFound = () => new AppError('not_found', 'member not found');
const lastOwner = () =>
  new AppError('conflict', 'a team keeps at least one owner: make someone else owner first');

/**
 * Runs a membership change with the team row locked, so two changes to one team
 * (say, two owners demoting each other) run one after the other and the
 * "at least one owner" rule holds.
 */
async function withTeamLocked<T>(
  db: Db,
  teamId: string,
  work: (trx: Trx) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    if (!(await lockTeam(trx, teamId))) throw new AppError('not_found', 'team not found');
    return work(trx);
  });
}

/** A membership change's event: the subject is the member's user id. */
function memberEvent(
  trx: Trx,
  type: EventType,
  teamId: string,
  actorId: string,
  data: { user_id: string } & Record<string, unknown>,
): Promise<void> {
  return appendEvent(trx, {
    teamId,
    projectId: null,
    type,
    actorId,
    subjectId: data.user_id,
    data,
  });
}

/** Touching an owner's role (granting, changing or removing it) takes an owner. */
function actionFor(...roles: Role[]): TeamAction {
  return roles.includes('owner') ? 'member.manage_owner' : 'member.manage';
}

export async function listTeamMembers(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  teamId: string,
  page: { limit: number; cursor?: string },
): Promise<{ members: MemberRow[]; nextCursor: string | null }> {
  await authorizeTeam(db, userId, teamId, 'member.list');
  const binding = { list: 'members', teamId };
  const position = page.cursor ? cursors.decode(page.cursor, binding) : undefined;
  const after = position
    ? { joinedAt: new Date(String(position[0])), userId: String(position[1]) }
    : undefined;
  const rows = await listMembers(db, teamId, { after, limit: page.limit + 1 });
  const { items, last, hasMore } = splitPage(rows, page.limit);
  const nextCursor =
    hasMore && last ? cursors.encode(binding, [last.joined_at.toISOString(), last.user_id]) : null;
  return { members: items, nextCursor };
}

export async function getTeamMember(
  db: Db,
  actorId: string,
  teamId: string,
  memberId: string,
): Promise<MemberRow> {
  await authorizeTeam(db, actorId, teamId, 'member.list');
  const member = await findMember(db, teamId, memberId);
  if (!member) throw memberNotFound();
  return member;
}

/** Adds an existing account, found by email, with a role. */
export async function addMember(
  db: Db,
  actorId: string,
  teamId: string,
  input: { email: string; role: Role },
): Promise<MemberRow> {
  try {
    return await withTeamLocked(db, teamId, async (trx) => {
      await authorizeTeam(trx, actorId, teamId, actionFor(input.role));
      const user = await findUserByEmail(trx, input.email);
      if (!user) throw invalidField('/email', 'does not belong to any Tasklane account');
      await insertMember(trx, {
        team_id: teamId,
        user_id: user.id,
        role: input.role,
        joined_at: new Date(),
      });
      await memberEvent(trx, 'member.added', teamId, actorId, {
        user_id: user.id,
        role: input.role,
      });
      return (await findMember(trx, teamId, user.id))!;
    });
  } catch (error) {
    if (isUniqueViolation(error, 'team_members_pkey')) {
      throw new AppError('conflict', 'this user is already a member of the team');
    }
    throw error;
  }
}

export async function changeMemberRole(
  db: Db,
  actorId: string,
  teamId: string,
  memberId: string,
  role: Role,
): Promise<MemberRow> {
  return withTeamLocked(db, teamId, async (trx) => {
    await authorizeTeam(trx, actorId, teamId, 'member.list');
    const member = await findMember(trx, teamId, memberId);
    if (!member) throw memberNotFound();
    await authorizeTeam(trx, actorId, teamId, actionFor(member.role, role));
    if (member.role === 'owner' && role !== 'owner' && (await countOwners(trx, teamId)) === 1) {
      throw lastOwner();
    }
    await updateMemberRole(trx, teamId, memberId, role);
    if (role !== member.role) {
      await memberEvent(trx, 'member.role_changed', teamId, actorId, {
        user_id: memberId,
        changes: { role: { before: member.role, after: role } },
      });
    }
    return { ...member, role };
  });
}

/** Removes a member; any member may remove themself (leave), except the last owner. */
export async function removeMember(
  db: Db,
  actorId: string,
  teamId: string,
  memberId: string,
): Promise<void> {
  await withTeamLocked(db, teamId, async (trx) => {
    await authorizeTeam(trx, actorId, teamId, 'member.list');
    const member = await findMember(trx, teamId, memberId);
    if (!member) throw memberNotFound();
    if (memberId !== actorId) await authorizeTeam(trx, actorId, teamId, actionFor(member.role));
    if (member.role === 'owner' && (await countOwners(trx, teamId)) === 1) throw lastOwner();
    await deleteMember(trx, teamId, memberId);
    // Every membership change is in the log, these ones included.
    for (const dropped of await deleteMembershipsInTeam(trx, teamId, memberId)) {
      const project = { id: dropped.project_id, team_id: teamId };
      await appendProjectMemberEvent(trx, project, 'project_member.removed', actorId, memberId, {
        role: dropped.role,
      });
    }
    // actor_id = subject_id when the member left on their own.
    await memberEvent(trx, 'member.removed', teamId, actorId, {
      user_id: memberId,
      role: member.role,
    });
  });
}
