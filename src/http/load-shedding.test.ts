import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mock, type TestContext, test } from 'node:test';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import Fastify, { type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import { assertProblem } from '../../test/helpers/factories.ts';
import { registerErrorHandling } from './error-handling.ts';
import {
  type LoadShedder,
  type LoadSheddingOptions,
  type LoadSignals,
  registerLoadShedding,
  type ShedPriority,
} from './load-shedding.ts';
import { AppError } from './problems.ts';
import { registerRequestContext, requestIdFor } from './request-context.ts';

const PRIORITIES: Record<string, ShedPriority> = {
  '/low': 'low',
  '/slow': 'low',
  '/fails': 'low',
  '/refuses': 'low',
  '/normal': 'normal',
  '/auth': 'auth',
  '/healthz': 'never',
};

/** A minimal app wired as app.ts wires it: request context first, then shedding. */
interface Harness {
  readonly app: FastifyInstance;
  readonly shedder: LoadShedder;
  /** What the injected sampler returns; takes effect at the next sample. */
  readonly signals: { -readonly [K in keyof LoadSignals]: LoadSignals[K] };
  /** The shedding log lines (started / stopped), in order. */
  readonly logs: () => Record<string, any>[];
  /** Every log line, in order. */
  readonly lines: Record<string, any>[];
  /** Sets the event-loop signal to `pressure` × its threshold and samples. */
  press(pressure: number): void;
  /** Resolves when `count` requests are waiting inside GET /slow; gives their replies. */
  inside(count: number): Promise<FastifyReply[]>;
  /** Lets every request waiting in GET /slow finish. */
  release(): void;
}

const DELAY_LIMIT_MS = 100;

async function startHarness(
  t: TestContext,
  limits: Partial<Omit<LoadSheddingOptions, 'priorityOf'>> = {},
): Promise<Harness> {
  const lines: Record<string, any>[] = [];
  const app = Fastify({
    logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line)) } },
    genReqId: requestIdFor,
    logController: new LogController({
      requestIdLogLabel: 'request_id',
      disableRequestLogging: true,
    }),
  });
  const signals = { eventLoopDelayMs: 0, heapUsedBytes: 0 };
  registerRequestContext(app);
  registerErrorHandling(app);
  const shedder = registerLoadShedding(app, {
    maxEventLoopDelayMs: DELAY_LIMIT_MS,
    maxHeapUsedBytes: 0,
    maxInFlight: 0,
    priorityOf: (request) => PRIORITIES[request.routeOptions.url ?? ''] ?? 'low',
    sample: () => ({ ...signals }),
    // Never fires during a test: each test samples by hand.
    sampleIntervalMs: 3_600_000,
    ...limits,
  });

  let gate = Promise.withResolvers<void>();
  const waiting: FastifyReply[] = [];
  const watchers: { count: number; resolve: (replies: FastifyReply[]) => void }[] = [];
  for (const url of ['/low', '/normal', '/auth', '/healthz']) {
    app.get(url, async () => ({ ok: true }));
  }
  app.get('/slow', async (_request, reply) => {
    waiting.push(reply);
    for (const watcher of watchers.filter((w) => w.count <= waiting.length)) {
      watcher.resolve([...waiting]);
    }
    await gate.promise;
    return { ok: true };
  });
  app.get('/fails', async () => {
    throw new Error('boom');
  });
  app.get('/refuses', async () => {
    throw new AppError('forbidden');
  });
  await app.ready();
  t.after(() => app.close());

  return {
    app,
    shedder,
    signals,
    logs: () => lines.filter((line) => String(line.msg).startsWith('load shedding')),
    lines,
    press(pressure) {
      signals.eventLoopDelayMs = pressure * DELAY_LIMIT_MS;
      shedder.sampleNow();
    },
    inside(count) {
      if (waiting.length >= count) return Promise.resolve([...waiting]);
      return new Promise((resolve) => watchers.push({ count, resolve }));
    },
    release() {
      gate.resolve();
      gate = Promise.withResolvers<void>();
      waiting.length = 0;
    },
  };
}

const get = (h: Harness, url: string) => h.app.inject({ method: 'GET', url });

/** The status each priority gets right now. */
async function statusByPriority(h: Harness): Promise<Record<ShedPriority, number>> {
  const [low, normal, auth, never] = await Promise.all(
    ['/low', '/normal', '/auth', '/healthz'].map(async (url) => (await get(h, url)).statusCode),
  );
  return { low: low!, normal: normal!, auth: auth!, never: never! };
}

const ALL_ANSWER = { low: 200, normal: 200, auth: 200, never: 200 };

test('below every threshold nothing is shed and nothing is logged', async (t) => {
  const h = await startHarness(t, { maxHeapUsedBytes: 1000, maxInFlight: 10 });
  h.signals.heapUsedBytes = 999;
  h.press(0.99);
  assert.ok(h.shedder.pressure < 1);
  assert.deepEqual(await statusByPriority(h), ALL_ANSWER);
  assert.deepEqual(h.logs(), []);
});

