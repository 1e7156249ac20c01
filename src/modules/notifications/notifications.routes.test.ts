import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  assertProblem,
  body,
  createTeam,
  createUser,
  RFC3339_MS,
  type TestTeam,
  type TestUser,
} from '../../../test/helpers/factories.ts';
import { createNotifications, notifyTeamAdmins } from '../../notifications/create.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

let sequence = 0;
/** `count` notifications for `user`, oldest first, as the jobs would create them. */
async function notify(user: TestUser, team: TestTeam, count: number): Promise<string[]> {
  const titles: string[] = [];
  for (let i = 0; i < count; i++) {
    const title = `Notice ${++sequence}`;
    await t.database.db.transaction().execute((trx) =>
      createNotifications(trx, [user.id], {
        teamId: team.id,
        kind: 'assigned',
        sourceKey: `test:${sequence}`,
        title,
        body: 'Something happened',
      }),
    );
    titles.push(title);
  }
  return titles;
}

const get = (user: TestUser, url: string) =>
  t.app.inject({ method: 'GET', url, headers: user.auth });
const post = (user: TestUser, url: string) =>
  t.app.inject({ method: 'POST', url, headers: user.auth });
const patchPreferences = (user: TestUser, payload: unknown) =>
  t.app.inject({
    method: 'PATCH',
    url: '/v1/me/notification-preferences',
    headers: user.auth,
    payload: payload as Record<string, unknown>,
  });

async function userWithTeam() {
  const user = await createUser(t.app);
  return { user, team: await createTeam(t.app, user) };
}

describe('GET /v1/me/notifications', () => {
  test('when the inbox holds more than a page, then the pages follow next_cursor, newest first, each once', async () => {
    const { user, team } = await userWithTeam();
    const titles = await notify(user, team, 5);
    const seen: string[] = [];
    let url = '/v1/me/notifications?limit=2';
    for (let page = 0; page < 5; page++) {
      const response = await get(user, url);
      assert.equal(response.statusCode, 200);
      const { data, next_cursor } = body(response);
      seen.push(...data.map((item: { title: string }) => item.title));
      if (next_cursor === null) {
        assert.equal(response.headers.link, undefined);
        break;
      }
      assert.match(String(response.headers.link), /rel="next"/);
      url = `/v1/me/notifications?limit=2&cursor=${encodeURIComponent(next_cursor)}`;
    }
    assert.deepEqual(seen, titles.toReversed());
  });

  test('when it lists a notification, then it has every documented field, and someone else’s never shows', async () => {
    const { user, team } = await userWithTeam();
    const other = await createUser(t.app);
    await notify(user, team, 1);
    const { data } = body(await get(other, '/v1/me/notifications'));
    assert.deepEqual(data, []);
    const [item] = body(await get(user, '/v1/me/notifications')).data;
    assert.deepEqual(Object.keys(item).sort(), [
      'actor_id',
      'body',
      'created_at',
      'data',
      'id',
      'kind',
      'read_at',
      'task_id',
      'team_id',
      'title',
    ]);
    assert.equal(item.kind, 'assigned');
    assert.equal(item.team_id, team.id);
    assert.match(item.created_at, RFC3339_MS);
    assert.equal(item.read_at, null);
  });

  test('when unread=true, then only unread notifications are listed, and a cursor of the full list is refused', async () => {
    const { user, team } = await userWithTeam();
    const [first, second, third] = await notify(user, team, 3);
    const all = body(await get(user, '/v1/me/notifications')).data;
    const read = all.find((item: { title: string }) => item.title === second);
    assert.equal((await post(user, `/v1/me/notifications/${read.id}/read`)).statusCode, 200);

    const unread = body(await get(user, '/v1/me/notifications?unread=true'));
    assert.deepEqual(
      unread.data.map((item: { title: string }) => item.title),
      [third, first],
    );
    const page = body(await get(user, '/v1/me/notifications?limit=1'));
    const response = await get(
      user,
      `/v1/me/notifications?limit=1&unread=true&cursor=${encodeURIComponent(page.next_cursor)}`,
    );
    assertProblem(response, 400, 'malformed_request');
  });

  test('when the query has an unknown parameter or no token, then 422 and 401', async () => {
    const { user } = await userWithTeam();
    assertProblem(await get(user, '/v1/me/notifications?unred=true'), 422, 'validation_failed');
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/me/notifications' });
    assertProblem(anonymous, 401, 'unauthenticated');
  });
});

