import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { type Database, openDatabase } from './database.ts';
import { MigrationError, migrate, readMigrations } from './migrator.ts';

let root: string;
const cleanups: (() => Promise<void>)[] = [];
before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tasklane-migrations-'));
});
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await fs.rm(root, { recursive: true, force: true });
});

/** A fresh directory holding exactly these migration files. */
async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(root, 'set-'));
  for (const [name, text] of Object.entries(files)) {
    await fs.writeFile(path.join(dir, name), text);
  }
  return dir;
}

/** An empty database (no schema_migrations even) of this test's own, with a pool on it. */
async function emptyDatabase(): Promise<Database & { testDb: TestDatabase }> {
  const testDb = await createTestDatabase({ migrated: false });
  const database = openDatabase(testDb.url, 2);
  cleanups.push(async () => {
    await database.close();
    await testDb.drop();
  });
  return { ...database, testDb };
}

interface LedgerRow {
  version: string;
  name: string;
  checksum: string;
}

async function ledger(database: Database): Promise<LedgerRow[]> {
  const { rows } = await sql<LedgerRow>`
    SELECT version, name, checksum FROM schema_migrations ORDER BY version`.execute(database.db);
  return rows;
}

async function tableExists(database: Database, table: string): Promise<boolean> {
  const { rows } = await sql<{ found: string | null }>`
    SELECT to_regclass(${table})::text AS found`.execute(database.db);
  return rows[0]!.found !== null;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

// Each file appends its own name to `steps`, so the order they ran in is on record.
const FIRST = 'CREATE TABLE steps (n bigserial PRIMARY KEY, name text NOT NULL UNIQUE);\n';
const step = (name: string) => `INSERT INTO steps (name) VALUES ('${name}');\n`;

describe('migrate', { timeout: 60_000 }, () => {
  test('applies files in numeric order and records version, name and sha256 of each', async () => {
    const database = await emptyDatabase();
    const files = {
      '0010_tenth.sql': step('tenth'),
      '0002_second.sql': `ALTER TABLE steps ADD COLUMN note text;\n${step('second')}`,
      '0001_first.sql': FIRST + step('first'),
    };
    const dir = await migrationsDir(files);

    const applied = await migrate(database.db, dir);

    assert.deepEqual(applied, ['0001_first.sql', '0002_second.sql', '0010_tenth.sql']);
    const { rows } = await sql<{ name: string }>`SELECT name FROM steps ORDER BY n`.execute(
      database.db,
    );
    assert.deepEqual(
      rows.map((row) => row.name),
      ['first', 'second', 'tenth'],
    );
    assert.deepEqual(await ledger(database), [
      { version: '0001', name: '0001_first.sql', checksum: sha256(files['0001_first.sql']) },
      { version: '0002', name: '0002_second.sql', checksum: sha256(files['0002_second.sql']) },
      { version: '0010', name: '0010_tenth.sql', checksum: sha256(files['0010_tenth.sql']) },
    ]);
  });

  test('a second run applies nothing and leaves the ledger as it was', async () => {
    const database = await emptyDatabase();
    const dir = await migrationsDir({ '0001_first.sql': FIRST + step('first') });
    await migrate(database.db, dir);
    const before = await ledger(database);

    assert.deepEqual(await migrate(database.db, dir), []);

    assert.deepEqual(await ledger(database), before);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM steps`.execute(
      database.db,
    );
    assert.equal(rows[0]!.n, 1);
  });

  test('a new file added later is applied alone', async () => {
    const database = await emptyDatabase();
    const dir = await migrationsDir({ '0001_first.sql': FIRST + step('first') });
    await migrate(database.db, dir);
    await fs.writeFile(path.join(dir, '0002_second.sql'), step('second'));

    assert.deepEqual(await migrate(database.db, dir), ['0002_second.sql']);
    assert.deepEqual(
      (await ledger(database)).map((row) => row.version),
      ['0001', '0002'],
    );
  });

  test('when an applied file was edited, throws a MigrationError naming it and applies nothing', async () => {
    const database = await emptyDatabase();
    const dir = await migrationsDir({ '0001_first.sql': FIRST + step('first') });
    await migrate(database.db, dir);
    await fs.appendFile(path.join(dir, '0001_first.sql'), '-- a harmless-looking edit\n');
    await fs.writeFile(path.join(dir, '0002_second.sql'), step('second'));

    await assert.rejects(migrate(database.db, dir), (error: unknown) => {
      assert.ok(error instanceof MigrationError, String(error));
      assert.match(error.message, /0001_first\.sql/);
      assert.match(error.message, /edited/);
      return true;
    });
    // The pending 0002 is not applied past a tampered history.
    assert.deepEqual(
      (await ledger(database)).map((row) => row.version),
      ['0001'],
    );
  });

  for (const badName of ['1_first.sql', '0001-first.sql', '0001_First.sql', '00001_first.sql']) {
    test(`a file named ${badName} is refused before anything runs`, async () => {
      const database = await emptyDatabase();
      const dir = await migrationsDir({ [badName]: FIRST });

      await assert.rejects(readMigrations(dir), (error: unknown) => {
        assert.ok(error instanceof MigrationError, String(error));
        assert.match(error.message, new RegExp(badName.replaceAll('.', '\\.')));
        return true;
      });
      await assert.rejects(migrate(database.db, dir), MigrationError);
      assert.equal(await tableExists(database, 'steps'), false);
      assert.equal(await tableExists(database, 'schema_migrations'), false);
    });
  }

  test('two files with one number are refused', async () => {
    const dir = await migrationsDir({ '0001_first.sql': FIRST, '0001_other.sql': FIRST });
    await assert.rejects(readMigrations(dir), MigrationError);
  });

  test('files other than .sql are ignored', async () => {
    const dir = await migrationsDir({ '0001_first.sql': FIRST, 'README.md': '# notes' });
    assert.deepEqual(
      (await readMigrations(dir)).map((m) => m.name),
      ['0001_first.sql'],
    );
  });

  test('when a migration fails, it rolls back completely and is not recorded; the fixed file applies', async () => {
    const database = await emptyDatabase();
    const dir = await migrationsDir({
      '0001_first.sql': FIRST + step('first'),
      '0002_broken.sql': `CREATE TABLE half_done (id int);\n${step('broken')}SELECT 1 / 0;\n`,
    });

    await assert.rejects(migrate(database.db, dir), (error: unknown) => {
      assert.ok(error instanceof MigrationError, String(error));
      assert.match(error.message, /0002_broken\.sql/);
      assert.equal((error.cause as { code?: string }).code, '22012');
      return true;
    });

    // 0001 stays applied; nothing of 0002 survives: no table, no row, no ledger entry.
    assert.deepEqual(
      (await ledger(database)).map((row) => row.version),
      ['0001'],
    );
    assert.equal(await tableExists(database, 'half_done'), false);
    const { rows } = await sql<{ name: string }>`SELECT name FROM steps`.execute(database.db);
    assert.deepEqual(
      rows.map((row) => row.name),
      ['first'],
    );

    await fs.writeFile(
      path.join(dir, '0002_broken.sql'),
      `CREATE TABLE half_done (id int);\n${step('fixed')}`,
    );
    assert.deepEqual(await migrate(database.db, dir), ['0002_broken.sql']);
    assert.equal(await tableExists(database, 'half_done'), true);
  });

  test('a file marked tasklane:no-transaction runs outside a transaction (CREATE INDEX CONCURRENTLY)', async () => {
    const database = await emptyDatabase();
    const index = 'CREATE INDEX CONCURRENTLY steps_name_lower_idx ON steps (lower(name));\n';
    const dir = await migrationsDir({
      '0001_first.sql': FIRST,
      // The timeouts squawk demands, each statement sent on its own.
      '0002_index.sql': `-- tasklane:no-transaction\nSET lock_timeout = '5s';\nSET statement_timeout = '60s'; -- per statement\n${index}`,
    });

    assert.deepEqual(await migrate(database.db, dir), ['0001_first.sql', '0002_index.sql']);

    assert.equal(await tableExists(database, 'steps_name_lower_idx'), true);
    assert.deepEqual(
      (await ledger(database)).map((row) => row.version),
      ['0001', '0002'],
    );
  });

  test('without the marker, the same CREATE INDEX CONCURRENTLY fails (it runs in a transaction)', async () => {
    const database = await emptyDatabase();
    const dir = await migrationsDir({
      '0001_first.sql': FIRST,
      '0002_index.sql': 'CREATE INDEX CONCURRENTLY steps_name_lower_idx ON steps (lower(name));\n',
    });

    await assert.rejects(migrate(database.db, dir), (error: unknown) => {
      assert.ok(error instanceof MigrationError, String(error));
      // 25001: active_sql_transaction, "cannot run inside a transaction block".
      assert.equal((error.cause as { code?: string }).code, '25001');
      return true;
    });
    assert.equal(await tableExists(database, 'steps_name_lower_idx'), false);
  });

  test("a migration's SET does not outlive the run on the pooled connection", async () => {
    const database = await emptyDatabase();
    const dir = await migrationsDir({ '0001_first.sql': `SET lock_timeout = '5s';\n${FIRST}` });
    await migrate(database.db, dir);
    // The pool's connections, including the one the migrator used, are back to defaults.
    const settings = await Promise.all(
      Array.from({ length: 3 }, () =>
        sql<{ lock_timeout: string }>`SHOW lock_timeout`.execute(database.db),
      ),
    );
    assert.deepEqual(
      settings.map((result) => result.rows[0]?.lock_timeout),
      ['0', '0', '0'],
    );
  });

  test('5 nodes migrating one empty database at once: all succeed, each migration runs exactly once', async () => {
    const testDb = await createTestDatabase({ migrated: false });
    const pools = Array.from({ length: 5 }, () => openDatabase(testDb.url, 2));
    cleanups.push(async () => {
      for (const pool of pools) await pool.close();
      await testDb.drop();
    });
    // The sleep keeps the first runner inside its migration while the others arrive;
    // a second run of either file would fail (CREATE TABLE, UNIQUE) or add a row.
    const dir = await migrationsDir({
      '0001_first.sql': `${FIRST}SELECT pg_sleep(0.3);\n${step('first')}`,
      '0002_second.sql': step('second'),
    });

    const results = await Promise.all(pools.map((pool) => migrate(pool.db, dir)));

    const winners = results.filter((applied) => applied.length > 0);
    assert.equal(winners.length, 1, `applied by: ${JSON.stringify(results)}`);
    assert.deepEqual(winners[0], ['0001_first.sql', '0002_second.sql']);
    const { rows } = await sql<{ name: string }>`SELECT name FROM steps ORDER BY n`.execute(
      pools[0]!.db,
    );
    assert.deepEqual(
      rows.map((row) => row.name),
      ['first', 'second'],
    );
    assert.deepEqual(
      (await ledger(pools[0]!)).map((row) => row.version),
      ['0001', '0002'],
    );
  });
});

describe('the real migrations/', { timeout: 30_000 }, () => {
  let database: Database;
  let applied: string[];
  before(async () => {
    database = await emptyDatabase();
    applied = await migrate(database.db);
  });

  async function sqlState(query: Promise<unknown>): Promise<string | undefined> {
    try {
      await query;
    } catch (error) {
      return (error as { code?: string }).code;
    }
    return undefined;
  }

  const insertUser = (email: string, id = randomUUID()) =>
    database.db
      .insertInto('users')
      .values({ id, email, name: 'Someone', password_hash: 'x' })
      .execute()
      .then(() => id);
  const insertTeam = (plan: string, id = randomUUID()) =>
    database.db
      .insertInto('teams')
      .values({ id, name: 'Team', plan } as never)
      .execute()
      .then(() => id);
  const insertMember = (teamId: string, userId: string, role: string) =>
    database.db
      .insertInto('team_members')
      .values({ team_id: teamId, user_id: userId, role } as never)
      .execute();

  test('apply cleanly to an empty database, all of them, in order', async () => {
    const files = await readMigrations();
    assert.ok(files.length > 0);
    assert.deepEqual(
      applied,
      files.map((m) => m.name),
    );
    assert.deepEqual(
      (await ledger(database)).map((row) => row.name),
      applied,
    );
    assert.deepEqual(await migrate(database.db), []);
  });

  test('one account per email whatever its case: a second insert fails with 23505', async () => {
    await insertUser('A@x.io');
    assert.equal(await sqlState(insertUser('a@x.io')), '23505');
  });

  test('role and plan accept only their listed values: others fail with 23514', async () => {
    const userId = await insertUser(`${randomUUID()}@x.io`);
    const teamId = await insertTeam('pro');
    assert.equal(await sqlState(insertTeam('enterprise')), '23514');
    assert.equal(await sqlState(insertMember(teamId, userId, 'superuser')), '23514');
    await insertMember(teamId, userId, 'viewer');
  });

  test('memberships and sessions must point at existing rows: 23503 otherwise', async () => {
    const userId = await insertUser(`${randomUUID()}@x.io`);
    const teamId = await insertTeam('free');
    assert.equal(await sqlState(insertMember(randomUUID(), userId, 'member')), '23503');
    assert.equal(await sqlState(insertMember(teamId, randomUUID(), 'member')), '23503');
    assert.equal(
      await sqlState(
        database.db
          .insertInto('session_families')
          .values({ id: randomUUID(), user_id: randomUUID(), expires_at: new Date() } as never)
          .execute(),
      ),
      '23503',
    );
  });
});
