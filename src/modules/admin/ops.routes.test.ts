import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  assertProblem,
  body,
  createUser,
  RFC3339_MS,
  type TestUser,
} from '../../../test/helpers/factories.ts';
import { AppError } from '../../http/problems.ts';
import { uuidv7 } from '../../lib/ids.ts';

const ADMIN_TOKEN = randomBytes(32).toString('hex');
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const TOP_ERRORS = '/v1/admin/ops/top-errors';

/**
 * Routes that fail for real, through the app's error handler: added to the app
 * before its first request, as a plugin of the test would be.
 */
function addFailingRoutes(app: FastifyInstance): void {
  const hidden = { schema: { hide: true } };
  app.get('/v1/test-only/broken', hidden, async () => {
    throw new Error('a bug');
  });
  let calls = 0;
  app.get('/v1/test-only/flaky', hidden, async () => {
    calls += 1;
    if (calls % 5 === 0) throw new AppError('service_unavailable', 'busy');
    return { ok: true };
  });
  app.get('/v1/test-only/quiet', hidden, async () => {
    throw new Error('the one failure of a quiet route');
  });
}

let t: TestApp;
let user: TestUser;
const topErrors = (query = '', headers: Record<string, string> = admin) =>
  t.app.inject({ method: 'GET', url: `${TOP_ERRORS}${query}`, headers });

before(async () => {
  t = await startTestApp({ env: { ADMIN_TOKEN } });
  addFailingRoutes(t.app);
  user = await createUser(t.app);
  const call = (url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url, headers });
  for (let i = 0; i < 20; i++) assert.equal((await call('/v1/test-only/broken')).statusCode, 500);
  const flaky = [];
  for (let i = 0; i < 25; i++) flaky.push((await call('/v1/test-only/flaky')).statusCode);
  assert.equal(flaky.filter((status) => status === 503).length, 5);
  assert.equal((await call('/v1/test-only/quiet')).statusCode, 500);
  // Client errors, many of them, on a real route and on no route: not failures of ours.
  for (let i = 0; i < 25; i++) {
    assert.equal((await call(`/v1/teams/${uuidv7()}`, user.auth)).statusCode, 404);
    assert.equal((await call('/v1/no-such-thing')).statusCode, 404);
  }
});
after(() => t?.close());

