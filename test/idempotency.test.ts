// Idempotency keys across API processes: two app instances, each with its own
// connection pool, on one database, as two nodes behind a load balancer would be.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { assertProblem, body, createTeam, createUser, type TestUser } from './helpers/factories.ts';

let t: TestApp;
let nodes: [FastifyInstance, FastifyInstance];
before(async () => {
  t = await startTestApp();
  nodes = [t.app, await t.another()];
});
after(() => t.close());

const ROUNDS = 6;
const PER_ROUND = 8;

const send = (
  node: FastifyInstance,
  method: 'POST' | 'PATCH',
  url: string,
  user: TestUser,
  key: string,
  payload: object,
) => node.inject({ method, url, headers: { ...user.auth, 'idempotency-key': key }, payload });

const keyRows = (user: TestUser, key: string) =>
  t.database.db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('principal_id', '=', `user:${user.id}`)
    .where('key', '=', key)
    .execute();

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

/** One response ran the handler; every other one is its replay or a 409. */
function assertOneExecution(responses: LightMyRequestResponse[], status: number) {
  const ran = responses.filter((response) => !response.headers['idempotent-replayed']);
  const executed = ran.filter((response) => response.statusCode === status);
  assert.equal(executed.length, 1, responses.map((r) => r.statusCode).join(','));
  const winner = executed[0]!;
  for (const response of responses) {
    if (response === winner) continue;
    if (response.headers['idempotent-replayed'] === 'true') {
      assert.equal(response.statusCode, winner.statusCode);
      assert.equal(response.body, winner.body);
      assert.equal(response.headers.location, winner.headers.location);
    } else {
      assertProblem(response, 409, 'idempotency_key_in_use');
      assert.equal(response.headers['retry-after'], '1');
    }
  }
  return winner;
}

describe('two API nodes on one database', () => {
  test('when the same key and body hit both nodes at once, the team is created once and one response is stored', async (context) => {
    const user = await createUser(t.app);
    const outcomes = { replayed: 0, inUse: 0 };
    for (let round = 0; round < ROUNDS; round += 1) {
      const key = randomUUID();
      const name = `race-${key}`;
      const responses = await Promise.all(
        Array.from({ length: PER_ROUND }, (_, i) =>
          send(nodes[i % 2]!, 'POST', '/v1/teams', user, key, { name }),
        ),
      );
      const winner = assertOneExecution(responses, 201);
      outcomes.replayed += responses.filter((r) => r.headers['idempotent-replayed']).length;
      outcomes.inUse += responses.filter((r) => r.statusCode === 409).length;

      const teams = await t.database.db
        .selectFrom('teams')
        .select('id')
        .where('name', '=', name)
        .execute();
      assert.deepEqual(teams, [{ id: body(winner).id }]);
      const rows = await keyRows(user, key);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.response_status, 201);
      assert.equal(rows[0]!.response_body, winner.body);

      // Afterwards, either node replays it.
      for (const node of nodes) {
        const retry = await send(node, 'POST', '/v1/teams', user, key, { name });
        assert.equal(retry.headers['idempotent-replayed'], 'true');
        assert.equal(retry.body, winner.body);
      }
    }
    // Which way the others lose (replay or 409) depends on timing; both are correct.
    context.diagnostic(`losers: ${outcomes.replayed} replayed, ${outcomes.inUse} answered 409`);
  });

  test('when one node is still running the request, the other answers 409, then replays it', async () => {
    const user = await createUser(t.app);
    const team = await createTeam(t.app, user);
    const key = randomUUID();
    const url = `/v1/teams/${team.id}`;
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let first: Promise<LightMyRequestResponse> | undefined;
    const holder = t.database.db.transaction().execute(async (trx) => {
      // The PATCH claims its key, then waits for this lock inside its handler.
      await sql`SELECT 1 FROM teams WHERE id = ${team.id} FOR UPDATE`.execute(trx);
      first = send(nodes[0], 'PATCH', url, user, key, { plan: 'pro' });
      await released;
    });
    try {
      let claimed = false;
      for (let i = 0; i < 400 && !claimed; i += 1) {
        claimed = (await keyRows(user, key))[0]?.response_status === null;
        if (!claimed) await sleep(5);
      }
      assert.ok(claimed, 'the first request claimed its key');
      const retry = await answeredWithin(send(nodes[1], 'PATCH', url, user, key, { plan: 'pro' }));
      assertProblem(retry, 409, 'idempotency_key_in_use');
    } finally {
      release();
      await holder;
    }
    const done = await first!;
    assert.equal(done.statusCode, 200);
    const replay = await send(nodes[1], 'PATCH', url, user, key, { plan: 'pro' });
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.body, done.body);
    assert.equal(replay.headers.etag, done.headers.etag);
    const row = await t.database.db
      .selectFrom('teams')
      .select(['plan', 'version'])
      .where('id', '=', team.id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, { plan: 'pro', version: 2 });
  });
});
