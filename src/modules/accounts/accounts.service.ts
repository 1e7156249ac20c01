import {
  burnPasswordCheck,
  hashPassword,
  passwordWeakness,
  verifyPassword,
} from '../../auth/passwords.ts';
import type { Db } from '../../db/database.ts';
import { isUniqueViolation } from '../../db/errors.ts';
import type { User } from '../../db/types.ts';
import { AppError, invalidField } from '../../http/problems.ts';
import { uuidv7 } from '../../lib/ids.ts';
import { type SessionDeps, startSession, type TokenPair } from './sessions.service.ts';
import { findUserByEmail, findUserById, insertUser } from './users.repository.ts';

export interface SignupInput {
  readonly email: string;
  readonly password: string;
  readonly name: string;
}

export interface AuthResult extends TokenPair {
  readonly user: User;
}

/** Creates the account and its first session in one transaction. */
export async function signup(db: Db, deps: SessionDeps, input: SignupInput): Promise<AuthResult> {
  const email = input.email.trim();
  const name = input.name.trim();
  if (name === '') throw invalidField('/name', 'must not be blank');
  const weakness = await passwordWeakness(input.password, [email.split('@')[0] ?? '', name]);
  if (weakness) throw invalidField('/password', weakness);
  // Hash before the transaction: argon2 is slow on purpose; no connection waits on it.
  const passwordHash = await hashPassword(input.password);
  try {
    return await db.transaction().execute(async (trx) => {
      const now = new Date();
      const user = await insertUser(trx, {
        id: uuidv7(),
        email,
        name,
        password_hash: passwordHash,
        created_at: now,
        updated_at: now,
      });
      return { user, ...(await startSession(trx, deps, user.id)) };
    });
  } catch (error) {
    // Two signups racing with one email: the unique index lets exactly one in.
    if (isUniqueViolation(error, 'users_email_lower_key')) {
      throw new AppError('conflict', 'an account with this email already exists', {
        errors: [{ pointer: '/email', detail: 'is already registered' }],
      });
    }
    throw error;
  }
}

export async function login(
  db: Db,
  deps: SessionDeps,
  input: { email: string; password: string },
): Promise<AuthResult> {
  const user = await findUserByEmail(db, input.email.trim());
  if (!user) {
    await burnPasswordCheck(input.password);
    throw new AppError('unauthenticated', 'the email or password is wrong');
  }
  if (!(await verifyPassword(user.password_hash, input.password))) {
    throw new AppError('unauthenticated', 'the email or password is wrong');
  }
  return db.transaction().execute(async (trx) => ({
    user,
    ...(await startSession(trx, deps, user.id)),
  }));
}

export async function getUser(db: Db, userId: string): Promise<User> {
  const user = await findUserById(db, userId);
  // A valid token for an account that no longer exists: the caller is nobody.
  if (!user) throw new AppError('unauthenticated', 'the account no longer exists');
  return user;
}