test('at pressure 1 only low routes answer 503 service_unavailable, with Retry-After and no-store', async (t) => {
  const shedPriorities: ShedPriority[] = [];
  const h = await startHarness(t, { onShed: (priority) => shedPriorities.push(priority) });
  h.press(1);
  const shed = await get(h, '/low');
  const problem = assertProblem(shed, 503, 'service_unavailable');
  assert.equal(problem.type, '/problems/service-unavailable');
  assert.equal(problem.instance, '/low');
  assert.match(String(shed.headers['retry-after']), /^[1-3]$/);
  assert.equal(shed.headers['cache-control'], 'no-store');
  // The request context ran first: the refusal is traceable like any answer.
  assert.ok(shed.headers.traceparent);
  assert.deepEqual(await statusByPriority(h), { ...ALL_ANSWER, low: 503 });
  assert.deepEqual(shedPriorities, ['low', 'low'], 'each refusal reported, with its priority');
});

test('normal is shed from pressure 1.5 and auth from 2; never answers at any pressure', async (t) => {
  const h = await startHarness(t);
  const expected: [number, Record<ShedPriority, number>][] = [
    [1.49, { low: 503, normal: 200, auth: 200, never: 200 }],
    [1.5, { low: 503, normal: 503, auth: 200, never: 200 }],
    [1.99, { low: 503, normal: 503, auth: 200, never: 200 }],
    [2, { low: 503, normal: 503, auth: 503, never: 200 }],
    [1000, { low: 503, normal: 503, auth: 503, never: 200 }],
  ];
  for (const [pressure, statuses] of expected) {
    h.press(pressure);
    assert.deepEqual(await statusByPriority(h), statuses, `at pressure ${pressure}`);
  }
});

test('the heap signal sheds like the others, and a signal whose threshold is 0 never does', async (t) => {
  const h = await startHarness(t, { maxEventLoopDelayMs: 0, maxHeapUsedBytes: 1000 });
  h.signals.eventLoopDelayMs = 60_000;
  h.signals.heapUsedBytes = 1500;
  h.shedder.sampleNow();
  assert.deepEqual(await statusByPriority(h), { low: 503, normal: 503, auth: 200, never: 200 });
  h.signals.heapUsedBytes = 999;
  h.shedder.sampleNow();
  assert.deepEqual(await statusByPriority(h), ALL_ANSWER);
});

test('Retry-After is spread over 1, 2 and 3 seconds so refused clients do not return together', async (t) => {
  const h = await startHarness(t);
  h.press(1);
  const random = mock.method(Math, 'random');
  t.after(() => random.mock.restore());
  const seen: string[] = [];
  for (const draw of [0, 0.34, 0.67, 0.999]) {
    random.mock.mockImplementation(() => draw);
    seen.push(String((await get(h, '/low')).headers['retry-after']));
  }
  assert.deepEqual(seen, ['1', '2', '3', '3']);
});

test('with maxInFlight 2, a third low request is shed while two are in flight; a normal one still answers', async (t) => {
  const h = await startHarness(t, { maxEventLoopDelayMs: 0, maxInFlight: 2 });
  const slow = [get(h, '/slow'), get(h, '/slow')];
  await h.inside(2);
  assert.equal(h.shedder.inFlight, 2);

  // 2 of 2 is pressure 1: low is shed, normal (from 1.5) is not. A shed request never
  // counts, else refusals arriving together would push the pressure up to normal's step.
  const together = await Promise.all(['/low', '/low', '/low', '/normal'].map((url) => get(h, url)));
  assertProblem(together[0]!, 503, 'service_unavailable');
  assert.deepEqual(
    together.map((response) => response.statusCode),
    [503, 503, 503, 200],
  );
  assert.equal(h.shedder.inFlight, 2);
  assert.equal((await get(h, '/healthz')).statusCode, 200);

  h.release();
  assert.deepEqual(
    (await Promise.all(slow)).map((response) => response.statusCode),
    [200, 200],
  );
  assert.equal(h.shedder.inFlight, 0);
  assert.equal((await get(h, '/low')).statusCode, 200);
});

test('a failed request gives its slot back: a thrown error, an AppError, an unknown route', async (t) => {
  const h = await startHarness(t, { maxEventLoopDelayMs: 0, maxInFlight: 1 });
  for (const [url, status] of [
    ['/fails', 500],
    ['/refuses', 403],
    ['/nowhere', 404],
    ['/fails', 500],
  ] as const) {
    // With one slot, a leaked one would shed this request.
    assert.equal((await get(h, url)).statusCode, status, url);
    assert.equal(h.shedder.inFlight, 0, url);
  }
});

