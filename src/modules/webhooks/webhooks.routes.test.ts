import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  assertProblem,
  body,
  createTeamWithRoles,
  UUID_V7,
} from '../../../test/helpers/factories.ts';

type Roles = Awaited<ReturnType<typeof createTeamWithRoles>>;

describe('webhook endpoints', () => {
  let t: TestApp;
  let roles: Roles;
  const create = (payload: Record<string, unknown>, user = roles.owner) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/teams/${roles.team.id}/webhooks`,
      headers: user.auth,
      payload,
    });
  const count = async () =>
    (
      await t.database.db
        .selectFrom('webhook_endpoints')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('team_id', '=', roles.team.id)
        .executeTakeFirstOrThrow()
    ).n;

  before(async () => {
    // The SSRF guard stays on here: these tests check that it refuses.
    t = await startTestApp();
    roles = await createTeamWithRoles(t.app);
  });
  after(() => t.close());

  test('when an owner creates an endpoint, the answer carries its whsec_ secret once, and reads never do', async () => {
    const response = await create({
      url: 'https://hooks.example.com/tasklane',
      events: ['task.*'],
    });
    assert.equal(response.statusCode, 201, response.body);
    const created = body(response);
    assert.match(created.id, UUID_V7);
    assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(created.secret.slice(6), 'base64').length, 32);
    assert.equal(created.status, 'enabled');
    assert.deepEqual(created.events, ['task.*']);
    assert.equal(response.headers.location, `/v1/webhooks/${created.id}`);
    assert.equal(response.headers['cache-control'], 'no-store');

    const read = await t.app.inject({
      url: `/v1/webhooks/${created.id}`,
      headers: roles.owner.auth,
    });
    assert.equal(read.statusCode, 200);
    assert.equal(body(read).secret, undefined);
    assert.equal(read.headers.etag, '"v1"');
    const listed = await t.app.inject({
      url: `/v1/teams/${roles.team.id}/webhooks`,
      headers: roles.owner.auth,
    });
    assert.ok(body(listed).data.every((endpoint: { secret?: string }) => !endpoint.secret));

    const [event] = await t.database.db
      .selectFrom('events')
      .selectAll()
      .where('subject_id', '=', created.id)
      .execute();
    assert.equal(event?.type, 'webhook_endpoint.created');
    assert.doesNotMatch(JSON.stringify(event?.data), /whsec_/);
  });

  test('only owners manage webhooks: admins and members get 403, outsiders 404', async () => {
    const payload = { url: 'https://hooks.example.com/x', events: ['*'] };
    assertProblem(await create(payload, roles.admin), 403, 'forbidden');
    assertProblem(await create(payload, roles.member), 403, 'forbidden');
    assertProblem(await create(payload, roles.outsider), 404, 'not_found');
    const created = body(await create(payload));
    const read = (user: typeof roles.owner) =>
      t.app.inject({ url: `/v1/webhooks/${created.id}`, headers: user.auth });
    assertProblem(await read(roles.admin), 403, 'forbidden');
    assertProblem(await read(roles.outsider), 404, 'not_found');
  });

  test('when the URL or the events are wrong, the answer is 422 naming the field, and nothing is created', async () => {
    const before = await count();
    const cases: [Record<string, unknown>, string][] = [
      [{ url: 'ftp://hooks.example.com/', events: ['*'] }, '/url'],
      [{ url: 'not a url', events: ['*'] }, '/url'],
      [{ url: 'https://user:pass@hooks.example.com/', events: ['*'] }, '/url'],
      [{ url: 'https://hooks.example.com/', events: ['task.exploded'] }, '/events/0'],
      [{ url: 'https://hooks.example.com/', events: ['*', 'spaceship.*'] }, '/events/1'],
      [{ url: 'https://hooks.example.com/', events: [] }, '/events'],
      [{ url: 'https://hooks.example.com/', events: ['*'], secret: 'mine' }, '/secret'],
    ];
    for (const [payload, pointer] of cases) {
      const problem = assertProblem(await create(payload), 422, 'validation_failed');
      assert.ok(
        problem.errors.some((error: { pointer?: string }) => error.pointer?.startsWith(pointer)),
        `${JSON.stringify(payload)} → ${JSON.stringify(problem.errors)}`,
      );
    }
    assert.equal(await count(), before);
  });

  test('when the URL points inside the network, it is refused (SSRF guard)', async () => {
    for (const url of [
      'http://127.0.0.1:8080/',
      'http://localhost/hooks',
      'http://10.1.2.3/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/',
      'http://[::ffff:192.168.0.1]/',
      'http://[fd00::1]/',
    ]) {
      const problem = assertProblem(await create({ url, events: ['*'] }), 422, 'validation_failed');
      assert.match(problem.detail, /refused/, url);
    }
  });

  test('PATCH changes what it names, honours If-Match, and can disable and enable again', async () => {
    const created = body(await create({ url: 'https://hooks.example.com/a', events: ['task.*'] }));
    const patch = (payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
      t.app.inject({
        method: 'PATCH',
        url: `/v1/webhooks/${created.id}`,
        headers: { ...roles.owner.auth, ...headers },
        payload,
      });
    const stale = await patch({ description: 'x' }, { 'if-match': '"v9"' });
    assertProblem(stale, 412, 'precondition_failed');

    const changed = await patch(
      { events: ['comment.created'], description: 'CI' },
      { 'if-match': '"v1"' },
    );
    assert.equal(changed.statusCode, 200, changed.body);
    assert.deepEqual(body(changed).events, ['comment.created']);
    assert.equal(body(changed).description, 'CI');
    assert.equal(body(changed).url, 'https://hooks.example.com/a');
    assert.equal(body(changed).version, 2);

    const disabled = body(await patch({ status: 'disabled' }));
    assert.equal(disabled.status, 'disabled');
    assert.equal(disabled.disabled_reason, 'manual');
    const enabled = body(await patch({ status: 'enabled' }));
    assert.equal(enabled.status, 'enabled');
    assert.equal(enabled.disabled_reason, null);
    assertProblem(await patch({ url: 'http://10.0.0.1/' }), 422, 'validation_failed');
  });

  test('rotating the secret returns a new one and keeps the old one signing for the grace period', async () => {
    const created = body(await create({ url: 'https://hooks.example.com/r', events: ['*'] }));
    const rotated = await t.app.inject({
      method: 'POST',
      url: `/v1/webhooks/${created.id}/rotate-secret`,
      headers: roles.owner.auth,
      payload: { grace_seconds: 3600 },
    });
    assert.equal(rotated.statusCode, 200, rotated.body);
    const answer = body(rotated);
    assert.notEqual(answer.secret, created.secret);
    const expires = Date.parse(answer.previous_secret_expires_at) - Date.now();
    assert.ok(expires > 3590_000 && expires <= 3600_000, String(expires));
    const row = await t.database.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.secret, answer.secret);
    assert.equal(row.previous_secret, created.secret);
    assertProblem(
      await t.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${created.id}/rotate-secret`,
        headers: roles.owner.auth,
        payload: { grace_seconds: 8 * 86_400 },
      }),
      422,
      'validation_failed',
    );
  });

  test('the create and rotate routes refuse an Idempotency-Key: their answers hold a secret', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/teams/${roles.team.id}/webhooks`,
      headers: { ...roles.owner.auth, 'idempotency-key': 'k1' },
      payload: { url: 'https://hooks.example.com/i', events: ['*'] },
    });
    assertProblem(response, 400, 'malformed_request');
  });

  test('DELETE removes the endpoint; it answers 404 afterwards', async () => {
    const created = body(await create({ url: 'https://hooks.example.com/d', events: ['*'] }));
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/v1/webhooks/${created.id}`,
      headers: roles.owner.auth,
    });
    assert.equal(deleted.statusCode, 204);
    assertProblem(
      await t.app.inject({ url: `/v1/webhooks/${created.id}`, headers: roles.owner.auth }),
      404,
      'not_found',
    );
  });

  test('the list pages with a cursor bound to its team', async () => {
    const page = await t.app.inject({
      url: `/v1/teams/${roles.team.id}/webhooks?limit=2`,
      headers: roles.owner.auth,
    });
    assert.equal(page.statusCode, 200);
    const first = body(page);
    assert.equal(first.data.length, 2);
    assert.ok(first.next_cursor);
    const next = body(
      await t.app.inject({
        url: `/v1/teams/${roles.team.id}/webhooks?limit=2&cursor=${encodeURIComponent(first.next_cursor)}`,
        headers: roles.owner.auth,
      }),
    );
    assert.ok(next.data.every((endpoint: { id: string }) => endpoint.id > first.data[1].id));
  });
});
