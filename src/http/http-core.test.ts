import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { assertProblem, body, createUser, type TestUser } from '../../test/helpers/factories.ts';
import { type RegisteredRoute, recordRoutes } from '../../test/helpers/routes.ts';
import { BODY_LIMIT_BYTES } from '../app.ts';
import { type ProblemCode, problemCatalogue, problemSlug } from './problems.ts';

let t: TestApp;
let routes: RegisteredRoute[];
let user: TestUser;

const BOOM_MESSAGE = 'SELECT secret_column FROM hidden_table WHERE id = 42';

before(async () => {
  ({ result: t, routes } = await recordRoutes(() => startTestApp()));
  // Routes can only be added before the first inject readies the app.
  t.app.get('/__boom', { schema: { hide: true } }, async () => {
    throw new Error(BOOM_MESSAGE);
  });
  user = await createUser(t.app);
});
after(() => t.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

const postJson = (url: string, payload: string, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...user.auth, ...headers },
    payload,
  });

const fieldsOf = (problem: Record<string, any>, key: 'pointer' | 'parameter') =>
  (problem.errors as Record<string, string>[]).map((error) => error[key]).sort();

describe('X-Request-Id', () => {
  const sane = [
    randomUUID(),
    '01JD3ZK8Q9W4X6V2N5M7B1C0EF',
    'req_abc.DEF~1:2/3+4=5@6-7',
    'x'.repeat(128),
  ];
  for (const id of sane) {
    test(`when the caller sends the sane id ${id.slice(0, 30)}…, the response echoes it`, async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { 'x-request-id': id },
      });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['x-request-id'], id);
    });
  }

  const insane: [string, string][] = [
    ['129 characters long', 'x'.repeat(129)],
    ['holding a space', 'abc def'],
    ['holding a tab', 'abc\tdef'],
    ['holding a control character', 'abc\u0001def'],
    ['holding non-ASCII', 'abcé'],
    ['holding markup', '<script>alert(1)</script>'],
    ['holding quotes and a semicolon', '"a";b'],
  ];
  for (const [why, id] of insane) {
    test(`when the caller's id is ${why}, a generated UUID replaces it`, async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { 'x-request-id': id },
      });
      const echoed = String(response.headers['x-request-id']);
      assert.notEqual(echoed, id);
      assert.match(echoed, UUID);
    });
  }

  test('when no id is sent, every response gets a fresh UUID', async () => {
    const [a, b] = await Promise.all([
      t.app.inject({ method: 'GET', url: '/healthz' }),
      t.app.inject({ method: 'GET', url: '/healthz' }),
    ]);
    assert.match(String(a.headers['x-request-id']), UUID);
    assert.match(String(b.headers['x-request-id']), UUID);
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
  });

  test('the request_id of a problem body is the X-Request-Id the caller sent', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/v1/nowhere',
      headers: { 'x-request-id': 'trace-me-123' },
    });
    const problem = assertProblem(response, 404, 'not_found');
    assert.equal(problem.request_id, 'trace-me-123');
  });

  test('when the URL cannot even be decoded, the 400 still carries the request id and trace', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/v1/teams/%E0%A4%A',
      headers: { 'x-request-id': 'bad-url-1' },
    });
    const problem = assertProblem(response, 400, 'malformed_request');
    assert.equal(problem.request_id, 'bad-url-1');
    assert.match(String(response.headers.traceparent), TRACEPARENT);
  });
});

