import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import {
  assertProblem,
  body,
  createTeam,
  createUser,
  type TestUser,
} from '../../test/helpers/factories.ts';
import { createDeps } from '../deps.ts';
import { uuidv7 } from '../lib/ids.ts';
import { deriveKeys } from '../secrets.ts';
import { IDEMPOTENCY_LEASE_MS } from './idempotency.service.ts';
import { requestFingerprint } from './idempotency-key.ts';

let t: TestApp;
let crashRuns = 0;
before(async () => {
  t = await startTestApp();
  // A route that writes inside a transaction and then fails, as a handler with a bug
  // would. Added before the first inject: Fastify takes no routes once it is ready.
  const { authenticate } = createDeps(
    t.config,
    t.database.db,
    deriveKeys(t.config.tokenSigningKey!),
  );
  t.app.post(
    '/v1/test/crash',
    {
      onRequest: authenticate,
      schema: { body: Type.Object({ name: Type.String() }, { additionalProperties: false }) },
    },
    async (request: FastifyRequest) => {
      const { name } = request.body as { name: string };
      await t.database.db.transaction().execute(async (trx) => {
        const now = new Date();
        await trx
          .insertInto('teams')
          .values({ id: uuidv7(), name, created_at: now, updated_at: now })
          .execute();
        crashRuns += 1;
        throw new Error('the handler crashed after its first write');
      });
    },
  );
});
after(() => t.close());

const send = (
  method: 'POST' | 'PATCH',
  url: string,
  user: TestUser,
  key: string,
  payload: object,
) => t.app.inject({ method, url, headers: { ...user.auth, 'idempotency-key': key }, payload });

const keyRow = (user: TestUser, key: string) =>
  t.database.db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('principal_id', '=', `user:${user.id}`)
    .where('key', '=', key)
    .executeTakeFirst();

const teamsNamed = (name: string) =>
  t.database.db
    .selectFrom('teams')
    .select(['id', 'name', 'version'])
    .where('name', '=', name)
    .execute();

/** Holds `teams.id = id` locked until the returned release is called. */
async function lockTeam(id: string): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const holder = t.database.db.transaction().execute(async (trx) => {
    await sql`SELECT 1 FROM teams WHERE id = ${id} FOR UPDATE`.execute(trx);
    locked();
    await released;
  });
  await isLocked;
  return async () => {
    release();
    await holder;
  };
}

/** `response`, or a failure if it takes longer than `ms`: a broken claim would block, not fail. */
async function answeredWithin<T>(response: Promise<T>, ms = 5_000): Promise<T> {
  const timer = new AbortController();
  const timeout = sleep(ms, undefined, { signal: timer.signal }).then(() =>
    assert.fail(`no answer within ${ms} ms: the retry ran instead of being refused`),
  );
  try {
    return await Promise.race([response, timeout]);
  } finally {
    timer.abort();
  }
}

/** Waits until the key's in-flight row is committed, i.e. the handler has started. */
async function inFlight(user: TestUser, key: string): Promise<void> {
  for (let i = 0; i < 400; i += 1) {
    if ((await keyRow(user, key))?.response_status === null) return;
    await sleep(5);
  }
  assert.fail('the first request never claimed its key');
}

describe('a handler that crashes mid-transaction', () => {
  test('leaves no half-written change, and its 500 is stored and replayed without running again', async () => {
    const user = await createUser(t.app);
    const key = randomUUID();
    const name = `crash-${key}`;
    const first = await send('POST', '/v1/test/crash', user, key, { name });
    const problem = assertProblem(first, 500, 'internal');
    assert.equal(crashRuns, 1);
    assert.deepEqual(await teamsNamed(name), [], 'the transaction rolled back');
    const stored = await keyRow(user, key);
    assert.equal(stored?.response_status, 500);
    assert.equal(stored?.response_body, first.body);

    const replay = await send('POST', '/v1/test/crash', user, key, { name });
    assert.equal(replay.statusCode, 500);
    assert.equal(replay.body, first.body);
    assert.equal(replay.headers['content-type'], first.headers['content-type']);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(body(replay).request_id, problem.request_id, 'the stored problem, as it was');
    assert.equal(crashRuns, 1, 'the handler did not run again');
    assert.deepEqual(await teamsNamed(name), []);
  });
});

