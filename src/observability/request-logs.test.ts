// What an operator reads in the logs: every line of a request names its trace,
// route and (once known) team; a failure is one line with its whole cause chain;
// slow requests and slow queries say where the time went.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { context } from '@opentelemetry/api';
import type { LogEvent } from 'kysely';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { createTeam, createUser, type TestUser } from '../../test/helpers/factories.ts';
import { createQueryObserver } from './query-observer.ts';
import { newWorkScope, withWorkScope } from './work-scope.ts';

let t: TestApp;
let owner: TestUser;

before(async () => {
  // Every request is "slow" past 1 ms: the breakdown shows on each completion line.
  t = await startTestApp({ env: { SLOW_REQUEST_MS: '1' } });
  t.app.get('/test/fails', { schema: { hide: true } }, async () => {
    throw new Error('the handler gave up', {
      cause: new Error('connection reset by peer', { cause: new Error('socket hang up') }),
    });
  });
  owner = await createUser(t.app);
});

after(() => t.close());

const linesOf = (requestId: unknown) => t.logs.records.filter((r) => r.request_id === requestId);

describe('request log lines', () => {
  test('a request touching a team carries team_id, trace_id and route on its lines', async () => {
    const team = await createTeam(t.app, owner);
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/teams/${team.id}`,
      headers: owner.auth,
    });
    assert.equal(response.statusCode, 200);
    const [line, ...more] = linesOf(response.headers['x-request-id']);
    assert.equal(more.length, 0);
    assert.equal(line?.team_id, team.id);
    assert.equal(line?.route, '/v1/teams/:team_id');
    assert.equal(line?.trace_id, String(response.headers.traceparent).split('-')[1]);
  });

  test('a slow request is one warn line, "slow request", with its database time and query count', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/me', headers: owner.auth });
    const [line] = linesOf(response.headers['x-request-id']);
    assert.equal(line?.msg, 'slow request');
    assert.equal(line?.level, 40);
    assert.ok((line?.db_queries as number) >= 1, JSON.stringify(line));
    assert.ok((line?.db_ms as number) > 0);
    assert.ok((line?.db_ms as number) <= (line?.duration_ms as number));
    assert.ok((line?.slowest_query_ms as number) <= (line?.db_ms as number));
  });

  test('a failure is logged once, with the messages of its whole cause chain', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/test/fails' });
    assert.equal(response.statusCode, 500);
    assert.ok(!response.body.includes('socket hang up'), 'the cause leaked to the client');
    const failures = linesOf(response.headers['x-request-id']).filter(
      (r) => r.msg === 'request failed',
    );
    assert.equal(failures.length, 1);
    const err = failures[0]!.err as { message: string; stack: string };
    assert.match(err.stack, /the handler gave up/);
    assert.match(err.stack, /caused by: Error: connection reset by peer/);
    assert.match(err.stack, /caused by: Error: socket hang up/);
  });
});

describe('slow query lines', () => {
  const event = (ms: number): LogEvent => ({
    level: 'query',
    queryDurationMillis: ms,
    query: {
      sql: 'select "id" from "tasks" where "title" = $1',
      parameters: ['a title that must never be logged'],
      query: { kind: 'SelectQueryNode' },
    } as unknown as LogEvent['query'],
  });

  test('a statement over SLOW_QUERY_MS logs its text without values, on the work’s logger', () => {
    const lines: Record<string, unknown>[] = [];
    const log = {
      warn: (fields: Record<string, unknown>, msg: string) => lines.push({ ...fields, msg }),
    };
    const observe = createQueryObserver({ registry: undefined, slowQueryMs: 100 });
    const scope = newWorkScope(log as never);
    context.with(withWorkScope(context.active(), scope), () => {
      observe(event(99));
      observe(event(150));
    });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.msg, 'slow query');
    assert.equal(lines[0]?.duration_ms, 150);
    assert.equal(lines[0]?.operation, 'select');
    assert.equal(lines[0]?.statement, 'select "id" from "tasks" where "title" = $1');
    assert.ok(!JSON.stringify(lines).includes('a title that must never be logged'));
    assert.deepEqual(
      { queries: scope.dbQueries, ms: scope.dbMs, slowest: scope.slowestQueryMs },
      { queries: 2, ms: 249, slowest: 150 },
    );
  });
});
