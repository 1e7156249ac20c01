// The fleet, end to end (issue 4, item 7): three `node src/main.ts serve` processes
// on one PostgreSQL and one private redis-server, real sockets, one caller. Then
// Redis is killed mid-load, and started again on the same port.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GENEROUS_RATE_LIMITS } from '../../test/helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.ts';
import { PASSWORD, uniqueEmail } from '../../test/helpers/factories.ts';
import {
  findRedisServer,
  ProcessGroup,
  type RedisProcess,
  type ServerProcess,
} from '../../test/helpers/processes.ts';
import {
  type TimedAnswer as Answer,
  counterValue,
  spanMs,
  statusCounts,
  type TimedRequest,
  timedRequest,
} from '../../test/helpers/timed-requests.ts';

const NODES = 3;
// read.free=30/60: 30 at once, then one more every 2 s (GCRA, burst = quota − 1).
const CAPACITY = 30;
const INTERVAL_MS = 2000;
const POLICY_HEADER = '"read";q=30;w=60, "write";q=100000;w=60, "search";q=100000;w=60';
/** Slower than this is a hang: the Redis client's own connect and socket timeouts are 1 s. */
const HANG_MS = 1000;
const LOAD_AFTER_KILL_MS = 1500;
/** The client retries at most every ~1.1 s; a node must be back well within this. */
const RECOVERY_MS = 5000;
const REQUEST_TIMEOUT_MS = 5000;

const redisServer = findRedisServer();

interface User {
  readonly email: string;
  readonly token: string;
}

/** The most GCRA admits from a full bucket over `elapsedMs`; exact, never more. */
function gcraMax(elapsedMs: number): number {
  return CAPACITY + Math.floor(elapsedMs / INTERVAL_MS);
}

function onlyStatuses(answers: readonly Answer[], allowed: readonly number[]): void {
  const counts = statusCounts(answers);
  const others = Object.keys(counts).filter((status) => !allowed.includes(Number(status)));
  assert.deepEqual(others, [], JSON.stringify(counts));
}

/** `r` of the read policy in a `RateLimit` header. */
function remainingOf(answer: Answer): number {
  const match = /"read";r=(\d+)/.exec(answer.headers.get('ratelimit') ?? '');
  assert.ok(match, `no read item in RateLimit: ${answer.headers.get('ratelimit')}`);
  return Number(match[1]);
}

