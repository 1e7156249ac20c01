import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { GENEROUS_RATE_LIMITS, startTestApp, type TestApp } from '../../test/helpers/app.ts';
import {
  assertProblem,
  body,
  createTeam,
  createUser,
  PASSWORD,
} from '../../test/helpers/factories.ts';
import { createProject } from '../../test/helpers/project-factories.ts';
import { raceOnRow } from '../../test/helpers/race.ts';
import { createTask } from '../../test/helpers/task-factories.ts';

const QUOTA_EXCEEDED = 'https://iana.org/assignments/http-problem-types#quota-exceeded';

/** The suite's generous limits with some policies made tight. */
function limits(tight: string): string {
  return `${GENEROUS_RATE_LIMITS} ${tight}`;
}

describe('rate limit headers and refusals', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { RATE_LIMITS: limits('read.free=3/60 read.pro=7/60') } });
  });
  after(async () => await t.close());

  test('every /v1 response says the policies and what is left; the quota then answers 429', async () => {
    const user = await createUser(t.app);
    const me = () => t.app.inject({ method: 'GET', url: '/v1/me', headers: user.auth });

    const first = await me();
    assert.equal(first.statusCode, 200);
    assert.equal(
      first.headers['ratelimit-policy'],
      '"read";q=3;w=60, "write";q=100000;w=60, "search";q=100000;w=60',
    );
    // 3 per 60 s: one read is 20 s of the bucket.
    assert.equal(first.headers.ratelimit, '"read";r=2;t=20');
    assert.equal((await me()).headers.ratelimit, '"read";r=1;t=40');
    assert.equal((await me()).headers.ratelimit, '"read";r=0;t=60');

    const refused = await me();
    const problem = assertProblem(refused, 429, 'rate_limited');
    assert.equal(problem.type, QUOTA_EXCEEDED);
    assert.deepEqual(problem['violated-policies'], ['read']);
    assert.equal(refused.headers['retry-after'], '20');
    assert.equal(refused.headers['cache-control'], 'no-store');
    assert.equal(refused.headers.ratelimit, '"read";r=0;t=20');
    assert.ok(refused.headers['ratelimit-policy']);

    // Writes are another class, with their own quota.
    const write = await t.app.inject({
      method: 'POST',
      url: '/v1/teams',
      headers: user.auth,
      payload: { name: 'Still writing' },
    });
    assert.equal(write.statusCode, 201);
    assert.match(String(write.headers.ratelimit), /^"write";r=99999;t=1$/);
  });

  test('callers do not share a quota, and errors carry the headers too', async () => {
    const [a, b] = [await createUser(t.app), await createUser(t.app)];
    for (let i = 0; i < 3; i++) {
      await t.app.inject({ method: 'GET', url: '/v1/me', headers: a.auth });
    }
    const other = await t.app.inject({ method: 'GET', url: '/v1/me', headers: b.auth });
    assert.equal(other.statusCode, 200);
    const missing = await t.app.inject({
      method: 'GET',
      url: '/v1/tasks/0190a6f4-0000-7000-8000-000000000000',
      headers: b.auth,
    });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.headers.ratelimit, '"read";r=1;t=40');
  });

  test('anonymous requests are charged to their IP: past the quota a 429 comes before the 401', async () => {
    const anonymous = (remoteAddress: string) =>
      t.app.inject({ method: 'GET', url: '/v1/me', remoteAddress });
    for (let i = 0; i < 3; i++) {
      const response = await anonymous('198.51.100.1');
      assertProblem(response, 401, 'unauthenticated');
      assert.ok(response.headers.ratelimit);
    }
    assertProblem(await anonymous('198.51.100.1'), 429, 'rate_limited');
    assertProblem(await anonymous('198.51.100.2'), 401, 'unauthenticated');
  });

  test("a pro team's members get the pro quotas", async () => {
    const user = await createUser(t.app);
    const team = await createTeam(t.app, user);
    await sql`UPDATE teams SET plan = 'pro' WHERE id = ${team.id}`.execute(t.database.db);
    // A caller's plan is read on their first limited request after it is cached out; this one is new.
    const fresh = await createUser(t.app);
    await t.app.inject({
      method: 'POST',
      url: `/v1/teams/${team.id}/members`,
      headers: user.auth,
      payload: { email: fresh.email, role: 'member' },
    });
    const response = await t.app.inject({ method: 'GET', url: '/v1/me', headers: fresh.auth });
    assert.match(String(response.headers['ratelimit-policy']), /^"read";q=7;w=60,/);
    assert.match(String(response.headers.ratelimit), /^"read";r=6;/);
  });

  test('a 304 costs nothing: conditional reads never use the quota up', async () => {
    const user = await createUser(t.app);
    const team = await createTeam(t.app, user);
    const get = (headers: Record<string, string> = {}) =>
      t.app.inject({
        method: 'GET',
        url: `/v1/teams/${team.id}`,
        headers: { ...user.auth, ...headers },
      });
    const first = await get();
    assert.equal(first.headers.ratelimit, '"read";r=2;t=20');
    for (let i = 0; i < 5; i++) {
      const notModified = await get({ 'if-none-match': String(first.headers.etag) });
      assert.equal(notModified.statusCode, 304);
      assert.equal(notModified.headers.ratelimit, '"read";r=2;t=20');
    }
    // The refunds are fire-and-forget; on the memory store they are done by now.
    assert.equal((await get()).statusCode, 200);
    assert.equal((await get()).statusCode, 200);
    assertProblem(await get(), 429, 'rate_limited');
  });

  test('health checks, metrics and documentation are never limited and carry no headers', async () => {
    for (let i = 0; i < 5; i++) {
      for (const url of ['/healthz', '/readyz', '/openapi.json', '/metrics']) {
        const response = await t.app.inject({ method: 'GET', url, remoteAddress: '198.51.100.9' });
        assert.equal(response.statusCode, 200, url);
        assert.equal(response.headers.ratelimit, undefined, url);
      }
    }
  });

  test('/metrics counts decisions by class and outcome', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(response.body, /ratelimit_decisions_total\{class="read",outcome="allowed"\} \d+/);
    assert.match(response.body, /ratelimit_decisions_total\{class="read",outcome="limited"\} \d+/);
  });

  test('/openapi.json documents 429 and 503 on every /v1 operation', async () => {
    const spec = body(await t.app.inject({ method: 'GET', url: '/openapi.json' })) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    for (const [path, operations] of Object.entries(spec.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, operation] of Object.entries(operations)) {
        assert.ok(operation.responses['429'], `${method} ${path} 429`);
        assert.ok(operation.responses['503'], `${method} ${path} 503`);
      }
    }
  });
});

