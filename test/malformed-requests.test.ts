// Throws random, mostly broken requests at the whole app: whatever a client sends,
// the answer is never a 5xx, and every refusal is problem details.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createTeam, createUser, type TestUser } from './helpers/factories.ts';
import { type RegisteredRoute, recordRoutes } from './helpers/routes.ts';

let t: TestApp;
let endpoints: RegisteredRoute[];
let user: TestUser;
let teamId: string;

before(async () => {
  const recorded = await recordRoutes(() => startTestApp());
  t = recorded.result;
  endpoints = recorded.routes;
  user = await createUser(t.app);
  teamId = (await createTeam(t.app, user)).id;
});
after(() => t.close());

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];

/** Printable ASCII: what an HTTP parser lets through in a header value. */
const headerText = (maxLength: number) => fc.string({ unit: 'grapheme-ascii', maxLength });

/** Any JSON value, its strings made of any code point (NUL and lone surrogates included). */
const anyJson = fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 });

/** Strings made mostly of characters that break naive code: NUL, lone surrogates, quotes. */
const hostileText = fc.string({
  unit: fc.constantFrom('\u0000', 'a', '\ud800', '\udfff', 'é', '\u202e', '"', '\\', '\n', ' '),
  maxLength: 30,
});

const garbageSegment = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '..', '.', '', 'a'.repeat(300), '%2F'),
);

/** A route pattern with each `:param` (or `*`) filled by a real id, or also garbage. */
function pathFrom(pattern: string, garbage = true): fc.Arbitrary<string> {
  const ids = fc.oneof(fc.constantFrom(teamId, user.id, 'validation-failed'), fc.uuid());
  const segments = pattern.split('/').map((segment) => {
    if (!segment.startsWith(':') && segment !== '*') return fc.constant(segment);
    return garbage ? fc.oneof(ids, garbageSegment) : ids;
  });
  return fc.tuple(...segments).map((parts) => parts.join('/'));
}

/** A plausible value for one body field of the route's schema, or any JSON at all. */
function fieldValue(schema: Record<string, any>): fc.Arbitrary<unknown> {
  // A union without constants (a nullable string) has no literals to draw from.
  const literals = [
    ...(schema.enum ?? []),
    ...(schema.anyOf ?? []).map((s: any) => s.const),
  ].filter((value) => value !== undefined);
  const plausible =
    schema.format === 'email'
      ? fc.emailAddress()
      : literals.length > 0
        ? fc.constantFrom(...literals)
        : schema.type === 'string'
          ? fc.oneof(
              fc.string({ unit: 'binary', maxLength: (schema.maxLength ?? 100) + 2 }),
              hostileText,
            )
          : anyJson;
  return fc.oneof({ weight: 3, arbitrary: plausible }, anyJson);
}

/** A body with the fields the route's schema names, so many get past validation. */
function shapedBody(schema: Record<string, any> | undefined): fc.Arbitrary<string> {
  const properties = (schema?.properties ?? {}) as Record<string, Record<string, any>>;
  const fields = Object.fromEntries(
    Object.entries(properties).map(([name, field]) => [name, fieldValue(field)]),
  );
  return fc
    .record(fields, { requiredKeys: schema?.required ?? [] })
    .map((value) => JSON.stringify(value));
}

function bodyFor(
  schema: Record<string, any> | undefined,
): fc.Arbitrary<string | Buffer | undefined> {
  const shaped = shapedBody(schema);
  return fc.oneof(
    { weight: 6, arbitrary: shaped },
    fc.constant(undefined),
    anyJson.map((value) => JSON.stringify(value)),
    // Broken JSON: a valid body cut short, or arbitrary text or bytes.
    fc.tuple(shaped, fc.nat()).map(([json, cut]) => json.slice(0, cut % json.length)),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    fc.constantFrom('{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', 'null', '1e999'),
  );
}

const queryArb = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?limit=0', '?limit=abc', '?limit=5', '?limit=201', '?cursor=x.y', '?limit='),
  fc.dictionary(garbageSegment, garbageSegment, { maxKeys: 3 }).map(
    (query) =>
      `?${Object.entries(query)
        .map(([k, v]) => `${k}=${v}`)
        .join('&')}`,
  ),
);

const contentTypeArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant('application/json') },
  fc.constantFrom(
    undefined,
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/merge-patch+json',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    'application/json; charset=latin1',
    '',
    ';;;',
  ),
);

function headersArb(): fc.Arbitrary<Record<string, string | undefined>> {
  const authorization = fc.oneof(
    { weight: 4, arbitrary: fc.constant(`Bearer ${user.accessToken}`) },
    fc.constant(undefined),
    headerText(60).map((token) => `Bearer ${token}`),
    fc.constantFrom('Bearer', 'Basic dXNlcjpwYXNz', `Bearer ${user.refreshToken}`),
    headerText(60),
  );
  return fc.record(
    {
      'content-type': contentTypeArb,
      authorization,
      'x-request-id': fc.oneof(headerText(200), fc.constant('x'.repeat(1000))),
      traceparent: fc.oneof(
        headerText(80),
        fc.constant('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'),
      ),
      'if-match': fc.oneof(headerText(20), fc.constantFrom('*', '"v1"', 'W/"v1"')),
      'if-none-match': headerText(20),
      'idempotency-key': headerText(300),
      cookie: headerText(80),
      accept: fc.constantFrom('application/json', 'text/html', '*/*', 'image/png'),
    },
    { requiredKeys: ['authorization'] },
  );
}

/** Mostly a real route with its own method, so requests reach parsing, validation and handlers. */
function endpointArb(): fc.Arbitrary<{
  method: Method;
  path: string;
  body: string | Buffer | undefined;
}> {
  const method = fc.constantFrom(...METHODS);
  const route = fc.constantFrom(...endpoints);
  const garbagePath = fc.array(garbageSegment, { maxLength: 5 }).map((s) => `/${s.join('/')}`);
  return fc.oneof(
    {
      weight: 4,
      arbitrary: route.chain((r) =>
        fc.record({
          method: fc.constant(r.method as Method),
          path: pathFrom(r.url),
          body: bodyFor(r.bodySchema),
        }),
      ),
    },
    route.chain((r) => fc.record({ method, path: pathFrom(r.url), body: bodyFor(r.bodySchema) })),
    fc.record({ method, path: garbagePath, body: bodyFor(undefined) }),
  );
}

/**
 * A request that is well-formed on the outside (a real route and method, a valid
 * token, JSON) with hostile field values: the kind that reaches the handlers and SQL.
 */
function envelopeArb(): fc.Arbitrary<InjectOptions & { method: Method }> {
  return fc
    .record({
      route: fc.constantFrom(...endpoints),
      query: queryArb,
      requestId: fc.option(headerText(200), { nil: undefined }),
    })
    .chain(({ route, query, requestId }) =>
      fc
        .record({ path: pathFrom(route.url, false), body: shapedBody(route.bodySchema) })
        .map(({ path, body }) => ({
          method: route.method as Method,
          url: `${path}${query}`,
          headers: {
            authorization: `Bearer ${user.accessToken}`,
            'content-type': 'application/json',
            ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
          },
          ...(route.bodySchema ? { payload: body } : {}),
        })),
    );
}

/** Anything at all: random methods, paths, headers and bodies. */
function chaosArb(): fc.Arbitrary<InjectOptions & { method: Method }> {
  return fc
    .record({ endpoint: endpointArb(), query: queryArb, headers: headersArb() })
    .map(({ endpoint: { method, path, body }, query, headers }) => ({
      method,
      url: `${path}${query}`,
      headers: Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)),
      ...(body === undefined ? {} : { payload: body }),
    }));
}

function assertWellFormed(method: Method, response: LightMyRequestResponse): void {
  const status = response.statusCode;
  assert.ok(status < 500, `answered ${status}: ${response.body}`);
  assert.ok(response.headers['x-request-id'], 'no X-Request-Id');
  if (status < 400 || method === 'HEAD') return;
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const problem = JSON.parse(response.body) as { status: unknown; code: unknown };
  assert.equal(problem.status, status);
  assert.equal(typeof problem.code, 'string');
}

test('whatever the request, the answer is never a 5xx and every refusal is problem details', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(envelopeArb(), chaosArb()), async (request) => {
      assertWellFormed(request.method, await t.app.inject(request));
    }),
    { numRuns: 300 },
  );
});