function assertRefusedByRead(answer: Answer): void {
  assert.equal(answer.status, 429, JSON.stringify(answer.body));
  assert.equal(answer.body.code, 'rate_limited');
  assert.deepEqual(answer.body['violated-policies'], ['read']);
  assert.match(answer.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
}

function assertSignInUnavailable(answer: Answer): void {
  assert.equal(answer.status, 503, JSON.stringify(answer.body));
  assert.equal(answer.body.code, 'service_unavailable');
  assert.match(answer.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
}

const startsWith = (prefix: string) => (record: Record<string, unknown>) =>
  String(record.msg).startsWith(prefix);

describe('a fleet of three API nodes sharing one Redis', {
  skip: redisServer ? false : 'needs redis-server (not found on PATH)',
  timeout: 60_000,
}, () => {
  const group = new ProcessGroup();
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;
  let redis: RedisProcess;
  let nodes: ServerProcess[] = [];
  // Signed up while Redis is there: sign-up is an auth route, and fails closed without it.
  let reader: User;
  let signer: User;
  let outageReader: User;

  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tasklane-fleet-'));
    database = await createTestDatabase();
    redis = await group.startRedis({ binary: redisServer });
    const env = {
      DATABASE_URL: database.url,
      TOKEN_SIGNING_KEY: randomBytes(48).toString('base64'),
      DATA_DIR: dataDir,
      REDIS_URL: redis.url,
      RATE_LIMIT_KEY_PREFIX: `fleet-${randomBytes(4).toString('hex')}:`,
      RATE_LIMITS: `${GENEROUS_RATE_LIMITS} read.free=30/60`,
      // One caller's burst is the point here, not the cap on its requests in flight.
      RATE_LIMIT_CONCURRENCY: '1000',
      // Roomier than the default 10 ms, so that on a loaded test machine a slow Redis
      // answer does not become a fail-open decision and blur the shared count.
      RATE_LIMIT_REDIS_TIMEOUT_MS: '200',
      // Overload shedding has its own tests; a loaded machine must not shed here.
      LOAD_SHED_EVENT_LOOP_DELAY_MS: '0',
    };
    nodes = await Promise.all(Array.from({ length: NODES }, () => group.startServer(env)));
    [reader, signer, outageReader] = await Promise.all([signUp(0), signUp(1), signUp(2)]);
  });

  after(async () => {
    await group.stopAll();
    await database?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  const send = (node: number, url: string, request: TimedRequest = {}) =>
    timedRequest(node, nodes[node]!.url, url, { timeoutMs: REQUEST_TIMEOUT_MS, ...request });
  const me = (node: number, user: User) => send(node, '/v1/me', { token: user.token });
  const login = (node: number, user: User) =>
    send(node, '/v1/auth/login', {
      method: 'POST',
      json: { email: user.email, password: PASSWORD },
    });
  const signUpRequest = (node: number, email: string) =>
    send(node, '/v1/auth/signup', {
      method: 'POST',
      json: { email, name: 'Fleet', password: PASSWORD },
    });

  async function signUp(node: number): Promise<User> {
    const email = uniqueEmail('fleet');
    const answer = await signUpRequest(node, email);
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    return { email, token: answer.body.access_token };
  }

  /** `count` concurrent GET /v1/me of one caller, round-robin over the nodes. */
  async function burst(user: User, count: number) {
    const answers = await Promise.all(Array.from({ length: count }, (_, i) => me(i % NODES, user)));
    return { answers, elapsedMs: spanMs(answers) };
  }

  async function metrics(node: number): Promise<string> {
    const response = await fetch(`${nodes[node]!.url}/metrics`, {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return await response.text();
  }

  const storeErrors = () =>
    Promise.all(
      nodes.map(async (_, node) =>
        counterValue(await metrics(node), 'ratelimit_store_errors_total'),
      ),
    );

  /** A fresh caller's burst over every node is held to the one shared quota. */
  async function assertSharedQuota(user: User) {
    const errorsBefore = await storeErrors();
    const { answers, elapsedMs } = await burst(user, NODES * CAPACITY);
    onlyStatuses(answers, [200, 429]);
    const admitted = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    assert.ok(
      admitted.length >= CAPACITY && admitted.length <= gcraMax(elapsedMs),
      `admitted ${admitted.length} in ${elapsedMs.toFixed(0)} ms; GCRA allows ${CAPACITY} to ${gcraMax(elapsedMs)}`,
    );
    for (const answer of refused) assertRefusedByRead(answer);
    const policies = new Set(answers.map((answer) => answer.headers.get('ratelimit-policy')));
    assert.deepEqual(policies, new Set([POLICY_HEADER]));
    const remaining = admitted.map(remainingOf).sort((a, b) => a - b);
    assert.equal(remaining[0], 0);
    if (gcraMax(elapsedMs) === CAPACITY) {
      // One bucket, not three: its 30 requests were told 29, 28, … 0, each r once.
      assert.deepEqual(
        remaining,
        Array.from({ length: CAPACITY }, (_, i) => i),
      );
    }
    // Every decision was Redis's: none fell back to a node's own memory.
    assert.deepEqual(await storeErrors(), errorsBefore);
    return { admitted, refused, elapsedMs };
  }

  test('one caller’s burst spread over three nodes is admitted exactly to the one shared quota', async (t) => {
    const user = await signUp(0);
    const { admitted, refused, elapsedMs } = await assertSharedQuota(user);
    t.diagnostic(
      `admitted ${admitted.length} of ${NODES * CAPACITY} in ${elapsedMs.toFixed(0)} ms`,
    );

    // Retry-After keeps its promise, on whichever node the retry lands.
    const refusal = refused[0]!;
    const retryAfterMs = Number(refusal.headers.get('retry-after')) * 1000;
    await sleep(refusal.doneAt + retryAfterMs - performance.now());
    const retry = await me((refusal.node + 1) % NODES, user);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
  });

  test('when Redis dies mid-load, nothing hangs or fails: reads fail open, sign-in fails closed', async (t) => {
    const reads: Answer[] = [];
    const logins: Answer[] = [];
    let killedAt = Number.POSITIVE_INFINITY;
    let deadAt = Number.POSITIVE_INFINITY;
    const loadDone = () => performance.now() - deadAt > LOAD_AFTER_KILL_MS;
    // Back to back, each loop going round the nodes.
    const loop = async (
      into: Answer[],
      request: (node: number) => Promise<Answer>,
      from: number,
    ) => {
      for (let node = from; !loadDone(); node = (node + 1) % NODES) into.push(await request(node));
    };
    const kill = async () => {
      // Once the shared read quota is used up and sign-in has worked on every node.
      const loaded = () =>
        reads.some((answer) => answer.status === 429) &&
        new Set(logins.filter(({ status }) => status === 200).map(({ node }) => node)).size ===
          NODES;
      const deadline = performance.now() + 5000;
      while (!loaded()) {
        const seen = JSON.stringify({ reads: statusCounts(reads), logins: statusCounts(logins) });
        assert.ok(performance.now() < deadline, `the load did not get going: ${seen}`);
        await sleep(20);
      }
      killedAt = performance.now();
      await redis.kill('SIGKILL');
      deadAt = performance.now();
    };
    await Promise.all([
      ...Array.from({ length: NODES }, (_, i) => loop(reads, (node) => me(node, reader), i)),
      ...Array.from({ length: 2 }, (_, i) => loop(logins, (node) => login(node, signer), i)),
      kill(),
    ]);

    // Nothing hung, and nothing failed but as documented.
    const all = [...reads, ...logins];
    const slowest = Math.max(...all.map((answer) => answer.doneAt - answer.sentAt));
    assert.ok(slowest < HANG_MS, `a request took ${slowest.toFixed(0)} ms`);
    onlyStatuses(reads, [200, 429]);
    onlyStatuses(logins, [200, 503]);

    // Reads fail open: the shared quota was used up, yet each node's own memory admits again.
    for (const answer of reads) assert.ok(answer.headers.get('ratelimit'), 'says what is left');
    for (const answer of reads.filter(({ status }) => status === 429)) assertRefusedByRead(answer);
    const readsAfter = reads.filter((answer) => answer.sentAt > deadAt);
    const admittedAfter = readsAfter.filter((answer) => answer.status === 200).length;
    const afterMs = Math.max(...readsAfter.map((answer) => answer.doneAt)) - deadAt;
    assert.ok(
      admittedAfter > 0 && admittedAfter <= NODES * gcraMax(afterMs),
      `${admittedAfter} reads admitted in the ${afterMs.toFixed(0)} ms after the kill`,
    );

    // Sign-in fails closed: 200 before the kill, 503 after it, either while it happened.
    const loginsBefore = logins.filter((answer) => answer.doneAt < killedAt);
    const loginsAfter = logins.filter((answer) => answer.sentAt > deadAt);
    assert.deepEqual(statusCounts(loginsBefore), { 200: loginsBefore.length });
    assert.ok(loginsAfter.length > 0);
    for (const answer of loginsAfter) assertSignInUnavailable(answer);

    // Each node says so: in its metrics, and in one warning line (at most one per 10 s).
    for (const [node, server] of nodes.entries()) {
      const text = await metrics(node);
      assert.ok(counterValue(text, 'ratelimit_store_errors_total', { reason: 'unavailable' }) > 0);
      if (loginsAfter.some((answer) => answer.node === node)) {
        const labels = { class: 'auth', outcome: 'unavailable' };
        assert.ok(counterValue(text, 'ratelimit_decisions_total', labels) > 0, text);
      }
      const failing = startsWith('rate limit store failing');
      assert.equal((await server.waitForLog(failing)).level, 40);
      assert.equal(server.logs.filter(failing).length, 1);
    }
    t.diagnostic(
      `reads ${JSON.stringify(statusCounts(reads))}, logins ${JSON.stringify(statusCounts(logins))}, ` +
        `${admittedAfter} reads admitted after the kill, slowest ${slowest.toFixed(0)} ms`,
    );
  });

  test('while Redis is down, quotas are per node: one caller gets up to three times its quota', async (t) => {
    assertSignInUnavailable(await signUpRequest(0, uniqueEmail('fleet')));
    const { answers, elapsedMs } = await burst(outageReader, 5 * CAPACITY);
    onlyStatuses(answers, [200, 429]);
    for (const node of nodes.keys()) {
      const mine = answers.filter((answer) => answer.node === node);
      const admitted = mine.filter((answer) => answer.status === 200).length;
      assert.ok(
        admitted >= CAPACITY && admitted <= gcraMax(elapsedMs),
        `node ${node} admitted ${admitted} of ${mine.length} in ${elapsedMs.toFixed(0)} ms`,
      );
    }
    for (const answer of answers.filter(({ status }) => status === 429)) {
      assertRefusedByRead(answer);
    }
    const admitted = answers.filter((answer) => answer.status === 200).length;
    assert.ok(admitted > CAPACITY && admitted <= NODES * gcraMax(elapsedMs));
    t.diagnostic(`admitted ${admitted} of ${answers.length} in ${elapsedMs.toFixed(0)} ms`);
  });

  test('when Redis returns, sign-in answers on every node within seconds and one quota holds again', async (t) => {
    const restartedAt = performance.now();
    redis = await group.startRedis({ binary: redisServer, port: redis.port });
    const recoveredAfterMs = await Promise.all(
      nodes.map(async (_, node) => {
        for (;;) {
          const answer = await login(node, signer);
          const waited = performance.now() - restartedAt;
          if (answer.status === 200) return Math.round(waited);
          assertSignInUnavailable(answer);
          assert.ok(waited < RECOVERY_MS, `node ${node} still answers 503 after ${waited} ms`);
          await sleep(50);
        }
      }),
    );
    for (const server of nodes) {
      const recovered = await server.waitForLog(startsWith('rate limit store recovered'));
      assert.equal(recovered.level, 30);
    }
    const { admitted, elapsedMs } = await assertSharedQuota(await signUp(1));
    t.diagnostic(
      `sign-in back after ${recoveredAfterMs.join(', ')} ms; ` +
        `admitted ${admitted.length} of ${NODES * CAPACITY} in ${elapsedMs.toFixed(0)} ms`,
    );
  });
});