describe('behind a proxy (TRUST_PROXY=loopback)', () => {
  test('the client address is the one the proxy saw: a forged X-Forwarded-For entry buys no new bucket', async () => {
    const t = await startTestApp({
      env: { TRUST_PROXY: 'loopback', RATE_LIMITS: limits('read.free=3/60') },
    });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) {
        const response = await t.app.inject({
          method: 'GET',
          url: '/v1/me',
          headers: { 'x-forwarded-for': `10.9.8.${i}, 198.51.100.77` },
        });
        statuses.push(response.statusCode);
      }
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    } finally {
      await t.close();
    }
  });
});

describe('sign-in limits', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { RATE_LIMITS: limits('auth=3/60~2 login=2/600~1') } });
  });
  after(async () => await t.close());

  const login = (email: string, remoteAddress: string, password = 'not-the-password') =>
    t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email, password },
      remoteAddress,
    });

  test('a login is charged to the IP and to the account: guessing from many IPs still stops', async () => {
    const user = await createUser(t.app);
    const first = await login(user.email, '192.0.2.1');
    assertProblem(first, 401, 'unauthenticated');
    assert.equal(first.headers['ratelimit-policy'], '"auth";q=3;w=60, "login";q=2;w=600');
    assert.equal(first.headers.ratelimit, '"auth";r=2;t=20, "login";r=1;t=300');
    assertProblem(await login(user.email, '192.0.2.2'), 401, 'unauthenticated');

    const third = await login(user.email.toUpperCase(), '192.0.2.3', PASSWORD);
    const problem = assertProblem(third, 429, 'rate_limited');
    assert.deepEqual(problem['violated-policies'], ['login']);
    assert.equal(third.headers['retry-after'], '300');
    // Another account from the same addresses is untouched.
    const other = await createUser(t.app);
    assert.equal((await login(other.email, '192.0.2.3', PASSWORD)).statusCode, 200);
  });

  test('sign-in routes are charged per IP, whoever is signed in', async () => {
    const signup = (email: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/auth/signup',
        payload: { email, password: PASSWORD, name: 'N' },
        remoteAddress: '192.0.2.50',
      });
    for (let i = 0; i < 3; i++)
      assert.equal((await signup(`s${i}-${Date.now()}@example.com`)).statusCode, 201);
    const refused = await signup(`s4-${Date.now()}@example.com`);
    assert.deepEqual(assertProblem(refused, 429, 'rate_limited')['violated-policies'], ['auth']);
    assert.equal(refused.headers['retry-after'], '20');
  });
});

