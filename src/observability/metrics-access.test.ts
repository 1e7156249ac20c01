// Who may read /metrics: METRICS_TOKEN on the API port and on the bare metrics
// server, and METRICS_PORT taking /metrics off the API port.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { assertProblem } from '../../test/helpers/factories.ts';
import { createMetrics } from './metrics.ts';
import { type MetricsServer, serveMetrics } from './metrics-server.ts';

const TOKEN = randomBytes(32).toString('hex');
const CHALLENGE = 'Bearer realm="tasklane-metrics"';

describe('METRICS_TOKEN on the API port', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { METRICS_TOKEN: TOKEN } });
  });
  after(() => t.close());

  const scrape = (authorization?: string) =>
    t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: authorization === undefined ? {} : { authorization },
    });

  test('without the token, or with another, GET /metrics is a 401 problem with a Bearer challenge', async () => {
    const wrong = `Bearer ${TOKEN.slice(0, -1)}${TOKEN.endsWith('0') ? '1' : '0'}`;
    for (const authorization of [undefined, wrong, `Bearer ${TOKEN}x`, TOKEN, `Basic ${TOKEN}`]) {
      const response = await scrape(authorization);
      const problem = assertProblem(response, 401, 'unauthenticated');
      assert.equal(response.headers['www-authenticate'], CHALLENGE);
      assert.doesNotMatch(JSON.stringify(problem), /# TYPE/);
    }
  });

  test('with `Bearer <token>` (any case of the scheme) it answers the exposition', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const response = await scrape(`${scheme} ${TOKEN}`);
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^text\/plain/);
      assert.match(response.body, /# TYPE http_requests_total counter/);
    }
  });

  test('the token appears in no log line', async () => {
    await scrape(`Bearer ${TOKEN}`);
    await scrape(`Bearer ${TOKEN}x`);
    assert.ok(t.logs.lines.length > 0);
    assert.ok(!t.logs.text.includes(TOKEN));
  });

  test('the other operational routes stay open', async () => {
    assert.equal((await t.app.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await t.app.inject({ url: '/readyz' })).statusCode, 200);
  });
});

describe('METRICS_PORT', () => {
  test('the API port no longer answers /metrics: 404', async () => {
    const t = await startTestApp({ env: { METRICS_PORT: '9464' } });
    try {
      assertProblem(await t.app.inject({ url: '/metrics' }), 404, 'not_found');
    } finally {
      await t.close();
    }
  });
});

describe('the bare metrics server (METRICS_PORT, WORKER_METRICS_PORT)', () => {
  const metrics = createMetrics();
  let server: MetricsServer;
  let url: string;
  before(async () => {
    server = await serveMetrics(metrics.registry, { host: '127.0.0.1', port: 0, token: TOKEN });
    url = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  test('with METRICS_TOKEN, a scrape without it is a 401 with a Bearer challenge', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }]) {
      const response = await fetch(`${url}/metrics`, { headers });
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), CHALLENGE);
      assert.doesNotMatch(await response.text(), /# TYPE/);
    }
  });

  test('with the token it answers the exposition; other paths stay 404', async () => {
    const authorization = `Bearer ${TOKEN}`;
    const response = await fetch(`${url}/metrics`, { headers: { authorization } });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /# TYPE redis_command_errors_total counter/);
    const other = await fetch(`${url}/healthz`, { headers: { authorization } });
    assert.equal(other.status, 404);
    await other.body?.cancel();
  });
});
