import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { body, uniqueEmail } from '../../test/helpers/factories.ts';

let t: TestApp;

/** One request of the scenario, and what its log line must say. */
interface Exchange {
  readonly name: string;
  readonly response: LightMyRequestResponse;
  readonly route: string | null;
  readonly path: string;
  readonly userId: string | null;
}

const exchanges: Exchange[] = [];
/** Every value that must never reach a log line. */
const secrets = new Map<string, string>();

const TRACE_ID_SENT = '0af7651916cd43dd8448eb211c80319c';
const TRACEPARENT_SENT = `00-${TRACE_ID_SENT}-b7ad6b7169203331-01`;

const canary = (label: string) => `${label}-${randomBytes(9).toString('hex')}`;

async function send(
  name: string,
  options: InjectOptions & { url: string },
  expected: { status: number; route: string | null; userId?: string | null },
): Promise<Record<string, any>> {
  const response = await t.app.inject(options);
  assert.equal(response.statusCode, expected.status, `${name}: ${response.body}`);
  exchanges.push({
    name,
    response,
    route: expected.route,
    path: options.url.split('?', 1)[0]!,
    userId: expected.userId ?? null,
  });
  return response.body ? body(response) : {};
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

before(async () => {
  t = await startTestApp();
  const password = canary('pw');
  const email = uniqueEmail('logs');
  secrets.set('password', password);

  const signup = await send(
    'signup',
    { method: 'POST', url: '/v1/auth/signup', payload: { email, password, name: 'Log Reader' } },
    { status: 201, route: '/v1/auth/signup' },
  );
  const userId: string = signup.user.id;
  secrets.set('signup access token', signup.access_token);
  secrets.set('signup refresh token', signup.refresh_token);

  const rejected = canary('rejected-pw');
  secrets.set('password of a refused signup', rejected);
  await send(
    'signup refused',
    {
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email: uniqueEmail(), password: rejected },
    },
    { status: 422, route: '/v1/auth/signup' },
  );

  const login = await send(
    'login',
    { method: 'POST', url: '/v1/auth/login', payload: { email, password } },
    { status: 200, route: '/v1/auth/login' },
  );
  secrets.set('login access token', login.access_token);
  secrets.set('login refresh token', login.refresh_token);

  const wrong = canary('wrong-pw');
  secrets.set('wrong password', wrong);
  await send(
    'login with a wrong password',
    { method: 'POST', url: '/v1/auth/login', payload: { email, password: wrong } },
    { status: 401, route: '/v1/auth/login' },
  );

  const refreshed = await send(
    'refresh',
    {
      method: 'POST',
      url: '/v1/auth/refresh',
      payload: { refresh_token: signup.refresh_token },
    },
    { status: 200, route: '/v1/auth/refresh' },
  );
  secrets.set('refreshed access token', refreshed.access_token);
  secrets.set('refreshed refresh token', refreshed.refresh_token);

  await send(
    'me',
    {
      method: 'GET',
      url: '/v1/me',
      headers: { ...bearer(refreshed.access_token), traceparent: TRACEPARENT_SENT },
    },
    { status: 200, route: '/v1/me', userId },
  );

  const team = await send(
    'create team',
    {
      method: 'POST',
      url: '/v1/teams',
      headers: bearer(login.access_token),
      payload: { name: 'T' },
    },
    { status: 201, route: '/v1/teams', userId },
  );

  const querySecret = canary('query');
  secrets.set('query string value', querySecret);
  await send(
    'one team, with an unknown query parameter (refused, still logged without it)',
    {
      method: 'GET',
      url: `/v1/teams/${team.id}?note=${querySecret}`,
      headers: bearer(login.access_token),
    },
    { status: 422, route: '/v1/teams/:team_id', userId },
  );

  const cursor = canary('cursor');
  secrets.set('cursor', cursor);
  await send(
    'teams with a bad cursor',
    {
      method: 'GET',
      url: `/v1/teams?limit=5&cursor=${cursor}`,
      headers: bearer(login.access_token),
    },
    { status: 400, route: '/v1/teams', userId },
  );

  const garbage = canary('garbage-token');
  secrets.set('garbage bearer token', garbage);
  await send(
    'me with a garbage token',
    { method: 'GET', url: '/v1/me', headers: bearer(garbage) },
    { status: 401, route: '/v1/me' },
  );

  const cookie = canary('cookie');
  const otherCookie = canary('other-cookie');
  secrets.set('cookie value', cookie);
  secrets.set('second cookie value', otherCookie);
  await send(
    'me with only a cookie',
    {
      method: 'GET',
      url: '/v1/me',
      headers: { cookie: `__Host-tasklane_session=${cookie}; theme=${otherCookie}` },
    },
    { status: 401, route: '/v1/me' },
  );

  await send(
    'logout',
    { method: 'POST', url: '/v1/auth/logout', headers: bearer(login.access_token) },
    { status: 204, route: '/v1/auth/logout', userId },
  );

  await send(
    'unknown route',
    { method: 'GET', url: `/v1/nowhere/123?k=${querySecret}` },
    { status: 404, route: null },
  );

  // Refused before routing: no hook runs for it, and it must still be logged once.
  await send(
    'undecodable URL',
    { method: 'GET', url: `/v1/teams/%E0%A4%A?k=${querySecret}` },
    { status: 400, route: null },
  );
});
after(() => t.close());

const completedLines = (requestId: unknown) =>
  t.logs.records.filter((r) => r.msg === 'request completed' && r.request_id === requestId);

describe('request logs', () => {
  test('hold no password, token, Authorization value, cookie or query value', () => {
    // Guard against a vacuous pass: the scenario did log.
    assert.ok(t.logs.lines.length >= exchanges.length);
    const leaked = [...secrets].filter(([, value]) => t.logs.text.includes(value));
    assert.deepEqual(
      leaked.map(([name]) => name),
      [],
    );
  });

  test('each request writes exactly one "request completed" line', () => {
    for (const exchange of exchanges) {
      const lines = completedLines(exchange.response.headers['x-request-id']);
      assert.equal(lines.length, 1, `${exchange.name}: ${lines.length} lines`);
    }
  });

  test('the line names the request id, route pattern, status, duration, trace and user', () => {
    for (const { name, response, route, userId } of exchanges) {
      const [line] = completedLines(response.headers['x-request-id']);
      assert.ok(line, name);
      const traceId = String(response.headers.traceparent).split('-')[1];
      assert.equal(line.route, route, name);
      assert.equal(line.status, response.statusCode, name);
      assert.equal(typeof line.duration_ms, 'number', name);
      assert.ok((line.duration_ms as number) >= 0, name);
      assert.equal(line.trace_id, traceId, name);
      assert.equal(line.user_id, userId, name);
    }
  });

  test("the trace id logged is the caller's when a traceparent came in", () => {
    const me = exchanges.find((e) => e.name === 'me')!;
    const [line] = completedLines(me.response.headers['x-request-id']);
    assert.equal(line?.trace_id, TRACE_ID_SENT);
  });

  test('the logged path never includes the query string', () => {
    for (const { name, response, path } of exchanges) {
      const [line] = completedLines(response.headers['x-request-id']);
      assert.equal(line?.path, path, name);
    }
  });
});