describe('the concurrency cap', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_CONCURRENCY: '2' } });
  });
  after(async () => await t.close());

  test("a caller's third request in flight is refused; the slots come back when they finish", async () => {
    const user = await createUser(t.app);
    const team = await createTeam(t.app, user);
    const project = await createProject(t.app, user, team.id);
    const task = await createTask(t.app, user, project.id);
    const patch = (title: string) => () =>
      t.app.inject({
        method: 'PATCH',
        url: `/v1/tasks/${task.id}`,
        headers: { ...user.auth, 'content-type': 'application/merge-patch+json' },
        payload: { title },
      });
    // Two PATCHes wait on the row the test holds; the third finds both slots taken.
    const [a, b, c] = await raceOnRow(
      t.database.db,
      { table: 'tasks', id: task.id },
      [
        patch('a'),
        patch('b'),
        async () => {
          await sleep(100);
          return await patch('c')();
        },
      ],
      500,
    );
    assert.deepEqual([a!.statusCode, b!.statusCode].sort(), [200, 200]);
    const problem = assertProblem(c!, 429, 'rate_limited');
    assert.deepEqual(problem['violated-policies'], ['concurrency']);
    assert.equal(c!.headers['retry-after'], '1');
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(
      metrics.body,
      /ratelimit_decisions_total\{class="concurrency",outcome="limited"\} 1/,
    );
    assert.equal((await patch('d')()).statusCode, 200);
  });
});

describe('refused before the idempotency layer and the handler', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { RATE_LIMITS: limits('write.free=10/10') } });
  });
  after(async () => await t.close());

  test('a refused POST with an Idempotency-Key stores nothing: its retry runs it', async () => {
    const user = await createUser(t.app);
    const create = (key: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/teams',
        headers: { ...user.auth, 'idempotency-key': key },
        payload: { name: key },
      });
    // Writes until the bucket (10 per 10 s) is used up; a slow machine may refill one or two.
    let refused: Awaited<ReturnType<typeof create>> | undefined;
    for (let i = 0; i < 20 && refused === undefined; i++) {
      const response = await create(`k${i}`);
      if (response.statusCode === 429) refused = response;
      else assert.equal(response.statusCode, 201);
    }
    assert.ok(refused, 'the quota ran out');
    const late = await create('late');
    assertProblem(late, 429, 'rate_limited');
    const stored = await t.database.db
      .selectFrom('idempotency_keys')
      .select('key')
      .where('key', '=', 'late')
      .execute();
    assert.deepEqual(stored, []);
    const teams = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM teams WHERE name = 'late'`.execute(t.database.db);
    assert.equal(teams.rows[0]!.n, 0);

    // After Retry-After seconds the same request goes through, and runs for the first time.
    await sleep(Number(late.headers['retry-after']) * 1000);
    const retried = await create('late');
    assert.equal(retried.statusCode, 201);
    assert.equal(retried.headers['idempotent-replayed'], undefined);
  });
});

describe('the node ceiling and switching limits off', () => {
  test('past RATE_LIMIT_NODE_RPS the node answers 503 with Retry-After to everyone', async () => {
    const t = await startTestApp({ env: { RATE_LIMIT_NODE_RPS: '3' } });
    try {
      // 3 per second, 3 at once: of ten requests at once, three get through.
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          t.app.inject({ method: 'GET', url: '/v1/me', remoteAddress: `192.0.2.${i + 100}` }),
        ),
      );
      const statuses = responses.map((response) => response.statusCode);
      assert.ok(statuses.filter((status) => status === 401).length >= 3, String(statuses));
      const shed = responses.find((response) => response.statusCode === 503);
      // Unknown URLs count against the node too; the health checks never do.
      const more = await Promise.all(
        ['/no-such-page', '/no-such-page', '/no-such-page', '/healthz', '/healthz'].map((url) =>
          t.app.inject({ method: 'GET', url }),
        ),
      );
      assert.ok(
        more.slice(0, 3).some((response) => response.statusCode === 503),
        String(more.map((response) => response.statusCode)),
      );
      assert.deepEqual(
        more.slice(3).map((response) => response.statusCode),
        [200, 200],
      );
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(
        metrics.body,
        /ratelimit_decisions_total\{class="node",outcome="limited"\} [1-9]/,
      );
      assert.ok(shed, String(statuses));
      const problem = assertProblem(shed, 503, 'service_unavailable');
      assert.match(problem.detail, /ceiling/);
      assert.equal(shed.headers['retry-after'], '1');
    } finally {
      await t.close();
    }
  });

  test('RATE_LIMIT_ENABLED=false: no limits, no headers', async () => {
    const t = await startTestApp({
      env: { RATE_LIMIT_ENABLED: 'false', RATE_LIMITS: limits('read.free=2/60') },
    });
    try {
      const user = await createUser(t.app);
      for (let i = 0; i < 3; i++) {
        const response = await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.auth });
        assert.equal(response.statusCode, 200);
        assert.equal(response.headers.ratelimit, undefined);
      }
    } finally {
      await t.close();
    }
  });
});
