import { sql } from 'kysely';
import type { Db, Trx } from '../../db/database.ts';
import type { NewUser, User } from '../../db/types.ts';

export function insertUser(trx: Trx, user: NewUser): Promise<User> {
  return trx.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
}

/** Emails match case-insensitively, served by the unique index on lower(email). */
export function findUserByEmail(db: Db | Trx, email: string): Promise<User | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
}

export function findUserById(db: Db | Trx, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function updatePasswordHash(
  trx: Trx,
  id: string,
  passwordHash: string,
  at: Date,
): Promise<void> {
  await trx
    .updateTable('users')
    .set((eb) => ({ password_hash: passwordHash, updated_at: at, version: eb('version', '+', 1) }))
    .where('id', '=', id)
    .execute();
}
