import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import {
  assertProblem,
  body,
  createUser,
  PASSWORD,
  RFC3339_MS,
  UUID_V7,
  uniqueEmail,
} from '../../../test/helpers/factories.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

const refresh = (refreshToken: string) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/auth/refresh',
    payload: { refresh_token: refreshToken },
  });

describe('signup', () => {
  test('creates the account, answers 201 with the user and a token pair', async () => {
    const email = uniqueEmail('ada');
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email, password: PASSWORD, name: 'Ada Lovelace' },
    });
    assert.equal(response.statusCode, 201);
    const result = body(response);
    assert.equal(result.user.email, email);
    assert.equal(result.user.name, 'Ada Lovelace');
    assert.match(result.user.id, UUID_V7);
    assert.match(result.user.created_at, RFC3339_MS);
    assert.equal(result.token_type, 'Bearer');
    assert.equal(result.expires_in, 600);
    assert.match(result.refresh_token, /^tlr_/);
    assert.equal('password' in result.user || 'password_hash' in result.user, false);
  });

  test('stores the password as argon2id at OWASP minimum cost, never in clear', async () => {
    const user = await createUser(t.app);
    const row = await t.database.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    assert.match(row.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.ok(!row.password_hash.includes(PASSWORD));
  });

  test('stores refresh tokens only as hashes', async () => {
    const user = await createUser(t.app);
    const rows = await t.database.db.selectFrom('refresh_tokens').select('token_hash').execute();
    const needle = Buffer.from(user.refreshToken);
    assert.ok(rows.length > 0);
    assert.ok(rows.every((row) => row.token_hash.length === 32 && !row.token_hash.equals(needle)));
  });

  test('when the email is taken in any case, answers 409 conflict', async () => {
    const email = uniqueEmail('case');
    await createUser(t.app, { email });
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email: email.toUpperCase(), password: PASSWORD, name: 'Again' },
    });
    assertProblem(response, 409, 'conflict');
  });

  test('20 concurrent signups with one email: exactly one 201, the rest 409', async () => {
    const email = uniqueEmail('race');
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.app.inject({
          method: 'POST',
          url: '/v1/auth/signup',
          payload: {
            email: i % 2 ? email : email.toUpperCase(),
            password: PASSWORD,
            name: `Racer ${i}`,
          },
        }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [201, ...Array(19).fill(409)]);
    for (const response of responses.filter((r) => r.statusCode === 409)) {
      assertProblem(response, 409, 'conflict');
    }
    const { rows } = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM users WHERE lower(email) = lower(${email})`.execute(
      t.database.db,
    );
    assert.equal(rows[0]!.n, 1);
  });

  const weakPasswords: [string, string][] = [
    ['short', 'shorter than 10 characters'],
    ['password123', 'a common password'],
    ['aaaaaaaaaaaa', 'one repeated character'],
  ];
  for (const [password, why] of weakPasswords) {
    test(`refuses a password that is ${why} with 422 on /password, creating nothing`, async () => {
      const email = uniqueEmail('weak');
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/auth/signup',
        payload: { email, password, name: 'Weak' },
      });
      const problem = assertProblem(response, 422, 'validation_failed');
      assert.equal(problem.errors[0].pointer, '/password');
      const count = await t.database.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('email', '=', email)
        .executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 0);
    });
  }

  test('refuses a password that contains the email name', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email: 'grace.hopper@example.com', password: 'grace.hopper-rules', name: 'G' },
    });
    assertProblem(response, 422, 'validation_failed');
  });

  test('an invalid email, unknown field and missing name are each reported', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { email: 'not-an-email', password: PASSWORD, admin: true },
    });
    const problem = assertProblem(response, 422, 'validation_failed');
    const pointers = problem.errors.map((e: { pointer: string }) => e.pointer).sort();
    assert.deepEqual(pointers, ['/admin', '/email', '/name']);
  });
});

describe('login', () => {
  test('with the right password answers 200 with a new session', async () => {
    const user = await createUser(t.app);
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email.toUpperCase(), password: PASSWORD },
    });
    assert.equal(response.statusCode, 200);
    const result = body(response);
    assert.equal(result.user.id, user.id);
    assert.notEqual(result.refresh_token, user.refreshToken);
  });

  test('a wrong password and an unknown email get the same 401', async () => {
    const user = await createUser(t.app);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: 'not-the-password' },
    });
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: uniqueEmail('ghost'), password: 'not-the-password' },
    });
    const a = assertProblem(wrong, 401, 'unauthenticated');
    const b = assertProblem(unknown, 401, 'unauthenticated');
    assert.equal(a.detail, b.detail);
  });
});

describe('GET /v1/me', () => {
  test('answers the user of the access token', async () => {
    const user = await createUser(t.app);
    const response = await t.app.inject({ method: 'GET', url: '/v1/me', headers: user.auth });
    assert.equal(response.statusCode, 200);
    assert.equal(body(response).id, user.id);
  });

  test('without a token answers 401 with WWW-Authenticate: Bearer', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/me' });
    assertProblem(response, 401, 'unauthenticated');
    assert.match(String(response.headers['www-authenticate']), /^Bearer /);
  });

  test('a tampered, foreign or malformed token answers 401 invalid_token', async () => {
    const user = await createUser(t.app);
    const [header, payload] = user.accessToken.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    for (const authorization of [
      `Bearer ${forged}`,
      'Bearer abc',
      'Basic dXNlcjpwYXNz',
      `Bearer ${user.refreshToken}`,
    ]) {
      const response = await t.app.inject({
        method: 'GET',
        url: '/v1/me',
        headers: { authorization },
      });
      assertProblem(response, 401, 'unauthenticated');
      assert.match(String(response.headers['www-authenticate']), /error="invalid_token"/);
    }
  });

  test('a token signed by another server (another key) is refused', async () => {
    const other = await startTestApp();
    try {
      const stranger = await createUser(other.app);
      const response = await t.app.inject({ method: 'GET', url: '/v1/me', headers: stranger.auth });
      assertProblem(response, 401, 'unauthenticated');
    } finally {
      await other.close();
    }
  });
});

describe('refresh', () => {
  test('rotates: a new pair, and the new access token works', async () => {
    const user = await createUser(t.app);
    const response = await refresh(user.refreshToken);
    assert.equal(response.statusCode, 200);
    const pair = body(response);
    assert.notEqual(pair.refresh_token, user.refreshToken);
    const me = await t.app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { authorization: `Bearer ${pair.access_token}` },
    });
    assert.equal(me.statusCode, 200);
  });

  test('a concurrent double refresh gets the same new pair (grace)', async () => {
    const user = await createUser(t.app);
    const [first, second] = await Promise.all([
      refresh(user.refreshToken),
      refresh(user.refreshToken),
    ]);
    assert.equal(first.statusCode, 200);
    assert.equal(second.statusCode, 200);
    assert.deepEqual(body(first), body(second));
    // And the shared successor still rotates normally.
    assert.equal((await refresh(body(first).refresh_token)).statusCode, 200);
  });

  test('reusing a spent token after the grace revokes the whole family', async () => {
    const user = await createUser(t.app);
    const rotated = body(await refresh(user.refreshToken));
    // Age the spend past the grace period instead of sleeping.
    await sql`UPDATE refresh_tokens SET spent_at = now() - interval '1 minute'
      WHERE spent_at IS NOT NULL
        AND family_id IN (SELECT id FROM session_families WHERE user_id = ${user.id})`.execute(
      t.database.db,
    );
    assertProblem(await refresh(user.refreshToken), 401, 'unauthenticated');
    // The legitimate holder's newer token is dead too: the family is revoked.
    assertProblem(await refresh(rotated.refresh_token), 401, 'unauthenticated');
    const family = await t.database.db
      .selectFrom('session_families')
      .select('revoked_reason')
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow();
    assert.equal(family.revoked_reason, 'reuse_detected');
  });

  test('with a grace of 0 the second presentation is already a reuse', async () => {
    const strict = await startTestApp({ env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
    try {
      const user = await createUser(strict.app);
      const send = (token: string) =>
        strict.app.inject({
          method: 'POST',
          url: '/v1/auth/refresh',
          payload: { refresh_token: token },
        });
      const rotated = body(await send(user.refreshToken));
      await new Promise((resolve) => setTimeout(resolve, 5));
      assertProblem(await send(user.refreshToken), 401, 'unauthenticated');
      assertProblem(await send(rotated.refresh_token), 401, 'unauthenticated');
    } finally {
      await strict.close();
    }
  });

  test('an unknown, malformed or idle-expired refresh token answers 401', async () => {
    assertProblem(await refresh(`tlr_${'x'.repeat(43)}`), 401, 'unauthenticated');
    assertProblem(await refresh('garbage'), 401, 'unauthenticated');
    const user = await createUser(t.app);
    await sql`UPDATE refresh_tokens SET idle_expires_at = now() - interval '1 second'
      WHERE family_id IN (SELECT id FROM session_families WHERE user_id = ${user.id})`.execute(
      t.database.db,
    );
    assertProblem(await refresh(user.refreshToken), 401, 'unauthenticated');
  });

  test('a family past its absolute expiry answers 401 even for a fresh token', async () => {
    const user = await createUser(t.app);
    await sql`UPDATE session_families SET expires_at = now() - interval '1 second' WHERE user_id = ${user.id}`.execute(
      t.database.db,
    );
    assertProblem(await refresh(user.refreshToken), 401, 'unauthenticated');
  });
});

describe('logout', () => {
  test('revokes the refresh family: the refresh token stops working', async () => {
    const user = await createUser(t.app);
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      headers: user.auth,
    });
    assert.equal(response.statusCode, 204);
    assertProblem(await refresh(user.refreshToken), 401, 'unauthenticated');
  });

  test('leaves the user’s other sessions alone', async () => {
    const user = await createUser(t.app);
    const login = body(
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: user.email, password: PASSWORD },
      }),
    );
    await t.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: user.auth });
    assert.equal((await refresh(login.refresh_token)).statusCode, 200);
  });

  test('without a token answers 401', async () => {
    assertProblem(
      await t.app.inject({ method: 'POST', url: '/v1/auth/logout' }),
      401,
      'unauthenticated',
    );
  });
});

describe('POST /v1/me/password', () => {
  const change = (user: { auth: { authorization: string } }, payload: object) =>
    t.app.inject({ method: 'POST', url: '/v1/me/password', headers: user.auth, payload });

  test('changes the password, ends every session and returns a new working pair', async () => {
    const user = await createUser(t.app);
    const otherDevice = body(
      await t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: user.email, password: PASSWORD },
      }),
    );
    const response = await change(user, {
      current_password: PASSWORD,
      new_password: 'new-lantern-river-7',
    });
    assert.equal(response.statusCode, 200);
    const pair = body(response);
    assertProblem(await refresh(user.refreshToken), 401, 'unauthenticated');
    assertProblem(await refresh(otherDevice.refresh_token), 401, 'unauthenticated');
    assert.equal((await refresh(pair.refresh_token)).statusCode, 200);
    const oldLogin = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: PASSWORD },
    });
    assertProblem(oldLogin, 401, 'unauthenticated');
    const newLogin = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: user.email, password: 'new-lantern-river-7' },
    });
    assert.equal(newLogin.statusCode, 200);
  });

  test('a wrong current password answers 422 on /current_password and changes nothing', async () => {
    const user = await createUser(t.app);
    const response = await change(user, {
      current_password: 'not-it-at-all',
      new_password: 'new-lantern-river-7',
    });
    const problem = assertProblem(response, 422, 'validation_failed');
    assert.equal(problem.errors[0].pointer, '/current_password');
    assert.equal((await refresh(user.refreshToken)).statusCode, 200);
  });

  test('a weak new password answers 422 on /new_password', async () => {
    const user = await createUser(t.app);
    const problem = assertProblem(
      await change(user, { current_password: PASSWORD, new_password: 'qwertyuiop' }),
      422,
      'validation_failed',
    );
    assert.equal(problem.errors[0].pointer, '/new_password');
  });
});
