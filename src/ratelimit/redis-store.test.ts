// What only the Redis store has: a shared limit across connections, its key
// layout, and its failure modes — refused, hung and restored connections, through
// a TCP proxy this file opens, pauses and closes.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { GCRA_SCRIPT, RateLimitStoreError, RedisRateLimitStore, redisKey } from './redis-store.ts';
import type { RatePolicy } from './types.ts';

const redisUrl = process.env.REDIS_URL;
const keyPrefix = `rl-test-${randomBytes(6).toString('hex')}:`;
// 10 at once, then one every 6 s.
const limit: RatePolicy = {
  name: 'read',
  quota: 10,
  windowSeconds: 60,
  burst: 9,
  algorithm: 'gcra',
};

/** Forwards to Redis; can hold traffic (a hung Redis) or go away (a dead one) and come back. */
class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  #held = false;
  #heldChunks: Array<() => void> = [];
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async open(): Promise<void> {
    const server = net.createServer((client) => this.#forward(client));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Stops forwarding requests: connections stay open, replies never come. */
  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
    for (const flush of this.#heldChunks.splice(0)) flush();
  }

  /** Refuses new connections and drops the open ones. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  #forward(client: net.Socket): void {
    const upstream = net.connect(this.#target);
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => {
      if (this.#held) this.#heldChunks.push(() => upstream.write(chunk));
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
  }
}

/** A TCP proxy in front of REDIS_URL, open: a test can hold its traffic to hang Redis. */
async function openRedisProxy(): Promise<TcpProxy> {
  const target = new URL(redisUrl!);
  const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  await proxy.open();
  return proxy;
}

function proxiedUrl(port: number): string {
  const url = new URL(redisUrl!);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

async function timed<T>(
  work: Promise<T>,
): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const started = performance.now();
  const [result] = await Promise.allSettled([work]);
  return { ms: performance.now() - started, result: result! };
}

function assertStoreError(
  result: PromiseSettledResult<unknown>,
  reason: RateLimitStoreError['reason'],
): void {
  assert.equal(result.status, 'rejected');
  const error = (result as PromiseRejectedResult).reason;
  assert.ok(error instanceof RateLimitStoreError, `${error}`);
  assert.equal(error.reason, reason, error.message);
}

async function eventuallyDecides(store: RedisRateLimitStore, withinMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    try {
      await store.decide(randomUUID(), limit, 1);
      return performance.now() - started;
    } catch (error) {
      assert.ok(error instanceof RateLimitStoreError);
      if (performance.now() - started > withinMs) throw error;
      await sleep(25);
    }
  }
}

describe('RedisRateLimitStore', { skip: redisUrl ? false : 'REDIS_URL is not set' }, () => {
  let raw: Redis;
  before(() => {
    raw = new Redis(redisUrl!);
  });
  after(async () => {
    for await (const keys of raw.scanStream({ match: `${keyPrefix}*`, count: 1000 })) {
      if ((keys as string[]).length > 0) await raw.del(...(keys as string[]));
    }
    raw.disconnect();
  });

  test('two connections (two nodes) share one limit: 25 + 25 concurrent against 10 admit 10', async () => {
    const nodes = [
      new RedisRateLimitStore({ url: redisUrl!, keyPrefix }),
      new RedisRateLimitStore({ url: redisUrl!, keyPrefix }),
    ];
    try {
      for (const node of nodes) assert.ok(await node.waitUntilConnected(2000));
      const key = randomUUID();
      const decisions = await Promise.all(
        Array.from({ length: 50 }, (_, i) => nodes[i % 2]!.decide(key, limit, 1)),
      );
      assert.equal(decisions.filter((d) => d.allowed).length, 10);
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
    }
  });

  test('a Redis that forgot the scripts (restart, SCRIPT FLUSH) gets their source once, and decisions go on', async () => {
    const store = new RedisRateLimitStore({ url: redisUrl!, keyPrefix });
    try {
      assert.ok(await store.waitUntilConnected(2000));
      const caller = randomUUID();
      assert.equal((await store.decide(caller, limit, 1)).remaining, 9);
      await raw.script('FLUSH');
      assert.equal((await store.decide(caller, limit, 1)).remaining, 8);
      await raw.script('FLUSH');
      await store.refund(caller, limit, 1);
      assert.equal((await store.decide(caller, limit, 0)).remaining, 9);
      const sha = createHash('sha1').update(GCRA_SCRIPT).digest('hex');
      assert.deepEqual(await raw.script('EXISTS', sha), [1], 'cached again');
    } finally {
      await store.close();
    }
  });

  test('state is one string key, hash-tagged by caller, holding the TAT, expiring at the reset; a refund moves both back', async () => {
    const store = new RedisRateLimitStore({ url: redisUrl!, keyPrefix });
    try {
      assert.ok(await store.waitUntilConnected(2000));
      const caller = `user:${randomUUID()}`;
      const decision = await store.decide(caller, limit, 3);
      const key = redisKey(keyPrefix, caller, limit);
      assert.equal(key, `${keyPrefix}{${caller}}:read:gcra`);
      assert.equal(await raw.type(key), 'string');
      const [seconds, micros] = (await raw.time()) as [number | string, number | string];
      const nowUs = Number(seconds) * 1e6 + Number(micros);
      const tatUs = Number(await raw.get(key));
      assert.ok(Math.abs(tatUs - nowUs - 18_000_000) < 100_000, 'TAT = now + 3 × 6 s');
      const pttl = await raw.pttl(key);
      assert.ok(pttl > 17_900 && pttl <= decision.resetAfterMs, `PTTL ${pttl}`);

      await store.refund(caller, limit, 1);
      assert.equal(Number(await raw.get(key)), tatUs - 6_000_000);
      const refundedPttl = await raw.pttl(key);
      assert.ok(refundedPttl > 11_900 && refundedPttl <= 12_000, `PTTL ${refundedPttl}`);
      await store.refund(caller, limit, 2);
      assert.equal(await raw.exists(key), 0, 'back to a full bucket: no key');
    } finally {
      await store.close();
    }
  });

  test('when Redis answers with an error, a decision or refund rejects with reason "error"', async () => {
    const store = new RedisRateLimitStore({ url: redisUrl!, keyPrefix });
    try {
      assert.ok(await store.waitUntilConnected(2000));
      const caller = randomUUID();
      await raw.hset(redisKey(keyPrefix, caller, limit), 'not', 'a tat');
      assertStoreError((await timed(store.decide(caller, limit, 1))).result, 'error');
      assertStoreError((await timed(store.refund(caller, limit, 1))).result, 'error');
    } finally {
      await store.close();
    }
  });

  test('a closed port rejects every decision and refund at once with reason "unavailable"', async () => {
    const errors: Error[] = [];
    const store = new RedisRateLimitStore({
      url: 'redis://127.0.0.1:1',
      timeoutMs: 50,
      onConnectionError: (error) => errors.push(error),
    });
    try {
      for (let i = 0; i < 20; i++) {
        const call: Promise<unknown> =
          i % 2 === 0 ? store.decide(randomUUID(), limit, 1) : store.refund(randomUUID(), limit, 1);
        const { ms, result } = await timed(call);
        assertStoreError(result, 'unavailable');
        assert.ok(ms < 50, `took ${ms} ms`);
      }
      assert.equal(store.connected, false);
      assert.equal(await store.waitUntilConnected(200), false);
      assert.ok(errors.length > 0, 'connection errors are reported');
    } finally {
      await store.close();
    }
  });

  test('a hung Redis times out decisions and refunds within timeoutMs, then fails fast, and recovers when it answers again', async () => {
    const proxy = await openRedisProxy();
    const store = new RedisRateLimitStore({
      url: proxiedUrl(proxy.port),
      keyPrefix,
      timeoutMs: 30,
      connectTimeoutMs: 300,
      onConnectionError: () => {},
    });
    try {
      assert.ok(await store.waitUntilConnected(2000));
      await store.decide(randomUUID(), limit, 1);

      proxy.hold();
      const hungCalls = await Promise.all([
        timed(store.decide(randomUUID(), limit, 1)),
        timed(store.refund(randomUUID(), limit, 1)),
      ]);
      for (const hung of hungCalls) {
        assertStoreError(hung.result, 'timeout');
        // Not a moment before the timeout, and not much after it (timers run late on a busy machine).
        assert.ok(hung.ms >= 29 && hung.ms < 30 + 100, `took ${hung.ms} ms`);
      }

      // After connectTimeoutMs without a reply the socket is dropped: decisions
      // stop waiting for the timeout and fail at once while it reconnects.
      await sleep(400);
      const dropped = await timed(store.decide(randomUUID(), limit, 1));
      assertStoreError(dropped.result, 'unavailable');
      assert.ok(dropped.ms < 25, `took ${dropped.ms} ms`);

      proxy.release();
      await eventuallyDecides(store, 3000);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  test('every failed command is reported once with its reason, PINGs included; successes are not', async () => {
    const reasons: string[] = [];
    const onCommandError = (reason: string) => reasons.push(reason);

    const refused = new RedisRateLimitStore({
      url: 'redis://127.0.0.1:1',
      onConnectionError: () => {},
      onCommandError,
    });
    try {
      await Promise.allSettled([
        refused.decide(randomUUID(), limit, 1),
        refused.refund(randomUUID(), limit, 1),
        refused.ping(),
      ]);
      assert.deepEqual(reasons.splice(0), ['unavailable', 'unavailable', 'unavailable']);
    } finally {
      await refused.close();
    }

    const proxy = await openRedisProxy();
    const store = new RedisRateLimitStore({
      url: proxiedUrl(proxy.port),
      keyPrefix,
      timeoutMs: 30,
      onConnectionError: () => {},
      onCommandError,
    });
    try {
      assert.ok(await store.waitUntilConnected(2000));
      const caller = randomUUID();
      await store.decide(caller, limit, 1);
      await store.ping();
      assert.deepEqual(reasons, [], 'nothing failed yet');

      await raw.hset(redisKey(keyPrefix, `${caller}-wrong-type`, limit), 'not', 'a tat');
      await Promise.allSettled([store.decide(`${caller}-wrong-type`, limit, 1)]);
      assert.deepEqual(reasons.splice(0), ['error']);

      proxy.hold();
      const hung = await timed(store.ping(40));
      assertStoreError(hung.result, 'timeout');
      assert.deepEqual(reasons.splice(0), ['timeout']);
      proxy.release();
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  test('closing the store does not wait on a hung Redis', async () => {
    const proxy = await openRedisProxy();
    const store = new RedisRateLimitStore({ url: proxiedUrl(proxy.port), timeoutMs: 30 });
    try {
      assert.ok(await store.waitUntilConnected(2000));
      proxy.hold();
      const closing = await timed(store.close());
      assert.equal(closing.result.status, 'fulfilled');
      assert.ok(closing.ms < 30 + 100, `took ${closing.ms} ms`);
      const afterClose = await timed(store.decide(randomUUID(), limit, 1));
      assertStoreError(afterClose.result, 'unavailable');
    } finally {
      await proxy.close();
    }
  });

  test('when Redis goes away decisions fail fast, and when it is back they succeed again', async () => {
    const proxy = await openRedisProxy();
    const store = new RedisRateLimitStore({
      url: proxiedUrl(proxy.port),
      keyPrefix,
      timeoutMs: 50,
      onConnectionError: () => {},
    });
    try {
      assert.ok(await store.waitUntilConnected(2000));
      const caller = randomUUID();
      await store.decide(caller, limit, 5);

      await proxy.close();
      await sleep(20);
      for (let i = 0; i < 5; i++) {
        const { ms, result } = await timed(store.decide(caller, limit, 1));
        assertStoreError(result, 'unavailable');
        assert.ok(ms < 50, `took ${ms} ms`);
      }

      await proxy.open(); // same port
      const recoveredIn = await eventuallyDecides(store, 3000);
      assert.ok(recoveredIn < 3000);
      // The state written before the outage is still there: the limit resumes, not resets.
      assert.equal((await store.decide(caller, limit, 0)).remaining, 5);
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});