describe('GET /v1/admin/ops/top-errors', () => {
  test('ranks the routes by error rate; 4xx and routes under min_requests are left out', async () => {
    const response = await topErrors();
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['cache-control'], 'no-store');
    const ranking = body(response);
    assert.equal(ranking.window_seconds, 300);
    assert.equal(ranking.bucket_seconds, 10);
    assert.equal(ranking.min_requests, 20);
    assert.match(ranking.node, /^.+:\d+$/);
    assert.match(ranking.generated_at, RFC3339_MS);
    assert.deepEqual(ranking.data, [
      { method: 'GET', route: '/v1/test-only/broken', requests: 20, errors: 20, error_rate: 1 },
      { method: 'GET', route: '/v1/test-only/flaky', requests: 25, errors: 5, error_rate: 0.2 },
    ]);
  });

  test('with min_requests=1 the quiet route is listed, after the busy one that fails as often', async () => {
    const ranking = body(await topErrors('?window=1h&min_requests=1'));
    assert.equal(ranking.window_seconds, 3600);
    assert.deepEqual(
      ranking.data.map((row: { route: string; errors: number }) => [row.route, row.errors]),
      [
        ['/v1/test-only/broken', 20],
        ['/v1/test-only/quiet', 1],
        ['/v1/test-only/flaky', 5],
      ],
    );
  });

  test('k caps the list, worst first', async () => {
    const ranking = body(await topErrors('?k=1&window=30m'));
    assert.deepEqual(
      ranking.data.map((row: { route: string }) => row.route),
      ['/v1/test-only/broken'],
    );
  });

  test('is rate limited as a read, keyed by the client address', async () => {
    const response = await topErrors();
    assert.match(String(response.headers.ratelimit), /^"read";r=\d+;t=\d+$/);
  });

  test('without Authorization: 401 with a Bearer challenge, before the query is looked at', async () => {
    const response = await topErrors('?window=nonsense', {});
    assertProblem(response, 401, 'unauthenticated');
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="tasklane-admin"');
  });

  test('with a wrong token, another scheme or a user’s access token: 401 invalid_token, nothing of the ranking', async () => {
    const wrong = `Bearer ${randomBytes(32).toString('hex')}`;
    for (const authorization of [wrong, `${admin.authorization}x`, user.auth.authorization]) {
      const response = await topErrors('', { authorization });
      const problem = assertProblem(response, 401, 'unauthenticated');
      assert.equal(problem.data, undefined);
      assert.equal(
        response.headers['www-authenticate'],
        'Bearer realm="tasklane-admin", error="invalid_token"',
      );
    }
    const basic = await topErrors('', { authorization: `Basic ${ADMIN_TOKEN}` });
    assertProblem(basic, 401, 'unauthenticated');
  });

  test('the admin token never reaches the logs', () => {
    assert.ok(t.logs.lines.length > 0);
    assert.ok(!t.logs.text.includes(ADMIN_TOKEN));
  });

  const badQueries: [string, string][] = [
    ['window=5s', 'window'],
    ['window=15s', 'window'],
    ['window=61m', 'window'],
    ['window=2h', 'window'],
    ['window=0s', 'window'],
    ['window=5min', 'window'],
    ['window=300', 'window'],
    ['k=0', 'k'],
    ['k=101', 'k'],
    ['k=ten', 'k'],
    ['min_requests=0', 'min_requests'],
    ['limit=10', 'limit'],
  ];
  for (const [query, parameter] of badQueries) {
    test(`?${query} answers 422 naming ${parameter}`, async () => {
      const problem = assertProblem(await topErrors(`?${query}`), 422, 'validation_failed');
      assert.equal(problem.errors[0].parameter, parameter);
    });
  }

  test('windows from one bucket to the retention are taken, in s, m or h', async () => {
    for (const [window, seconds] of [
      ['10s', 10],
      ['90s', 90],
      ['60m', 3600],
      ['3600s', 3600],
      ['1h', 3600],
    ] as const) {
      const response = await topErrors(`?window=${window}`);
      assert.equal(response.statusCode, 200, `${window}: ${response.body}`);
      assert.equal(body(response).window_seconds, seconds);
    }
  });

  test('/openapi.json documents it with its problems and its own security scheme', async () => {
    const spec = body(await t.app.inject({ method: 'GET', url: '/openapi.json' }));
    const validator = new Validator();
    const result = await validator.validate(structuredClone(spec));
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
    const operation = spec.paths[TOP_ERRORS].get;
    assert.deepEqual(operation.security, [{ adminToken: [] }]);
    assert.equal(spec.components.securitySchemes.adminToken.scheme, 'bearer');
    assert.deepEqual(Object.keys(operation.responses).sort(), [
      '200',
      '401',
      '422',
      '429',
      '500',
      '503',
    ]);
    for (const status of ['401', '422', '429', '500', '503']) {
      assert.equal(
        operation.responses[status].content['application/problem+json'].schema.$ref,
        '#/components/schemas/Problem',
      );
    }
    assert.deepEqual(
      operation.parameters.map((p: { name: string; required?: boolean }) => [
        p.name,
        p.required ?? false,
      ]),
      [
        ['window', false],
        ['k', false],
        ['min_requests', false],
      ],
    );
  });
});

describe('without ADMIN_TOKEN', () => {
  let disabled: FastifyInstance;
  before(async () => {
    disabled = await t.another({ ADMIN_TOKEN: '' });
  });

  test('the admin API answers 404 as an unknown URL does, whatever the token', async () => {
    const response = await disabled.inject({ method: 'GET', url: TOP_ERRORS, headers: admin });
    const problem = assertProblem(response, 404, 'not_found');
    assert.equal(problem.detail, `no route for GET ${TOP_ERRORS}`);
    const unknown = await disabled.inject({ method: 'GET', url: '/v1/admin/ops/nothing' });
    assert.deepEqual(
      Object.keys(response.headers).sort(),
      Object.keys(unknown.headers).sort(),
      'the same headers as any unknown URL: no rate limit, no challenge',
    );
  });

  test('/openapi.json does not list it', async () => {
    const spec = body(await disabled.inject({ method: 'GET', url: '/openapi.json' }));
    assert.equal(spec.paths[TOP_ERRORS], undefined);
    assert.ok(Object.keys(spec.paths).length > 10);
  });
});
