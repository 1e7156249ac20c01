import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { type Database, openDatabase } from '../db/database.ts';
import {
  type ClaimInput,
  claimKey,
  findKey,
  storeResponse,
  sweepIdempotencyKeys,
} from './idempotency.repository.ts';

let testDb: TestDatabase;
let database: Database;
before(async () => {
  testDb = await createTestDatabase();
  database = openDatabase(testDb.url, 12);
});
after(async () => {
  await database.close();
  await testDb.drop();
});

const T0 = new Date('2026-11-22T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const hashOf = (text: string) => createHash('sha256').update(text).digest();

/** A claim of `key` at T0 + `seconds`, with a 24 h expiry and a 60 s lease. */
function claimAt(key: string, seconds: number, body = 'body'): ClaimInput {
  return {
    scope: 'user:test',
    key,
    method: 'POST',
    path: '/v1/teams',
    requestHash: hashOf(body),
    now: at(seconds),
    expiresAt: at(seconds + 86_400),
    abandonedBefore: at(seconds - 60),
  };
}

const RESPONSE = { status: 201, headers: { 'content-type': 'application/json' }, body: '{}' };

describe('claimKey', () => {
  test('when the key is new, the claim wins and the row is in flight', async () => {
    const key = randomUUID();
    const claimedAt = await claimKey(database.db, claimAt(key, 0));
    assert.deepEqual(claimedAt, T0);
    const record = await findKey(database.db, 'user:test', key);
    assert.equal(record?.response, null);
    assert.deepEqual(record?.expiresAt, at(86_400));
    assert.equal(await claimKey(database.db, claimAt(key, 1)), undefined);
  });

  test('when twelve connections claim one key at once, exactly one wins', async () => {
    const key = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => claimKey(database.db, claimAt(key, 0))),
    );
    assert.equal(results.filter((result) => result !== undefined).length, 1);
  });

  test('when an in-flight claim is older than the lease, the same request takes it over, once', async () => {
    const key = randomUUID();
    await claimKey(database.db, claimAt(key, 0));
    assert.equal(await claimKey(database.db, claimAt(key, 59)), undefined, 'inside the lease');
    assert.equal(
      await claimKey(database.db, claimAt(key, 61, 'another body')),
      undefined,
      'another request never takes a claim over',
    );
    const contenders = await Promise.all(
      Array.from({ length: 12 }, () => claimKey(database.db, claimAt(key, 61))),
    );
    const winners = contenders.filter((result) => result !== undefined);
    assert.deepEqual(winners, [at(61)]);
    assert.deepEqual((await findKey(database.db, 'user:test', key))?.createdAt, at(61));
  });

  test('when a claim was taken over, its late response is dropped and the new one is stored', async () => {
    const key = randomUUID();
    const first = await claimKey(database.db, claimAt(key, 0));
    const second = await claimKey(database.db, claimAt(key, 61));
    assert.ok(first && second);
    const stale = { ...RESPONSE, status: 500 };
    assert.equal(
      await storeResponse(
        database.db,
        { scope: 'user:test', key, claimedAt: first },
        stale,
        at(86_470),
      ),
      false,
    );
    assert.equal(
      await storeResponse(
        database.db,
        { scope: 'user:test', key, claimedAt: second },
        RESPONSE,
        at(86_470),
      ),
      true,
    );
    const record = await findKey(database.db, 'user:test', key);
    assert.deepEqual(record?.response, RESPONSE);
    assert.equal(
      await storeResponse(
        database.db,
        { scope: 'user:test', key, claimedAt: second },
        stale,
        at(86_480),
      ),
      false,
      'a stored response is never overwritten',
    );
    assert.equal(
      await claimKey(database.db, claimAt(key, 200)),
      undefined,
      'a finished key is not abandoned',
    );
  });

  test('when the key has expired, any request claims it as new', async () => {
    const key = randomUUID();
    const claimedAt = await claimKey(database.db, claimAt(key, 0));
    await storeResponse(
      database.db,
      { scope: 'user:test', key, claimedAt: claimedAt! },
      RESPONSE,
      at(10),
    );
    assert.equal(await claimKey(database.db, claimAt(key, 9, 'other')), undefined);
    assert.deepEqual(await claimKey(database.db, claimAt(key, 10, 'other')), at(10));
    const record = await findKey(database.db, 'user:test', key);
    assert.equal(record?.response, null);
    assert.deepEqual(record?.requestHash, hashOf('other'));
  });
});

describe('sweepIdempotencyKeys', () => {
  test('deletes every expired row in batches and keeps the others', async () => {
    const scope = `user:${randomUUID()}`;
    const expiresAt = (seconds: number) => at(seconds);
    const rows = [-500, -400, -300, -1, 0, 1, 500].map((seconds, index) => ({
      principal_id: scope,
      key: `k${index}`,
      method: 'POST',
      path: '/v1/teams',
      request_hash: hashOf('x'),
      created_at: at(-90_000),
      expires_at: expiresAt(seconds),
    }));
    await database.db.insertInto('idempotency_keys').values(rows).execute();
    const expiredElsewhere = await database.db
      .selectFrom('idempotency_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('expires_at', '<=', T0)
      .where('principal_id', '!=', scope)
      .executeTakeFirstOrThrow();

    const deleted = await sweepIdempotencyKeys(database.db, T0, 2);

    assert.equal(deleted, 5 + Number(expiredElsewhere.n));
    const left = await database.db
      .selectFrom('idempotency_keys')
      .select('key')
      .where('principal_id', '=', scope)
      .orderBy('key')
      .execute();
    assert.deepEqual(
      left.map((row) => row.key),
      ['k5', 'k6'],
    );
    assert.equal(await sweepIdempotencyKeys(database.db, T0, 2), 0);
  });
});
