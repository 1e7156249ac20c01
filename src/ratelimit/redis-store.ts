import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis, ReplyError } from 'ioredis';
import { recordSpan, SpanKind, tracingOn } from '../observability/tracing.ts';
import { assertCost, gcraParams } from './gcra.ts';
import { slidingWindowParams } from './sliding-window.ts';
import type { Decision, RateLimitStore, RatePolicy } from './types.ts';

/** The Lua sources, read once at startup; exported for the test that checks them against the TS. */
export const GCRA_SCRIPT = readScript('redis-gcra.lua');
export const GCRA_REFUND_SCRIPT = readScript('redis-gcra-refund.lua');
// Both sliding-window scripts open with the same clock read and roll-forward.
const SLIDING_WINDOW_ROLL = readScript('redis-sliding-window-roll.lua');
export const SLIDING_WINDOW_SCRIPT = SLIDING_WINDOW_ROLL + readScript('redis-sliding-window.lua');
export const SLIDING_WINDOW_REFUND_SCRIPT =
  SLIDING_WINDOW_ROLL + readScript('redis-sliding-window-refund.lua');

function readScript(name: string): string {
  return readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
}

/** Why a decision could not be made; the policy layer fails open or closed on any of them. */
export type RateLimitStoreErrorReason =
  /** No answer within the store's timeout (Redis hung, overloaded or partitioned). */
  | 'timeout'
  /** No usable connection: refused, dropped, or not (yet) re-established. */
  | 'unavailable'
  /** Redis answered with an error (out of memory, read-only replica, script error). */
  | 'error';

/** The store could not decide. It never decides for the caller whether to admit. */
export class RateLimitStoreError extends Error {
  override name = 'RateLimitStoreError';
  readonly reason: RateLimitStoreErrorReason;