describe('marking notifications read', () => {
  test('when a notification is marked read twice, then both answers carry the first read_at', async () => {
    const { user, team } = await userWithTeam();
    await notify(user, team, 1);
    const [item] = body(await get(user, '/v1/me/notifications')).data;
    const first = await post(user, `/v1/me/notifications/${item.id}/read`);
    assert.equal(first.statusCode, 200);
    assert.equal(body(first).id, item.id);
    assert.match(body(first).read_at, RFC3339_MS);
    const second = await post(user, `/v1/me/notifications/${item.id}/read`);
    assert.equal(second.statusCode, 200);
    assert.equal(body(second).read_at, body(first).read_at);
  });

  test('when someone marks another user’s notification read, then 404 and it stays unread', async () => {
    const { user, team } = await userWithTeam();
    const other = await createUser(t.app);
    await notify(user, team, 1);
    const [item] = body(await get(user, '/v1/me/notifications')).data;
    assertProblem(await post(other, `/v1/me/notifications/${item.id}/read`), 404, 'not_found');
    const row = await t.database.db
      .selectFrom('notifications')
      .select('read_at')
      .where('id', '=', item.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.read_at, null);
    assertProblem(
      await post(user, '/v1/me/notifications/not-a-uuid/read'),
      422,
      'validation_failed',
    );
  });

  test('when read-all is posted, then 204 and every notification of the caller is read, no one else’s', async () => {
    const { user, team } = await userWithTeam();
    const other = await createUser(t.app);
    await notify(user, team, 3);
    await notify(other, team, 1);
    const response = await post(user, '/v1/me/notifications/read-all');
    assert.equal(response.statusCode, 204);
    assert.equal(response.body, '');
    assert.deepEqual(body(await get(user, '/v1/me/notifications?unread=true')).data, []);
    assert.equal(body(await get(other, '/v1/me/notifications?unread=true')).data.length, 1);
  });
});

describe('notifyTeamAdmins', () => {
  test('when a team notice is sent twice with one source key, then each owner and admin has it once, members not', async () => {
    const owner = await createUser(t.app);
    const admin = await createUser(t.app);
    const member = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    for (const [user, role] of [
      [admin, 'admin'],
      [member, 'member'],
    ] as const) {
      const response = await t.app.inject({
        method: 'POST',
        url: `/v1/teams/${team.id}/members`,
        headers: owner.auth,
        payload: { email: user.email, role },
      });
      assert.equal(response.statusCode, 201);
    }
    const notice = {
      teamId: team.id,
      kind: 'webhook_disabled' as const,
      sourceKey: 'webhook_disabled:endpoint-1:2026-01-01',
      title: 'A webhook endpoint was disabled',
      body: 'https://example.com/hook answered 410 Gone.',
      data: { endpoint_id: 'endpoint-1' },
    };
    for (let i = 0; i < 2; i++) {
      await t.database.db.transaction().execute((trx) => notifyTeamAdmins(trx, notice));
    }
    const counts = await Promise.all(
      [owner, admin, member].map(
        async (user) => body(await get(user, '/v1/me/notifications')).data.length,
      ),
    );
    assert.deepEqual(counts, [1, 1, 0]);
    const [item] = body(await get(admin, '/v1/me/notifications')).data;
    assert.equal(item.kind, 'webhook_disabled');
    assert.deepEqual(item.data, { endpoint_id: 'endpoint-1' });
  });
});

describe('notification preferences', () => {
  test('when a user has chosen nothing, then in_app and email are on, push and sms off', async () => {
    const { user } = await userWithTeam();
    const response = await get(user, '/v1/me/notification-preferences');
    assert.equal(response.statusCode, 200);
    assert.deepEqual(body(response), { in_app: true, email: true, push: false, sms: false });
  });

  test('when PATCH gives some channels, then only those change, and the choice is kept', async () => {
    const { user } = await userWithTeam();
    const first = await patchPreferences(user, { email: false, push: true });
    assert.equal(first.statusCode, 200);
    assert.deepEqual(body(first), { in_app: true, email: false, push: true, sms: false });
    const second = await patchPreferences(user, { in_app: false });
    assert.deepEqual(body(second), { in_app: false, email: false, push: true, sms: false });
    const empty = await patchPreferences(user, {});
    assert.deepEqual(body(empty), body(second));
    assert.deepEqual(body(await get(user, '/v1/me/notification-preferences')), body(second));
  });

  test('when PATCH has an unknown field or a value that is not a boolean, then 422 and nothing changes', async () => {
    const { user } = await userWithTeam();
    await patchPreferences(user, { sms: true });
    const unknown = assertProblem(
      await patchPreferences(user, { email: false, fax: true }),
      422,
      'validation_failed',
    );
    assert.ok(unknown.errors.length > 0);
    assertProblem(await patchPreferences(user, { email: 'no' }), 422, 'validation_failed');
    assertProblem(await patchPreferences(user, { email: null }), 422, 'validation_failed');
    assert.deepEqual(body(await get(user, '/v1/me/notification-preferences')), {
      in_app: true,
      email: true,
      push: false,
      sms: true,
    });
  });
});

describe('/openapi.json', () => {
  test('documents the notification routes with their problems', async () => {
    const spec = body(await t.app.inject({ method: 'GET', url: '/openapi.json' }));
    const operations = [
      ['/v1/me/notifications', 'get', ['400', '401', '422']],
      ['/v1/me/notifications/{notification_id}/read', 'post', ['401', '404', '422']],
      ['/v1/me/notifications/read-all', 'post', ['401']],
      ['/v1/me/notification-preferences', 'get', ['401']],
      ['/v1/me/notification-preferences', 'patch', ['400', '401', '413', '415', '422']],
    ] as const;
    for (const [path, method, statuses] of operations) {
      const operation = spec.paths[path]?.[method];
      assert.ok(operation, `${method} ${path} is documented`);
      for (const status of statuses) assert.ok(operation.responses[status], `${path} ${status}`);
    }
  });
});