test('a client that leaves mid-request gives its slot back once: at the close, not again when the handler ends', async (t) => {
  const h = await startHarness(t, { maxEventLoopDelayMs: 0, maxInFlight: 1 });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = h.app.server.address() as AddressInfo;

  const client = http.get({ host: '127.0.0.1', port, path: '/slow' });
  client.on('error', () => {}); // socket hang up: the point of the test
  const [reply] = await h.inside(1);
  assert.equal(h.shedder.inFlight, 1);

  // Our listener is registered after the module's, so the count has moved when it runs.
  const closed = once(reply!.raw, 'close');
  client.destroy();
  await closed;
  assert.equal(h.shedder.inFlight, 0);

  h.release();
  await setImmediate(); // the handler ends and Fastify answers into the closed socket
  assert.equal(h.shedder.inFlight, 0);
  assert.equal((await get(h, '/low')).statusCode, 200);
});

test('one warn line when shedding starts, one info line when it stops, and requests answer as soon as the signal drops', async (t) => {
  const h = await startHarness(t);
  h.press(2);
  for (let i = 0; i < 5; i++) assert.equal((await get(h, '/low')).statusCode, 503);
  h.press(1.5); // still shedding: no new line
  assert.equal((await get(h, '/normal')).statusCode, 503);

  h.press(0.5);
  assert.deepEqual(await statusByPriority(h), ALL_ANSWER);
  // A refusal is not a failure: no 'request failed' line with a stack for each one.
  assert.deepEqual(
    h.lines.filter((line) => line.msg === 'request failed'),
    [],
  );
  const [started, stopped, ...rest] = h.logs();
  assert.deepEqual(rest, []);
  assert.equal(started?.msg, 'load shedding started');
  assert.equal(started?.level, 40);
  assert.equal(started?.pressure, 2);
  assert.equal(started?.event_loop_delay_ms, 200);
  assert.equal(stopped?.msg, 'load shedding stopped');
  assert.equal(stopped?.level, 30);
  assert.equal(stopped?.shed, 6);
  assert.equal(stopped?.peak_pressure, 2);
  assert.equal(typeof stopped?.duration_ms, 'number');
});

test('in-flight pressure between two samples ends its episode only after a whole quiet interval', async (t) => {
  const h = await startHarness(t, { maxEventLoopDelayMs: 0, maxInFlight: 1 });
  const slow = get(h, '/slow');
  await h.inside(1);
  assert.equal((await get(h, '/low')).statusCode, 503);
  assert.equal(h.logs().length, 1);
  h.release();
  await slow;

  h.shedder.sampleNow(); // the interval that just ended had pressure
  assert.deepEqual(
    h.logs().map((line) => line.msg),
    ['load shedding started'],
  );
  h.shedder.sampleNow(); // a quiet one
  assert.deepEqual(
    h.logs().map((line) => line.msg),
    ['load shedding started', 'load shedding stopped'],
  );
});

test('the signals are read once per interval, and no more after the app closes', async (t) => {
  mock.timers.enable({ apis: ['setInterval'] });
  t.after(() => mock.timers.reset());
  let samples = 0;
  const app = Fastify();
  registerLoadShedding(app, {
    maxEventLoopDelayMs: DELAY_LIMIT_MS,
    maxHeapUsedBytes: 0,
    maxInFlight: 0,
    priorityOf: () => 'low',
    sample: () => {
      samples += 1;
      return { eventLoopDelayMs: DELAY_LIMIT_MS, heapUsedBytes: 0 };
    },
    sampleIntervalMs: 500,
  });
  app.get('/low', async () => ({ ok: true }));
  await app.ready();
  assert.equal((await app.inject('/low')).statusCode, 200); // not sampled yet
  mock.timers.tick(500);
  assert.equal(samples, 1);
  assert.equal((await app.inject('/low')).statusCode, 503);
  mock.timers.tick(1000);
  assert.equal(samples, 3);
  await app.close();
  mock.timers.tick(5000);
  assert.equal(samples, 3);
});

test('the real sampler reads V8 heap used', async (t) => {
  const h = await startHarness(t, {
    maxEventLoopDelayMs: 0,
    maxHeapUsedBytes: 1,
    sample: undefined,
  });
  h.shedder.sampleNow();
  // Any heap is a billion times over one byte.
  assert.ok(h.shedder.pressure > 1e6);
  assert.deepEqual(await statusByPriority(h), { low: 503, normal: 503, auth: 503, never: 200 });
});

test('the real sampler reads event-loop delay: stalls of 60 ms against a 20 ms threshold shed low and normal', async (t) => {
  const h = await startHarness(t, { maxEventLoopDelayMs: 20, sample: undefined });
  const stall = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };
  h.shedder.sampleNow(); // resets the histogram
  // Each wait lets the histogram's 10 ms timer tick once more, so it sees every stall;
  // slowness elsewhere can only lengthen the delays it records.
  await sleep(15);
  for (let i = 0; i < 3; i++) {
    stall(60);
    await sleep(15);
  }
  h.shedder.sampleNow();
  assert.ok(h.shedder.pressure >= 2, `pressure ${h.shedder.pressure}`);
  assert.equal((await get(h, '/normal')).statusCode, 503);
});