describe('a retry while the first request is running', () => {
  test('answers 409 idempotency_key_in_use with Retry-After, then replays once the first ends', async () => {
    const user = await createUser(t.app);
    const team = await createTeam(t.app, user);
    const key = randomUUID();
    const url = `/v1/teams/${team.id}`;
    const release = await lockTeam(team.id);
    const first = send('PATCH', url, user, key, { name: 'Held' });
    try {
      await inFlight(user, key);
      const retry = await answeredWithin(send('PATCH', url, user, key, { name: 'Held' }));
      assertProblem(retry, 409, 'idempotency_key_in_use');
      assert.equal(retry.headers['retry-after'], '1');
      const reused = await answeredWithin(send('PATCH', url, user, key, { name: 'Other' }));
      assertProblem(reused, 422, 'idempotency_key_reused');
    } finally {
      await release();
    }
    const done = await first;
    assert.equal(done.statusCode, 200);
    const replay = await send('PATCH', url, user, key, { name: 'Held' });
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.body, done.body);
    assert.deepEqual(await teamsNamed('Held'), [{ id: team.id, name: 'Held', version: 2 }]);
  });
});

describe('a key left in flight by a process that died', () => {
  /** The row a process leaves when it dies after claiming the key, before storing. */
  async function abandon(user: TestUser, key: string, name: string, ageMs: number) {
    const request = requestFingerprint('POST', '/v1/teams', {}, { name });
    const claimedAt = new Date(Date.now() - ageMs);
    await t.database.db
      .insertInto('idempotency_keys')
      .values({
        principal_id: `user:${user.id}`,
        key,
        method: request.method,
        path: request.path,
        request_hash: request.hash,
        created_at: claimedAt,
        expires_at: new Date(claimedAt.getTime() + 24 * 3600 * 1000),
      })
      .execute();
  }

  test('within the lease, a retry gets 409; past it, one retry takes the key over and runs', async () => {
    const user = await createUser(t.app);
    const key = randomUUID();
    const name = `abandoned-${key}`;
    await abandon(user, key, name, IDEMPOTENCY_LEASE_MS - 5_000);
    assertProblem(
      await send('POST', '/v1/teams', user, key, { name }),
      409,
      'idempotency_key_in_use',
    );
    await t.database.db
      .updateTable('idempotency_keys')
      .set({ created_at: new Date(Date.now() - IDEMPOTENCY_LEASE_MS - 1_000) })
      .where('key', '=', key)
      .execute();

    const retries = await Promise.all(
      Array.from({ length: 6 }, () => send('POST', '/v1/teams', user, key, { name })),
    );
    const ran = retries.filter(
      (response) => response.statusCode === 201 && !response.headers['idempotent-replayed'],
    );
    assert.equal(ran.length, 1, retries.map((response) => response.statusCode).join(','));
    for (const response of retries) {
      if (response === ran[0]) continue;
      if (response.statusCode === 409) assertProblem(response, 409, 'idempotency_key_in_use');
      else assert.equal(response.body, ran[0]!.body);
    }
    assert.equal((await teamsNamed(name)).length, 1);
    assert.equal((await keyRow(user, key))?.response_body, ran[0]!.body);
  });
});

describe('an expired key', () => {
  test('behaves as new: the request runs again, whatever it is', async () => {
    const user = await createUser(t.app);
    const key = randomUUID();
    const name = `expiring-${key}`;
    const expire = () =>
      t.database.db
        .updateTable('idempotency_keys')
        .set({ expires_at: new Date(Date.now() - 1_000) })
        .where('key', '=', key)
        .execute();
    const first = await send('POST', '/v1/teams', user, key, { name });
    assert.equal(first.statusCode, 201);
    await expire();

    const again = await send('POST', '/v1/teams', user, key, { name });
    assert.equal(again.statusCode, 201);
    assert.equal(again.headers['idempotent-replayed'], undefined);
    assert.notEqual(body(again).id, body(first).id);
    assert.equal((await teamsNamed(name)).length, 2);
    await expire();

    const other = await send('POST', '/v1/teams', user, key, { name: `${name}-other` });
    assert.equal(other.statusCode, 201, 'another body is not a reuse once the key expired');
    assert.equal((await keyRow(user, key))?.response_body, other.body);
  });
});
