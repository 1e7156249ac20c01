import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { type Database, openDatabase } from './database.ts';
import { migrate } from './migrator.ts';

let testDb: TestDatabase;
let database: Database;
before(async () => {
  testDb = await createTestDatabase();
  // One connection: every query below reuses the same prepared statements.
  database = openDatabase(testDb.url, 1);
});
after(async () => {
  await database.close();
  await testDb.drop();
});

const readUsers = () =>
  database.db.selectFrom('users').selectAll().where('email', '=', 'nobody@example.com').execute();

test('parameterised queries run as named prepared statements, reused across calls', async () => {
  await readUsers();
  await readUsers();
  const { rows } = await sql<{
    n: number;
  }>`SELECT count(*)::int AS n FROM pg_prepared_statements`.execute(database.db);
  assert.equal(rows[0]?.n, 1);
});

test('after a migration changes a table under a prepared statement, queries still answer', async () => {
  await readUsers();
  const admin = new pg.Client({ connectionString: testDb.url });
  await admin.connect();
  await admin.query('ALTER TABLE users ADD COLUMN nickname text');
  await admin.end();
  // The cached plan is stale now: retried as a plain query, the connection retired.
  const rows = await readUsers();
  assert.deepEqual(rows, []);
  const again = await readUsers();
  assert.deepEqual(again, []);
});

test('the migrator, whose files have no parameters, is unaffected', async () => {
  assert.deepEqual(await migrate(database.db), []);
});