  constructor(reason: RateLimitStoreErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

export interface RedisStoreOptions {
  readonly url: string;
  /** Longest wait for one decision before it rejects with reason `timeout` (default 50). */
  readonly timeoutMs?: number;
  /**
   * Longest wait for a TCP connection, and for any reply while commands are
   * outstanding, before the connection is dropped and re-established (default 1000).
   */
  readonly connectTimeoutMs?: number;
  /** Prepended to every key, outside the hash tag (default `rl:`). */
  readonly keyPrefix?: string;
  /** Connection errors, as ioredis reports them while it reconnects; rate-limit the log. */
  readonly onConnectionError?: (error: Error) => void;
  /**
   * Each command that failed (a decision, a refund, a TTL read, a health PING),
   * once, with why: the `redis_command_errors_total` metric.
   */
  readonly onCommandError?: (reason: RateLimitStoreErrorReason) => void;
}

export const DEFAULT_TIMEOUT_MS = 50;
export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;
/** Reconnect attempts back off to this and keep going for as long as the store is open. */
const MAX_RECONNECT_DELAY_MS = 1000;

type ScriptReply = [allowed: number, remaining: number, retryAfterMs: number, resetAfterMs: number];

/** A Lua script as Redis caches it: run by its SHA1, its source sent only when Redis lacks it. */
interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const GCRA = luaScript(GCRA_SCRIPT);
const GCRA_REFUND = luaScript(GCRA_REFUND_SCRIPT);
const SLIDING_WINDOW = luaScript(SLIDING_WINDOW_SCRIPT);
const SLIDING_WINDOW_REFUND = luaScript(SLIDING_WINDOW_REFUND_SCRIPT);

/**
 * Rate limit state shared by a fleet: one Lua script per decision or refund, one
 * round trip, Redis's clock. See ADR 0015 for the key layout and the failure modes.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #client: Redis;
  readonly #timeoutMs: number;
  readonly #keyPrefix: string;
  readonly #onCommandError: (reason: RateLimitStoreErrorReason) => void;

  constructor(options: RedisStoreOptions) {
    const keyPrefix = options.keyPrefix ?? 'rl:';
    if (/[{}]/.test(keyPrefix)) {
      throw new RangeError(
        'the rate limit key prefix must not contain { or }: it is outside the hash tag',
      );
    }
    this.#keyPrefix = keyPrefix;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#onCommandError = options.onCommandError ?? (() => {});
    const connectTimeout = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const client = new Redis(options.url, {
      // Fail fast instead of queueing: while disconnected a decision rejects at once.
      enableOfflineQueue: false,
      // A decision lost with a dropped connection is not resent: its caller has
      // already been answered, and charging it later would count it twice.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout,
      // Replies stop while decisions are outstanding (Redis hung, a partition):
      // drop the socket so the reconnect loop takes over.
      socketTimeout: connectTimeout,
      retryStrategy: (attempt) =>
        Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS) + Math.floor(Math.random() * 100),
    });
    client.on('error', (error: Error) => options.onConnectionError?.(error));
    this.#client = client;
  }

  /** True when a decision would be sent to Redis now, false while (re)connecting. */
  get connected(): boolean {
    return this.#client.status === 'ready';
  }

  /** Resolves true once connected, false if that takes longer than `timeoutMs`. */
  async waitUntilConnected(timeoutMs: number): Promise<boolean> {
    if (this.connected) return true;
    return await new Promise<boolean>((resolve) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#client.off('ready', onReady);
        resolve(false);
      }, timeoutMs);
      this.#client.once('ready', onReady);
    });
  }

  async decide(key: string, policy: RatePolicy, cost: number): Promise<Decision> {
    assertCost(cost);
    const stateKey = redisKey(this.#keyPrefix, key, policy);
    let reply: unknown;
    if (policy.algorithm === 'gcra') {
      const { intervalUs, capacity, windowMs } = gcraParams(policy);
      reply = await this.#run(GCRA, stateKey, [intervalUs, capacity, cost, windowMs]);
    } else {
      const { windowMs, limit } = slidingWindowParams(policy);
      reply = await this.#run(SLIDING_WINDOW, stateKey, [windowMs, limit, cost]);
    }
    const [allowed, remaining, retryAfterMs, resetAfterMs] = reply as ScriptReply;
    return { allowed: allowed === 1, remaining, retryAfterMs, resetAfterMs };
  }

  /**
   * Fails as `decide` fails, with a RateLimitStoreError. A refund that times out
   * may still have been applied; one that is lost leaves the caller charged, the
   * stricter side. Either way, do not retry it: a late duplicate gives back twice.
   */
  async refund(key: string, policy: RatePolicy, cost: number): Promise<void> {
    assertCost(cost);
    const stateKey = redisKey(this.#keyPrefix, key, policy);
    if (policy.algorithm === 'gcra') {
      await this.#run(GCRA_REFUND, stateKey, [gcraParams(policy).intervalUs, cost]);
    } else {
      await this.#run(SLIDING_WINDOW_REFUND, stateKey, [
        slidingWindowParams(policy).windowMs,
        cost,
      ]);
    }
  }

  /** Milliseconds until the state of `key` under `policy` expires; undefined when there is none. */
  async ttlMs(key: string, policy: RatePolicy): Promise<number | undefined> {
    const ttl = await this.#withTimeout(
      'PTTL',
      this.#client.pttl(redisKey(this.#keyPrefix, key, policy)),
    );
    return typeof ttl === 'number' && ttl >= 0 ? ttl : undefined;
  }

  /**
   * One PING, for readiness: resolves when Redis answers within `timeoutMs`
   * (the decision timeout unless told), else rejects as a decision would.
   */
  async ping(timeoutMs = this.#timeoutMs): Promise<void> {
    await this.#withTimeout('PING', this.#client.ping(), undefined, timeoutMs);
  }

  /** Stops reconnecting and closes the connection, never waiting on a hung Redis for long. */
  async close(): Promise<void> {
    if (this.#client.status === 'ready') {
      try {
        await this.#withTimeout('QUIT', this.#client.quit());
        return;
      } catch {
        // a hung or vanished Redis: drop the socket instead
      }
    }
    this.#client.disconnect();
  }

  /**
   * EVALSHA, and EVAL once when Redis does not have the script (a restart or
   * SCRIPT FLUSH forgets it), which caches it again: both under the decision's
   * one timeout. Ours rather than ioredis's defineCommand, so that this path is
   * in plain sight and tested (redis-store.test.ts flushes the scripts).
   */
  #run(script: LuaScript, key: string, args: readonly number[]): Promise<unknown> {
    return this.#withTimeout('EVALSHA', this.#client.evalsha(script.sha, 1, key, ...args), () =>
      this.#client.eval(script.source, 1, key, ...args),
    );
  }

  /**
   * One promise and one timer per command, the timer covering the whole of it:
   * `onMissingScript` (the EVAL that reloads a forgotten script) runs under the
   * same deadline. A failure is counted here, once per command, whoever asked;
   * with tracing on, each command is a span named `operation`.
   */
  #withTimeout<T>(
    operation: string,
    command: Promise<T>,
    onMissingScript?: () => Promise<T>,
    timeoutMs = this.#timeoutMs,
  ): Promise<T> {
    const startTime = tracingOn() ? performance.timeOrigin + performance.now() : 0;
    const traceCommand = (error?: unknown) =>
      recordSpan(operation, {
        kind: SpanKind.CLIENT,
        startTime,
        endTime: performance.timeOrigin + performance.now(),
        error,
        attributes: { 'db.system.name': 'redis', 'db.operation.name': operation },
      });
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        // The reply may already be read off the socket in this loop iteration
        // (timers run before I/O callbacks): let the I/O phase go first, so a
        // blocked event loop is not mistaken for a slow Redis.
        setImmediate(() => {
          if (settled) return;
          settled = true;
          this.#onCommandError('timeout');
          const timedOut = new RateLimitStoreError(
            'timeout',
            `Redis did not answer within ${timeoutMs} ms`,
          );
          traceCommand(timedOut);
          reject(timedOut);
        });
      }, timeoutMs);
      const succeed = (value: T) => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        traceCommand();
        resolve(value);
      };
      const fail = (error: unknown) => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        const failure = storeError(error);
        this.#onCommandError(failure.reason);
        traceCommand(failure);
        reject(failure);
      };
      command.then(succeed, (error: unknown) => {
        // Past the deadline the caller has its answer: send nothing more.
        if (onMissingScript !== undefined && isMissingScript(error) && !settled) {
          onMissingScript().then(succeed, fail);
        } else {
          fail(error);
        }
      });
    });
  }
}

/**
 * `<prefix>{<key>}:<policy>:<algorithm>`. The hash tag is the caller's key, so
 * all of one caller's state sits in one cluster slot and a script may touch
 * several of its policies at once; the algorithm keeps state shapes apart when
 * a policy changes algorithm across a deploy.
 */
export function redisKey(prefix: string, key: string, policy: RatePolicy): string {
  // `{}` is no hash tag at all: the caller's policies would scatter across slots.
  if (key === '') throw new RangeError('a rate limit key is not empty');
  return `${prefix}{${key}}:${policy.name}:${policy.algorithm}`;
}

/** NOSCRIPT: the one error Redis names by a code in its text rather than by a type. */
function isMissingScript(error: unknown): boolean {
  return error instanceof ReplyError && (error as Error).message.startsWith('NOSCRIPT');
}

// Classified by type, never by message text: a server reply is an error Redis
// chose to send; anything else means there was no usable connection.
function storeError(error: unknown): RateLimitStoreError {
  if (error instanceof ReplyError) {
    return new RateLimitStoreError('error', `Redis refused the command: ${String(error)}`, {
      cause: error,
    });
  }
  return new RateLimitStoreError('unavailable', 'Redis is not reachable', { cause: error });
}
