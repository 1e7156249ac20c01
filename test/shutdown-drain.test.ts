// A real `tasklane serve` process: /metrics on METRICS_PORT behind METRICS_TOKEN,
// and the drain after SIGTERM (readiness off, everything else on), cut short by
// a second signal. The drain delay is a minute, so nothing here races a timer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { PASSWORD, uniqueEmail } from './helpers/factories.ts';
import { freePort, ProcessGroup, type ServerProcess, within } from './helpers/processes.ts';

const METRICS_TOKEN = randomBytes(32).toString('hex');
const EXIT_TIMEOUT_MS = 5_000;

describe('tasklane serve with METRICS_PORT, METRICS_TOKEN and a drain delay', {
  timeout: 60_000,
}, () => {
  const processes = new ProcessGroup();
  let database: TestDatabase;
  let dataDir: string;
  let server: ServerProcess;
  let metricsUrl: string;

  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tasklane-drain-'));
    database = await createTestDatabase();
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    server = await processes.startServer({
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      TOKEN_SIGNING_KEY: randomBytes(48).toString('base64'),
      METRICS_PORT: String(metricsPort),
      METRICS_TOKEN,
      SHUTDOWN_DRAIN_DELAY_MS: '60000',
      JOBS_IN_PROCESS: 'false',
    });
  });
  after(async () => {
    await processes.stopAll();
    await database.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const get = async (url: string, headers: Record<string, string> = {}) => {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
  const signup = async () => {
    const response = await fetch(`${server.url}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: uniqueEmail('drain'), name: 'Drain', password: PASSWORD }),
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel();
    return response.status;
  };

  test('/metrics answers on METRICS_PORT to the token only, and no longer on the API port', async () => {
    const scrape = await get(metricsUrl, { authorization: `Bearer ${METRICS_TOKEN}` });
    assert.equal(scrape.status, 200);
    assert.match(scrape.text, /^# TYPE http_requests_total counter$/m);
    const refused = await get(metricsUrl);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer /);
    const onApiPort = await get(`${server.url}/metrics`, {
      authorization: `Bearer ${METRICS_TOKEN}`,
    });
    assert.equal(onApiPort.status, 404);
    assert.ok(!server.stdout.join('\n').includes(METRICS_TOKEN), 'the token is never logged');
  });

  test('after SIGTERM /readyz answers 503 "draining" while the API serves on; a second SIGTERM closes, exit 0', async () => {
    assert.equal((await get(`${server.url}/readyz`)).status, 200);

    server.child.kill('SIGTERM');
    await server.waitForLog((record) => String(record.msg).startsWith('draining'));

    const ready = await get(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(ready.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = JSON.parse(ready.text) as Record<string, unknown>;
    assert.equal(problem.code, 'service_unavailable');
    assert.equal(problem.readiness, 'draining');
    const health = await get(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await signup(), 201, 'an API route serves as usual');
    const scrape = await get(metricsUrl, { authorization: `Bearer ${METRICS_TOKEN}` });
    assert.equal(scrape.status, 200, 'so do the metrics');
    assert.equal(server.child.exitCode, null, 'still running: the delay is a minute');
    assert.ok(
      !server.logs.some((record) => String(record.msg).startsWith('shutting down')),
      'the close sequence has not begun',
    );

    server.child.kill('SIGTERM');
    assert.deepEqual(await within(EXIT_TIMEOUT_MS, server.exited, 'exit after the second signal'), {
      code: 0,
      signal: null,
    });
    const messages = server.logs.map((record) => String(record.msg));
    const order = ['draining', 'second signal', 'shutting down', 'stopped'].map((start) =>
      messages.findIndex((msg) => msg.startsWith(start)),
    );
    assert.ok(
      order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)),
      `log lines out of order: ${messages.join(' | ')}`,
    );
  });
});