describe('traceparent', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parentId = '00f067aa0ba902b7';

  test('a valid traceparent keeps its trace id and flags, with a new span id for this request', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { traceparent: `00-${traceId}-${parentId}-01` },
    });
    const match = TRACEPARENT.exec(String(response.headers.traceparent));
    assert.ok(match, `not a traceparent: ${response.headers.traceparent}`);
    assert.equal(match[1], traceId);
    assert.notEqual(match[2], parentId);
    assert.notEqual(match[2], '0'.repeat(16));
    assert.equal(match[3], '01');
  });

  test('two requests in one trace get two different span ids', async () => {
    const headers = { traceparent: `00-${traceId}-${parentId}-00` };
    const [a, b] = await Promise.all([
      t.app.inject({ method: 'GET', url: '/healthz', headers }),
      t.app.inject({ method: 'GET', url: '/healthz', headers }),
    ]);
    const spanA = TRACEPARENT.exec(String(a.headers.traceparent))?.[2];
    const spanB = TRACEPARENT.exec(String(b.headers.traceparent))?.[2];
    assert.ok(spanA && spanB);
    assert.notEqual(spanA, spanB);
  });

  test('a later version is read by its first four fields, extra fields ignored', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { traceparent: `01-${traceId}-${parentId}-01-future-stuff` },
    });
    assert.equal(TRACEPARENT.exec(String(response.headers.traceparent))?.[1], traceId);
  });

  const invalid: [string, string][] = [
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${parentId}-01`],
    ['an all-zero parent id', `00-${traceId}-${'0'.repeat(16)}-01`],
    ['the forbidden version ff', `ff-${traceId}-${parentId}-01`],
    ['uppercase hex', `00-${traceId.toUpperCase()}-${parentId}-01`],
    ['a short trace id', `00-${traceId.slice(1)}-${parentId}-01`],
    ['garbage', 'not-a-traceparent'],
    ['version 00 followed by extra fields', `00-${traceId}-${parentId}-01-extra`],
  ];
  for (const [why, header] of invalid) {
    test(`a traceparent with ${why} starts a new trace`, async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { traceparent: header },
      });
      const match = TRACEPARENT.exec(String(response.headers.traceparent));
      assert.ok(match, `not a traceparent: ${response.headers.traceparent}`);
      assert.notEqual(match[1], traceId);
      assert.notEqual(match[1], '0'.repeat(32));
    });
  }

  test('without a traceparent, each request starts its own trace', async () => {
    const a = await t.app.inject({ method: 'GET', url: '/healthz' });
    const b = await t.app.inject({ method: 'GET', url: '/healthz' });
    const traceA = TRACEPARENT.exec(String(a.headers.traceparent))?.[1];
    const traceB = TRACEPARENT.exec(String(b.headers.traceparent))?.[1];
    assert.ok(traceA && traceB);
    assert.notEqual(traceA, traceB);
  });
});

describe('request bodies', () => {
  test('malformed JSON answers 400 malformed_request', async () => {
    assertProblem(await postJson('/v1/teams', '{"name": "x"'), 400, 'malformed_request');
  });

  test('an empty body sent as JSON answers 400 malformed_request', async () => {
    assertProblem(await postJson('/v1/teams', ''), 400, 'malformed_request');
  });

  for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
    test(`a ${contentType} body answers 415 unsupported_media_type`, async () => {
      const response = await postJson('/v1/teams', 'name=x', { 'content-type': contentType });
      assertProblem(response, 415, 'unsupported_media_type');
    });
  }

  test('a body larger than 1 MiB answers 413; one of exactly 1 MiB is read', async () => {
    const padded = (size: number) => {
      const shell = JSON.stringify({ name: '' });
      return JSON.stringify({ name: 'x'.repeat(size - shell.length) });
    };
    const atLimit = padded(BODY_LIMIT_BYTES);
    assert.equal(Buffer.byteLength(atLimit), 1024 * 1024);
    // Read and validated: the name is too long, but the size was fine.
    assertProblem(await postJson('/v1/teams', atLimit), 422, 'validation_failed');
    assertProblem(
      await postJson('/v1/teams', padded(BODY_LIMIT_BYTES + 1)),
      413,
      'payload_too_large',
    );
  });

  const invalidBodies: [string, unknown, string[]][] = [
    ['a field of the wrong type', { name: 42 }, ['/name']],
    ['a field that is too long', { name: 'x'.repeat(201) }, ['/name']],
    ['an unknown field', { name: 'ok', colour: 'red' }, ['/colour']],
    ['a missing field', {}, ['/name']],
    ['several problems at once', { name: true, colour: 'red' }, ['/colour', '/name']],
  ];
  for (const [why, payload, pointers] of invalidBodies) {
    test(`a body with ${why} answers 422 naming each field, and creates nothing`, async () => {
      const response = await postJson('/v1/teams', JSON.stringify(payload));
      const problem = assertProblem(response, 422, 'validation_failed');
      assert.deepEqual(fieldsOf(problem, 'pointer'), pointers);
      const teams = await t.app.inject({ method: 'GET', url: '/v1/teams', headers: user.auth });
      assert.deepEqual(body(teams).data, []);
    });
  }

  test('a string holding a NUL character answers 422 on its pointer, not a database 500', async () => {
    const response = await postJson('/v1/teams', JSON.stringify({ name: 'nul\u0000team' }));
    const problem = assertProblem(response, 422, 'validation_failed');
    assert.deepEqual(fieldsOf(problem, 'pointer'), ['/name']);
    const teams = await t.app.inject({ method: 'GET', url: '/v1/teams', headers: user.auth });
    assert.deepEqual(body(teams).data, []);
  });
});

describe('query and path parameters', () => {
  const badQueries: [string, string][] = [
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1.5', 'limit'],
    ['colour=red', 'colour'],
  ];
  for (const [query, parameter] of badQueries) {
    test(`GET /v1/teams?${query} answers 422 naming the parameter ${parameter}`, async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/v1/teams?${query}`,
        headers: user.auth,
      });
      const problem = assertProblem(response, 422, 'validation_failed');
      assert.deepEqual(fieldsOf(problem, 'parameter'), [parameter]);
    });
  }

  test('a route without query parameters refuses any, naming it', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/v1/me?verbose=1',
      headers: user.auth,
    });
    const problem = assertProblem(response, 422, 'validation_failed');
    assert.deepEqual(fieldsOf(problem, 'parameter'), ['verbose']);
  });

  test('a query parameter holding a NUL character answers 422 naming it', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/v1/teams?cursor=abc%00def',
      headers: user.auth,
    });
    const problem = assertProblem(response, 422, 'validation_failed');
    assert.deepEqual(fieldsOf(problem, 'parameter'), ['cursor']);
  });

  test('a path id that is not a UUID answers 422 naming the parameter', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/v1/teams/not-a-uuid',
      headers: user.auth,
    });
    const problem = assertProblem(response, 422, 'validation_failed');
    assert.deepEqual(fieldsOf(problem, 'parameter'), ['team_id']);
  });

  test('a urn:uuid: id answers 422, not a database 500', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/teams/urn:uuid:${randomUUID()}`,
      headers: user.auth,
    });
    const problem = assertProblem(response, 422, 'validation_failed');
    assert.deepEqual(fieldsOf(problem, 'parameter'), ['team_id']);
  });
});

describe('routing', () => {
  for (const url of ['/v1/nowhere', '/nowhere', '/v1/teams/a/b/c/d']) {
    test(`an unknown route (${url}) answers 404 not_found`, async () => {
      const response = await t.app.inject({ method: 'GET', url });
      const problem = assertProblem(response, 404, 'not_found');
      assert.equal(problem.instance, url);
    });
  }

  const wrongMethods: [string, string, string[]][] = [
    ['PUT', '/v1/teams', ['GET', 'HEAD', 'POST']],
    ['DELETE', '/v1/auth/login', ['POST']],
    ['PUT', `/v1/teams/${randomUUID()}`, ['DELETE', 'GET', 'HEAD', 'PATCH']],
  ];
  for (const [method, url, allowed] of wrongMethods) {
    test(`${method} ${url.replace(/[0-9a-f-]{36}/, '{id}')} answers 405 with Allow: ${allowed.join(', ')}`, async () => {
      const response = await t.app.inject({ method: method as 'PUT', url, headers: user.auth });
      assertProblem(response, 405, 'method_not_allowed');
      const allow = String(response.headers.allow)
        .split(',')
        .map((m) => m.trim())
        .sort();
      assert.deepEqual(allow, allowed);
    });
  }
});

describe('authentication comes first', () => {
  test('an invalid body without a token answers 401, not 422: the schema is not revealed', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/teams',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 42, extra: true }),
    });
    assertProblem(response, 401, 'unauthenticated');
  });

  test('every 401 carries a WWW-Authenticate challenge, a failed login included', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'nobody@example.com', password: 'not-a-password' },
    });
    assertProblem(response, 401, 'unauthenticated');
    assert.match(String(response.headers['www-authenticate']), /^Bearer realm="tasklane"/);
  });
});

describe('problem instance', () => {
  test('is the path without its query, capped at 2048 characters', async () => {
    const long = `/v1/${'x'.repeat(5000)}`;
    const response = await t.app.inject({ method: 'GET', url: `${long}?q=secret` });
    const problem = assertProblem(response, 404, 'not_found');
    assert.equal(problem.instance, long.slice(0, 2048));
    assert.ok(problem.detail.length < 300, 'the detail does not echo the whole path');
  });
});

describe('unexpected errors', () => {
  test('answer a bare 500 internal: no message, no stack, no SQL', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/__boom' });
    const problem = assertProblem(response, 500, 'internal');
    assert.deepEqual(Object.keys(problem).sort(), [
      'code',
      'detail',
      'instance',
      'request_id',
      'status',
      'title',
      'type',
    ]);
    for (const leak of ['SELECT', 'hidden_table', 'secret_column', 'Error', 'at ', '.ts']) {
      assert.ok(!response.body.includes(leak), `the body leaks "${leak}": ${response.body}`);
    }
  });

  test('are logged server-side at error level with the cause, under the request id', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/__boom' });
    const requestId = response.headers['x-request-id'];
    const failure = t.logs.records.find(
      (record) => record.request_id === requestId && record.err !== undefined,
    ) as { level: number; err: { message: string; stack: string } } | undefined;
    assert.ok(failure, 'no error line for the 500');
    assert.equal(failure.level, 50);
    assert.equal(failure.err.message, BOOM_MESSAGE);
    assert.match(failure.err.stack, /http-core\.test\.ts/);
  });
});

describe('problem type pages', () => {
  for (const code of Object.keys(problemCatalogue) as ProblemCode[]) {
    test(`GET /problems/${problemSlug(code)} answers a human page`, async () => {
      const response = await t.app.inject({ method: 'GET', url: `/problems/${problemSlug(code)}` });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^text\/html/);
      assert.ok(response.body.includes(problemCatalogue[code].title));
      assert.ok(response.body.includes(`<code>${code}</code>`));
    });
  }

  test("a problem's type is a page the server serves", async () => {
    const problem = body(await t.app.inject({ method: 'GET', url: '/v1/nowhere' }));
    assert.equal(problem.type, '/problems/not-found');
    const page = await t.app.inject({ method: 'GET', url: problem.type });
    assert.equal(page.statusCode, 200);
  });

  test('an unknown problem type answers 404 not_found', async () => {
    assertProblem(await t.app.inject({ method: 'GET', url: '/problems/nope' }), 404, 'not_found');
  });
});

type Operation = {
  parameters?: { in: string; name: string }[];
  requestBody?: unknown;
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
};

/** The problem statuses an operation must document, from what it takes. */
function requiredProblems(operation: Operation): string[] {
  const params = operation.parameters ?? [];
  const required = ['500'];
  if (operation.security?.length) required.push('401');
  if (operation.requestBody) required.push('400', '413', '415', '422');
  if (params.some((p) => p.in === 'path' || p.in === 'query')) required.push('422');
  if (params.some((p) => p.in === 'path')) required.push('404');
  if (params.some((p) => p.in === 'query' && p.name === 'cursor')) required.push('400');
  if (params.some((p) => p.in === 'header' && p.name === 'if-match')) required.push('412');
  return [...new Set(required)].sort();
}

describe('/openapi.json', () => {
  let spec: Record<string, any>;
  before(async () => {
    const response = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(response.statusCode, 200);
    spec = body(response);
  });

  test('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(spec));
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, '3.1');
  });

  test('a query parameter with a default is documented as optional, and the default applies', async () => {
    const parameters: { name: string; required?: boolean }[] =
      spec.paths['/v1/teams'].get.parameters;
    assert.equal(parameters.find((p) => p.name === 'limit')?.required ?? false, false);
    const response = await t.app.inject({ method: 'GET', url: '/v1/teams', headers: user.auth });
    assert.equal(response.statusCode, 200);
  });

  test('documents every /v1 route the app serves', () => {
    const v1 = routes.filter((route) => route.url.startsWith('/v1/'));
    assert.ok(v1.length >= 10, `only ${v1.length} /v1 routes recorded`);
    const missing = v1
      .map((route) => ({ ...route, path: route.url.replace(/:([a-z_]+)/g, '{$1}') }))
      .filter((route) => !spec.paths[route.path]?.[route.method.toLowerCase()])
      .map((route) => `${route.method} ${route.path}`);
    assert.deepEqual(missing, []);
  });

  test('every operation documents its problems as application/problem+json', () => {
    const problemRef = '#/components/schemas/Problem';
    assert.ok(spec.components.schemas.Problem, 'no Problem schema component');
    const gaps: string[] = [];
    for (const [path, item] of Object.entries(spec.paths as Record<string, any>)) {
      for (const [method, operation] of Object.entries(item as Record<string, Operation>)) {
        const where = `${method.toUpperCase()} ${path}`;
        for (const status of requiredProblems(operation)) {
          if (!operation.responses[status]) gaps.push(`${where} does not document ${status}`);
        }
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue;
          const types = Object.keys(response.content ?? {});
          const ref = response.content?.['application/problem+json']?.schema?.$ref;
          if (types.join() !== 'application/problem+json' || ref !== problemRef) {
            gaps.push(`${where} ${status} is ${types.join() || 'empty'} (${ref})`);
          }
        }
      }
    }
    assert.deepEqual(gaps, []);
  });
});

describe('/docs', () => {
  test('serves an HTML API reference (after at most a redirect or two)', async () => {
    let url = '/docs';
    let response = await t.app.inject({ method: 'GET', url });
    for (
      let hops = 0;
      hops < 3 && response.statusCode >= 300 && response.statusCode < 400;
      hops++
    ) {
      url = new URL(String(response.headers.location), `http://localhost${url}`).pathname;
      response = await t.app.inject({ method: 'GET', url });
    }
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.match(response.body, /<html/i);
  });

  test('the reference shows the same document as /openapi.json', async () => {
    const [docs, openapi] = await Promise.all([
      t.app.inject({ method: 'GET', url: '/docs/json' }),
      t.app.inject({ method: 'GET', url: '/openapi.json' }),
    ]);
    assert.equal(docs.statusCode, 200);
    assert.deepEqual(body(docs), body(openapi));
  });
});
