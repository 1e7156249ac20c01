import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import type { Db } from './database.ts';

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../migrations');

// Any constant works; it only has to be the same for every node of one deployment.
const MIGRATION_LOCK_KEY = 7_421_133_001;

export interface Migration {
  readonly version: string;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
  /** `-- tasklane:no-transaction` on the first line, for CREATE INDEX CONCURRENTLY. */
  readonly transactional: boolean;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** The migration files in `dir`, ordered by their numeric prefix (`0001_init.sql`). */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d{4})_[a-z0-9_]+\.sql$/.exec(file);
    if (!match) throw new MigrationError(`migration file ${file} must be named NNNN_name.sql`);
    const text = await fs.readFile(path.join(dir, file), 'utf8');
    migrations.push({
      version: match[1]!,
      name: file,
      sql: text,
      checksum: createHash('sha256').update(text).digest('hex'),
      transactional: !text.startsWith('-- tasklane:no-transaction'),
    });
  }
  const versions = new Set(migrations.map((m) => m.version));
  if (versions.size !== migrations.length)
    throw new MigrationError('two migrations share a number');
  return migrations;
}

/**
 * The statements of a no-transaction migration, split at each `;` that ends a
 * line. Such files hold plain statements only (SETs and CREATE INDEX
 * CONCURRENTLY), never function bodies, so this simple split is enough.
 */
export function statementsOf(text: string): string[] {
  return text
    .split(/;[ \t]*(?:--[^\n]*)?$/m)
    .map((chunk) => chunk.replace(/^\s*--[^\n]*$/gm, '').trim())
    .filter((chunk) => chunk !== '');
}

async function ensureLedger(db: Db): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
}

/** Refuses to go on when an applied migration's file changed since it ran. */
function assertUnchanged(migrations: readonly Migration[], applied: Map<string, string>): void {
  for (const migration of migrations) {
    const checksum = applied.get(migration.version);
    if (checksum !== undefined && checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.name} was edited after it was applied (checksum differs); restore the file and put the change in a new migration`,
      );
    }
  }
}

/**
 * Applies pending migrations in order. Every node may call this at start: a
 * session-level advisory lock makes the others wait, then find nothing to do.
 * Returns the names of the migrations this call applied.
 */
export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  // One connection holds the lock for the whole run: advisory locks belong to a session.
  return db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn);
    try {
      await ensureLedger(conn);
      const rows = await conn
        .selectFrom('schema_migrations')
        .select(['version', 'checksum'])
        .execute();
      const applied = new Map(rows.map((row) => [row.version, row.checksum]));
      assertUnchanged(migrations, applied);
      const done: string[] = [];
      for (const migration of migrations.filter((m) => !applied.has(m.version))) {
        const record = sql`INSERT INTO schema_migrations (version, name, checksum)
          VALUES (${migration.version}, ${migration.name}, ${migration.checksum})`;
        try {
          if (migration.transactional) {
            await conn.transaction().execute(async (trx) => {
              await sql.raw(migration.sql).execute(trx);
              await record.execute(trx);
            });
          } else {
            // One statement at a time: sent together they would form one implicit
            // transaction, where CREATE INDEX CONCURRENTLY is not allowed.
            for (const statement of statementsOf(migration.sql)) {
              await sql.raw(statement).execute(conn);
            }
            await record.execute(conn);
          }
        } catch (error) {
          // The operator needs to know which file failed; main prints only this line.
          const undone = migration.transactional ? ' (rolled back)' : '';
          throw new MigrationError(
            `migration ${migration.name} failed${undone}: ${(error as Error).message}`,
            { cause: error },
          );
        }
        done.push(migration.name);
      }
      return done;
    } finally {
      // A migration's plain SET (lock_timeout, statement_timeout) outlives its
      // transaction; the connection goes back to the app's pool, so undo them.
      await sql`RESET ALL`.execute(conn);
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn);
    }
  });
}
