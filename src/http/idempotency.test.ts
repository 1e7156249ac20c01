import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import {
  assertProblem,
  body,
  createTeam,
  createUser,
  PASSWORD,
  type TestUser,
  uniqueEmail,
} from '../../test/helpers/factories.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

type Method = 'POST' | 'PATCH' | 'DELETE';

const send = (
  method: Method,
  url: string,
  user: TestUser | undefined,
  key: string | undefined,
  payload?: unknown,
) =>
  t.app.inject({
    method,
    url,
    headers: { ...user?.auth, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    ...(payload === undefined ? {} : { payload: payload as string }),
  });

const keyRows = () => t.database.db.selectFrom('idempotency_keys').selectAll().execute();
const keyRow = (user: TestUser, key: string) =>
  t.database.db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('principal_id', '=', `user:${user.id}`)
    .where('key', '=', key)
    .executeTakeFirst();

const teamsOf = (user: TestUser) =>
  t.database.db
    .selectFrom('team_members')
    .innerJoin('teams', 'teams.id', 'team_members.team_id')
    .select(['teams.id', 'teams.name', 'teams.version'])
    .where('team_members.user_id', '=', user.id)
    .execute();

/** The replay is the stored response: same status, body and headers that matter. */
function assertReplayOf(replay: LightMyRequestResponse, first: LightMyRequestResponse): void {
  assert.equal(replay.statusCode, first.statusCode);
  assert.equal(replay.body, first.body);
  for (const name of ['content-type', 'location', 'etag', 'cache-control']) {
    assert.equal(replay.headers[name], first.headers[name], name);
  }
  assert.equal(replay.headers['idempotent-replayed'], 'true');
  assert.equal(first.headers['idempotent-replayed'], undefined);
  assert.notEqual(replay.headers['x-request-id'], first.headers['x-request-id']);
}

describe('a retry with the same key and request', () => {
  test('when POST /v1/teams is retried, the stored 201 is replayed and no second team is made', async () => {
    const user = await createUser(t.app);
    const key = randomUUID();
    const first = await send('POST', '/v1/teams', user, key, { name: 'Replayed' });
    assert.equal(first.statusCode, 201);
    const stored = await keyRow(user, key);
    assert.equal(stored?.method, 'POST');
    assert.equal(stored?.path, '/v1/teams');
    assert.equal(stored?.response_status, 201);
    assert.equal(stored?.response_body, first.body);
    assert.deepEqual(stored?.response_headers, {
      'content-type': first.headers['content-type'],
      location: first.headers.location,
    });
    const dayFromNow = Date.now() + 24 * 3600 * 1000;
    assert.ok(Math.abs(stored!.expires_at.getTime() - dayFromNow) < 60_000, 'kept 24 h');

    const replay = await send('POST', '/v1/teams', user, key, { name: 'Replayed' });
    assertReplayOf(replay, first);
    assert.deepEqual(
      (await teamsOf(user)).map((team) => team.id),
      [body(first).id],
    );
    assert.deepEqual(await keyRow(user, key), stored, 'a replay is not stored again');
  });

  test('when the retry differs only in whitespace, key order or key quoting, it is the same request', async () => {
    const user = await createUser(t.app);
    const key = randomUUID();
    const raw = (payload: string, header: string) =>
      t.app.inject({
        method: 'PATCH',
        url: `/v1/teams/${team.id}`,
        headers: { ...user.auth, 'content-type': 'application/json', 'idempotency-key': header },
        payload,
      });
    const team = await createTeam(t.app, user);
    const first = await raw('{"name":"Spaced","plan":"pro"}', key);
    assert.equal(first.statusCode, 200);
    const replay = await raw('{ "plan" : "pro",\n  "name": "Spaced" }', `"${key}"`);
    assertReplayOf(replay, first);
  });

  test('when PATCH is retried after another change, the stored 200 and ETag are replayed and the handler does not run', async () => {
    const user = await createUser(t.app);
    const team = await createTeam(t.app, user);
    const key = randomUUID();
    const first = await send('PATCH', `/v1/teams/${team.id}`, user, key, { name: 'Second' });
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers.etag, '"v2"');
    const other = await send('PATCH', `/v1/teams/${team.id}`, user, undefined, { name: 'Third' });
    assert.equal(other.statusCode, 200);

    const replay = await send('PATCH', `/v1/teams/${team.id}`, user, key, { name: 'Second' });
    assertReplayOf(replay, first);
    assert.equal(body(replay).name, 'Second');
    assert.deepEqual(await teamsOf(user), [{ id: team.id, name: 'Third', version: 3 }]);
  });

  test('when adding a member is retried, the 201 is replayed instead of a 409 for the existing member', async () => {
    const [owner, invitee] = await Promise.all([createUser(t.app), createUser(t.app)]);
    const team = await createTeam(t.app, owner);
    const key = randomUUID();
    const url = `/v1/teams/${team.id}/members`;
    const first = await send('POST', url, owner, key, { email: invitee.email, role: 'admin' });
    assert.equal(first.statusCode, 201);
    const replay = await send('POST', url, owner, key, { email: invitee.email, role: 'admin' });
    assertReplayOf(replay, first);
    const again = await send('POST', url, owner, randomUUID(), { email: invitee.email });
    assertProblem(again, 409, 'conflict');
  });
});

