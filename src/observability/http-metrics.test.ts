import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { createTeam, createUser } from '../../test/helpers/factories.ts';
import { uuidv7 } from '../lib/ids.ts';
import { createMetrics } from './metrics.ts';
import { registerPoolMetrics } from './process-metrics.ts';

/** `name{labels} value` lines of one metric, parsed. */
function series(
  exposition: string,
  name: string,
): { labels: Record<string, string>; value: number }[] {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => {
      const match = /^[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(.*)\})? (\S+)$/.exec(line);
      assert.ok(match, `a well-formed sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        labels[pair[1]!] = pair[2]!;
      }
      return { labels, value: Number(match[2]) };
    });
}

describe('HTTP golden-signal metrics', () => {
  let t: TestApp;
  const scrape = async () => (await t.app.inject({ url: '/metrics' })).body;

  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  test('requests are counted and timed by route template and status class, never by raw URL', async () => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    await t.app.inject({ url: `/v1/teams/${team.id}`, headers: owner.auth });
    await t.app.inject({ url: `/v1/teams/${uuidv7()}`, headers: owner.auth });
    const text = await scrape();
    const counts = series(text, 'http_requests_total');
    const teamReads = counts.filter(
      (sample) => sample.labels.route === '/v1/teams/:team_id' && sample.labels.method === 'GET',
    );
    assert.deepEqual(teamReads.map((sample) => [sample.labels.status_class, sample.value]).sort(), [
      ['2xx', 1],
      ['4xx', 1],
    ]);
    assert.ok(!text.includes(team.id), 'no id appears in any label');
    const buckets = series(text, 'http_request_duration_seconds_bucket').filter(
      (sample) =>
        sample.labels.route === '/v1/teams/:team_id' && sample.labels.status_class === '2xx',
    );
    assert.deepEqual(
      buckets.map((sample) => sample.labels.le),
      [
        '0.001',
        '0.0025',
        '0.005',
        '0.01',
        '0.025',
        '0.05',
        '0.075',
        '0.1',
        '0.25',
        '0.5',
        '0.75',
        '1',
        '2.5',
        '5',
        '10',
        '+Inf',
      ],
    );
    assert.equal(buckets.at(-1)!.value, 1);
    assert.match(text, /^http_requests_in_flight \d+$/m);
    // Every line of the exposition is a comment (# HELP / # TYPE) or a sample.
    for (const line of text.split('\n').filter(Boolean)) {
      assert.match(line, /^(# (HELP|TYPE) \S+ .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+)$/, line);
    }
  });

  test('the process’s saturation signals are there: event-loop delay and utilisation, heap, and the pg pool', async () => {
    const metrics = createMetrics();
    registerPoolMetrics(metrics.registry, t.database.pool);
    const text = await metrics.registry.metrics();
    for (const name of [
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_eventloop_utilization_ratio',
      'nodejs_heap_size_used_bytes',
      'process_cpu_seconds_total',
    ]) {
      assert.equal(series(text, name).length, 1, name);
    }
    const utilisation = series(text, 'nodejs_eventloop_utilization_ratio')[0]!.value;
    assert.ok(utilisation >= 0 && utilisation <= 1);
    const pool = Object.fromEntries(
      series(text, 'pg_pool_connections').map((sample) => [sample.labels.state, sample.value]),
    );
    assert.deepEqual(Object.keys(pool).sort(), ['idle', 'total', 'waiting']);
    assert.equal(pool.total, t.database.pool.totalCount);
    assert.ok(pool.total! >= 1, 'the test app has used its pool');
  });

  test('thousands of distinct URLs, known routes or not, add no series', async () => {
    const owner = await createUser(t.app);
    const seriesCount = async () =>
      series(await scrape(), 'http_requests_total').length +
      series(await scrape(), 'http_request_duration_seconds_bucket').length;
    // One of each shape first, so the series they need exist.
    await t.app.inject({ url: `/v1/tasks/${uuidv7()}`, headers: owner.auth });
    await t.app.inject({ url: `/nowhere/${uuidv7()}` });
    await t.app.inject({ url: `/v1/tasks/${uuidv7()}?q=${uuidv7()}`, headers: owner.auth });
    const before = await seriesCount();
    for (let i = 0; i < 1000; i++) {
      await t.app.inject({ url: `/v1/tasks/${uuidv7()}`, headers: owner.auth });
      await t.app.inject({ url: `/nowhere/${uuidv7()}/${i}` });
      await t.app.inject({ url: `/v1/tasks/${uuidv7()}?q=${i}`, headers: owner.auth });
    }
    assert.equal(await seriesCount(), before);
    const unmatched = series(await scrape(), 'http_requests_total').filter(
      (sample) => sample.labels.route === 'unmatched',
    );
    assert.ok(unmatched.some((sample) => sample.value >= 1001));
  });
});
