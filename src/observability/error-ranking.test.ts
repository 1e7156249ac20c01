// The ring of buckets answers exactly what a brute force over the raw responses
// answers, for random streams: responses on and around bucket boundaries, queries
// whose window edge falls on them, clock jumps past the whole retention, quiet
// routes, and more routes than the ranking keeps apart.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorRanking, OVERFLOW, type RankingQuery, type RouteErrorRate } from './error-ranking.ts';

interface Response {
  readonly t: number;
  readonly method: string;
  readonly route: string;
  readonly status: number;
}

interface Shape {
  readonly bucketMs: number;
  readonly bucketCount: number;
  readonly maxSeries: number;
}

/**
 * The definition, straight from the list of responses: the window of n buckets
 * starts at the first boundary after now − n × bucketMs (the straddled bucket is
 * left out) and ends at now; the first maxSeries (method, route) pairs ever seen
 * keep their own counts, later ones count as the overflow series.
 */
function referenceTop(
  responses: readonly Response[],
  shape: Shape,
  now: number,
  query: RankingQuery,
): RouteErrorRate[] {
  const own = new Set<string>();
  for (const { method, route } of responses) {
    if (own.size < shape.maxSeries) own.add(`${method} ${route}`);
  }
  const windowStart =
    (Math.floor(now / shape.bucketMs) - query.windowMs / shape.bucketMs + 1) * shape.bucketMs;
  const counts = new Map<
    string,
    { method: string; route: string; requests: number; errors: number }
  >();
  for (const response of responses) {
    if (response.t < windowStart || response.t > now) continue;
    const mine = own.has(`${response.method} ${response.route}`);
    const method = mine ? response.method : OVERFLOW.method;
    const route = mine ? response.route : OVERFLOW.route;
    const key = `${method} ${route}`;
    const entry = counts.get(key) ?? { method, route, requests: 0, errors: 0 };
    entry.requests += 1;
    if (response.status >= 500) entry.errors += 1;
    counts.set(key, entry);
  }
  return [...counts.entries()]
    .filter(([, c]) => c.errors > 0 && c.requests >= query.minRequests)
    .map(([key, c]) => ({ key, row: { ...c, errorRate: c.errors / c.requests } }))
    .sort((a, b) => {
      const byRate = b.row.errorRate - a.row.errorRate;
      const byErrors = b.row.errors - a.row.errors;
      return byRate || byErrors || (a.key < b.key ? -1 : 1);
    })
    .slice(0, query.k)
    .map(({ row }) => row);
}

const ROUTES: readonly (readonly [string, string])[] = [
  ['GET', '/v1/tasks/:task_id'],
  ['PATCH', '/v1/tasks/:task_id'],
  ['GET', '/v1/teams'],
  ['POST', '/v1/teams'],
  ['GET', 'unmatched'],
  ['DELETE', '/v1/comments/:comment_id'],
];
const STATUSES = [200, 201, 204, 304, 400, 404, 422, 429, 499, 500, 502, 503, 504, 599];

/** How far the clock moves before an operation; resolved against the shape's bucket width. */
const stepArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const, n: 0 }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('ms' as const), n: fc.integer({ min: 1, max: 3 }) }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'to-boundary' as const, n: 0 }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'before-boundary' as const, n: 0 }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('buckets' as const),
      n: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('past-retention' as const), n: fc.nat(3) }),
  },
);
type Step = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

function advance(now: number, step: Step, shape: Shape): number {
  const toBoundary = shape.bucketMs - (now % shape.bucketMs);
  switch (step.kind) {
    case 'none':
      return now;
    case 'ms':
      return now + step.n;
    case 'to-boundary':
      return now + toBoundary;
    case 'before-boundary':
      return now + Math.max(0, toBoundary - 1);
    case 'buckets':
      return now + step.n * shape.bucketMs;
    case 'past-retention':
      return now + shape.bucketMs * shape.bucketCount + step.n;
  }
}

const opArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('response' as const),
      step: stepArb,
      // The first routes are busy, the last ones quiet.
      route: fc.constantFrom(0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 5),
      status: fc.constantFrom(...STATUSES),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('query' as const),
      step: stepArb,
      /** 0: the longest window; else that many buckets (clamped to the retention). */
      windowBuckets: fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 1, max: 8 })),
      k: fc.integer({ min: 1, max: 7 }),
      minRequests: fc.constantFrom(1, 1, 2, 3, 5),
    }),
  },
);

const shapeArb = fc.record({
  bucketMs: fc.constantFrom(1, 7, 10_000),
  bucketCount: fc.constantFrom(1, 2, 5, 360),
  maxSeries: fc.constantFrom(1, 3, 1000),
});

describe('ErrorRanking', () => {
  test('property: every query answers what the brute force over the raw responses answers', () => {
    fc.assert(
      fc.property(
        shapeArb,
        fc.integer({ min: 0, max: 2_000_000_000_000 }),
        fc.array(opArb, { minLength: 1, maxLength: 150 }),
        (shape, start, ops) => {
          let now = start;
          const ranking = new ErrorRanking({ ...shape, now: () => now });
          const responses: Response[] = [];
          for (const op of ops) {
            now = advance(now, op.step, shape);
            if (op.kind === 'response') {
              const [method, route] = ROUTES[op.route]!;
              ranking.record(method, route, op.status);
              responses.push({ t: now, method, route, status: op.status });
              continue;
            }
            const buckets =
              op.windowBuckets === 0
                ? shape.bucketCount
                : Math.min(op.windowBuckets, shape.bucketCount);
            const query = {
              windowMs: buckets * shape.bucketMs,
              k: op.k,
              minRequests: op.minRequests,
            };
            assert.deepEqual(ranking.top(query), referenceTop(responses, shape, now, query));
          }
          assert.ok(ranking.seriesCount <= shape.maxSeries + 1);
        },
      ),
      { numRuns: 400 },
    );
  });

  test('one failed call on a quiet route does not rank first: below min_requests it is not listed', () => {
    let now = 1_000_000;
    const ranking = new ErrorRanking({ now: () => now });
    for (let i = 0; i < 100; i++) ranking.record('GET', '/v1/teams', i % 10 === 0 ? 500 : 200);
    ranking.record('DELETE', '/v1/teams/:team_id', 500);
    now += 1000;

    const window = { windowMs: 300_000, k: 10 };
    assert.deepEqual(ranking.top({ ...window, minRequests: 20 }), [
      { method: 'GET', route: '/v1/teams', requests: 100, errors: 10, errorRate: 0.1 },
    ]);
    assert.deepEqual(
      ranking.top({ ...window, minRequests: 1 }).map((row) => row.route),
      ['/v1/teams/:team_id', '/v1/teams'],
    );
  });

  test('only 5xx are errors: 4xx are the client’s, while 503 (shed, draining) refused the caller', () => {
    const ranking = new ErrorRanking({ now: () => 0 });
    for (const status of [200, 304, 400, 401, 404, 429, 499, 503, 500]) {
      ranking.record('GET', '/v1/me', status);
    }
    assert.deepEqual(ranking.top({ windowMs: 10_000, k: 1, minRequests: 1 }), [
      { method: 'GET', route: '/v1/me', requests: 9, errors: 2, errorRate: 2 / 9 },
    ]);
  });

  test('ties are broken by errors, then by method and route, whatever the order of arrival', () => {
    const ranking = new ErrorRanking({ now: () => 0 });
    const fail = (method: string, route: string, times: number) => {
      for (let i = 0; i < times; i++) ranking.record(method, route, 500);
    };
    fail('POST', '/v1/teams', 2);
    fail('GET', '/v1/teams', 2);
    fail('GET', '/v1/me', 4);
    assert.deepEqual(
      ranking.top({ windowMs: 10_000, k: 3, minRequests: 1 }).map((r) => `${r.method} ${r.route}`),
      ['GET /v1/me', 'GET /v1/teams', 'POST /v1/teams'],
    );
  });

  test('the window edge: the bucket it falls into is left out whole, the next one counted whole', () => {
    let now = 0;
    const ranking = new ErrorRanking({ bucketMs: 10_000, bucketCount: 6, now: () => now });
    for (const t of [9_999, 10_000, 19_999, 20_000]) {
      now = t;
      ranking.record('GET', '/v1/me', 500);
    }
    const count = (at: number, windowMs: number) => {
      now = at;
      return ranking.top({ windowMs, k: 1, minRequests: 1 })[0]?.requests ?? 0;
    };
    // At 30 000 a 20 s window is the buckets [20 000, 30 000) and [30 000, 40 000).
    assert.equal(count(30_000, 20_000), 1);
    assert.equal(count(29_999, 20_000), 3); // [10 000, 30 000): not the one at 9 999
    assert.equal(count(39_999, 30_000), 3);
    assert.equal(count(40_000, 30_000), 1);
    assert.equal(count(60_000, 60_000), 3);
    assert.equal(count(60_000, 10_000), 0);
  });

  test('after the clock moves past the whole retention, nothing is left in any window', () => {
    let now = 5_000;
    const ranking = new ErrorRanking({ bucketMs: 10_000, bucketCount: 6, now: () => now });
    ranking.record('GET', '/v1/me', 500);
    now += 60_000;
    assert.deepEqual(ranking.top({ windowMs: 60_000, k: 10, minRequests: 1 }), []);
    ranking.record('GET', '/v1/me', 200);
    ranking.record('GET', '/v1/me', 502);
    assert.deepEqual(ranking.top({ windowMs: 60_000, k: 10, minRequests: 1 }), [
      { method: 'GET', route: '/v1/me', requests: 2, errors: 1, errorRate: 0.5 },
    ]);
  });

  test('a clock that steps back: within the retention the response counts in its bucket, beyond it is dropped', () => {
    let now = 100_000;
    const ranking = new ErrorRanking({ bucketMs: 10_000, bucketCount: 6, now: () => now });
    ranking.record('GET', '/v1/me', 500);
    now = 75_000;
    ranking.record('GET', '/v1/me', 500);
    now = 40_000; // bucket 4, six buckets behind bucket 10: its slot is bucket 10's
    ranking.record('GET', '/v1/me', 500);
    now = 100_000;
    assert.equal(ranking.top({ windowMs: 60_000, k: 1, minRequests: 1 })[0]?.requests, 2);
    assert.equal(ranking.top({ windowMs: 10_000, k: 1, minRequests: 1 })[0]?.requests, 1);
  });

  test('memory is bounded: past maxSeries pairs, new routes share one overflow series', () => {
    const ranking = new ErrorRanking({ maxSeries: 3, now: () => 0 });
    for (let i = 0; i < 50; i++) {
      ranking.record('GET', `/v1/route-${i}`, i < 3 ? 200 : 500);
      ranking.record('POST', `/v1/route-${i}`, 200);
    }
    assert.equal(ranking.seriesCount, 4);
    assert.deepEqual(ranking.top({ windowMs: 10_000, k: 10, minRequests: 1 }), [
      { ...OVERFLOW, requests: 97, errors: 47, errorRate: 47 / 97 },
    ]);
  });

  test('a window that is not a whole number of buckets, or longer than the retention, is refused', () => {
    const ranking = new ErrorRanking({ bucketMs: 10_000, bucketCount: 360 });
    for (const windowMs of [0, 5_000, 15_000, 3_600_001, 3_610_000]) {
      assert.throws(() => ranking.top({ windowMs, k: 1, minRequests: 1 }), RangeError);
    }
    assert.deepEqual(ranking.top({ windowMs: 3_600_000, k: 1, minRequests: 1 }), []);
  });
});
