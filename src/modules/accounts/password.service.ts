import { hashPassword, passwordWeakness, verifyPassword } from '../../auth/passwords.ts';
import type { Db } from '../../db/database.ts';
import { AppError, invalidField } from '../../http/problems.ts';
import { revokeFamilies } from './sessions.repository.ts';
import { type SessionDeps, startSession, type TokenPair } from './sessions.service.ts';
import { findUserById, updatePasswordHash } from './users.repository.ts';

/**
 * Changes the password after checking the current one, revokes every session of
 * the account (a stolen refresh token dies with the old password) and starts a
 * new session for the caller, in one transaction.
 */
export async function changePassword(
  db: Db,
  deps: SessionDeps,
  userId: string,
  input: { current_password: string; new_password: string },
): Promise<TokenPair> {
  const user = await findUserById(db, userId);
  if (!user) throw new AppError('unauthenticated', 'the account no longer exists');
  if (!(await verifyPassword(user.password_hash, input.current_password))) {
    throw invalidField('/current_password', 'is not your current password');
  }
  const weakness = await passwordWeakness(input.new_password, [
    user.email.split('@')[0] ?? '',
    user.name,
  ]);
  if (weakness) throw invalidField('/new_password', weakness);
  const passwordHash = await hashPassword(input.new_password);
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    await updatePasswordHash(trx, userId, passwordHash, now);
    await revokeFamilies(trx, { userId }, 'password_changed', now);
    return startSession(trx, deps, userId);
  });
}
