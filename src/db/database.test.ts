import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { type Database, openDatabase } from './database.ts';

let testDb: TestDatabase;
let database: Database;
before(async () => {
  testDb = await createTestDatabase();
  database = openDatabase(testDb.url, 1);
});
after(async () => {
  await database.close();
  await testDb.drop();
});

test('timestamps come back as the exact instant, milliseconds included, whatever the form', async () => {
  const { rows } = await sql<{ a: Date; b: Date; c: Date }>`SELECT
      '2026-11-22 06:11:38.123+00'::timestamptz AS a,
      '2026-11-22 08:11:38.5+02'::timestamptz AS b,
      '2026-11-22 06:11:38+00'::timestamptz(0) AS c`.execute(database.db);
  assert.equal(rows[0]?.a.toISOString(), '2026-11-22T06:11:38.123Z');
  assert.equal(rows[0]?.b.toISOString(), '2026-11-22T06:11:38.500Z');
  assert.equal(rows[0]?.c.toISOString(), '2026-11-22T06:11:38.000Z');
});
