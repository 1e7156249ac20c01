import type { Selectable } from 'kysely';
import type { Trx } from '../../db/database.ts';
import type { RefreshTokensTable, SessionFamiliesTable } from '../../db/types.ts';

export type RefreshTokenRow = Selectable<RefreshTokensTable>;
export type SessionFamilyRow = Selectable<SessionFamiliesTable>;

export async function insertFamily(
  trx: Trx,
  family: { id: string; user_id: string; created_at: Date; expires_at: Date },
): Promise<void> {
  await trx.insertInto('session_families').values(family).execute();
}

export async function insertRefreshToken(
  trx: Trx,
  token: {
    id: string;
    family_id: string;
    token_hash: Buffer;
    created_at: Date;
    idle_expires_at: Date;
  },
): Promise<void> {
  await trx.insertInto('refresh_tokens').values(token).execute();
}

/**
 * The token with this hash and its family, both locked: refreshes of one family
 * run one at a time, so a concurrent double refresh sees the first one's result.
 */
export async function lockTokenByHash(
  trx: Trx,
  tokenHash: Buffer,
): Promise<{ token: RefreshTokenRow; family: SessionFamilyRow } | undefined> {
  const token = await trx
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!token) return undefined;
  const family = await trx
    .selectFrom('session_families')
    .selectAll()
    .where('id', '=', token.family_id)
    .forUpdate()
    .executeTakeFirstOrThrow();
  // Re-read under the family lock: a concurrent refresh may have spent it meanwhile.
  const current = await trx
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('id', '=', token.id)
    .executeTakeFirstOrThrow();
  return { token: current, family };
}

export function findRefreshToken(trx: Trx, id: string): Promise<RefreshTokenRow | undefined> {
  return trx.selectFrom('refresh_tokens').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function markSpent(
  trx: Trx,
  id: string,
  spentAt: Date,
  successorId: string,
): Promise<void> {
  await trx
    .updateTable('refresh_tokens')
    .set({ spent_at: spentAt, replaced_by: successorId })
    .where('id', '=', id)
    .execute();
}

export async function revokeFamilies(
  trx: Trx,
  where: { familyId: string } | { userId: string },
  reason: NonNullable<SessionFamilyRow['revoked_reason']>,
  at: Date,
): Promise<void> {
  let query = trx
    .updateTable('session_families')
    .set({ revoked_at: at, revoked_reason: reason })
    .where('revoked_at', 'is', null);
  query =
    'familyId' in where
      ? query.where('id', '=', where.familyId)
      : query.where('user_id', '=', where.userId);
  await query.execute();
}