describe('the same key for a different request', () => {
  test('when the body, path or method differs, it answers 422 idempotency_key_reused and runs nothing', async () => {
    const user = await createUser(t.app);
    const team = await createTeam(t.app, user);
    const key = randomUUID();
    const first = await send('POST', '/v1/teams', user, key, { name: 'Original' });
    assert.equal(first.statusCode, 201);
    const stored = await keyRow(user, key);

    const attempts = [
      send('POST', '/v1/teams', user, key, { name: 'Other' }),
      send('POST', `/v1/teams/${team.id}/members`, user, key, { email: user.email }),
      send('PATCH', `/v1/teams/${team.id}`, user, key, { name: 'Original' }),
    ];
    for (const response of await Promise.all(attempts)) {
      const problem = assertProblem(response, 422, 'idempotency_key_reused');
      assert.match(problem.detail, /different request/);
    }
    assert.equal((await teamsOf(user)).length, 2);
    assert.deepEqual(await keyRow(user, key), stored);
  });

  test('when another caller uses the same key, their request runs as their own', async () => {
    const [alice, bob] = await Promise.all([createUser(t.app), createUser(t.app)]);
    const key = randomUUID();
    const first = await send('POST', '/v1/teams', alice, key, { name: 'Shared key' });
    const second = await send('POST', '/v1/teams', bob, key, { name: 'Shared key' });
    assert.equal(second.statusCode, 201);
    assert.equal(second.headers['idempotent-replayed'], undefined);
    assert.notEqual(body(second).id, body(first).id);
    assert.equal((await teamsOf(bob)).length, 1);
    assert.equal((await keyRow(bob, key))?.response_body, second.body);
  });
});

describe('requests that never reach the handler', () => {
  test('when the key is malformed, it answers 400 naming the header and stores nothing', async () => {
    const user = await createUser(t.app);
    const before = await keyRows();
    for (const header of ['', 'two words', 'k'.repeat(256), '"open', '"bad\\escape"', 'ümlaut']) {
      const response = await send('POST', '/v1/teams', user, header, { name: 'Never' });
      const problem = assertProblem(response, 400, 'malformed_request');
      assert.deepEqual(
        problem.errors?.map((error: { header: string }) => error.header),
        ['idempotency-key'],
      );
      assert.match(problem.detail, /Idempotency-Key/);
    }
    assert.deepEqual(await teamsOf(user), []);
    assert.deepEqual(await keyRows(), before);
  });

  test('when authentication or validation refuses the request, nothing is stored and the key stays new', async () => {
    const user = await createUser(t.app);
    const key = randomUUID();
    assertProblem(
      await send('POST', '/v1/teams', undefined, key, { name: 'X' }),
      401,
      'unauthenticated',
    );
    assertProblem(
      await send('POST', '/v1/teams', user, key, { name: '' }),
      422,
      'validation_failed',
    );
    assertProblem(
      await send('POST', '/v1/teams', user, key, { nom: 'X' }),
      422,
      'validation_failed',
    );
    assert.equal(await keyRow(user, key), undefined);

    const response = await send('POST', '/v1/teams', user, key, { name: 'Valid now' });
    assert.equal(response.statusCode, 201);
    assert.equal(response.headers['idempotent-replayed'], undefined);
  });

  test('when an authentication route gets a key, it answers 400 and stores nothing', async () => {
    const user = await createUser(t.app);
    const before = await keyRows();
    const email = uniqueEmail();
    const refused = [
      await send('POST', '/v1/auth/signup', undefined, 'k1', {
        email,
        name: 'N',
        password: PASSWORD,
      }),
      await send('POST', '/v1/auth/login', undefined, 'k2', {
        email: user.email,
        password: PASSWORD,
      }),
      await send('POST', '/v1/auth/refresh', undefined, 'k3', { refresh_token: user.refreshToken }),
      await send('POST', '/v1/me/password', user, 'k4', {
        current_password: PASSWORD,
        new_password: 'a-whole-new-password-7',
      }),
    ];
    for (const response of refused) {
      const problem = assertProblem(response, 400, 'malformed_request');
      assert.match(problem.detail, /credentials/);
      assert.equal(problem.errors[0].header, 'idempotency-key');
    }
    const users = await t.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .execute();
    assert.deepEqual(users, []);
    assert.deepEqual(await keyRows(), before);
    const login = await send('POST', '/v1/auth/login', undefined, undefined, {
      email: user.email,
      password: PASSWORD,
    });
    assert.equal(login.statusCode, 200, 'the password was not changed');
  });

  test('when DELETE carries a key, the key is ignored: DELETE is idempotent by itself', async () => {
    const user = await createUser(t.app);
    const team = await createTeam(t.app, user);
    const key = randomUUID();
    const response = await send('DELETE', `/v1/teams/${team.id}`, user, key);
    assert.equal(response.statusCode, 204);
    assert.equal(await keyRow(user, key), undefined);
  });
});

describe('/openapi.json', () => {
  test('documents Idempotency-Key on the writes that take it, and not on the auth routes', async () => {
    const spec = body(await t.app.inject({ method: 'GET', url: '/openapi.json' }));
    const headerOf = (path: string, method: string) =>
      (spec.paths[path][method].parameters ?? []).find(
        (parameter: { in: string; name: string }) =>
          parameter.in === 'header' && parameter.name === 'idempotency-key',
      );
    assert.ok(headerOf('/v1/teams', 'post'));
    assert.ok(headerOf('/v1/teams/{team_id}', 'patch'));
    assert.ok(headerOf('/v1/teams/{team_id}', 'patch').description.includes('24 h'));
    assert.ok(spec.paths['/v1/teams'].post.responses['409']);
    assert.equal(headerOf('/v1/teams/{team_id}', 'delete'), undefined);
    assert.equal(headerOf('/v1/auth/login', 'post'), undefined);
    assert.equal(headerOf('/v1/me/password', 'post'), undefined);
  });
});
