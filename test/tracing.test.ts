// One trace, request → SQL → job → webhook, as a collector receives it: a real
// `tasklane serve` exporting OTLP/HTTP to a local receiver, a real webhook endpoint.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { PASSWORD, uniqueEmail } from './helpers/factories.ts';
import { ProcessGroup, type ServerProcess } from './helpers/processes.ts';
import { eventually, WebhookReceiver } from './helpers/webhook-receiver.ts';

interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: readonly {
    key: string;
    value: { stringValue?: string; intValue?: number };
  }[];
}

// OTLP's SpanKind numbering (the proto enum, which the JSON encoding keeps).
const KIND = { server: 2, client: 3, consumer: 5 } as const;

/** Every span the collector got, flattened out of resourceSpans → scopeSpans → spans. */
function spansIn(collector: WebhookReceiver): OtlpSpan[] {
  return collector.received.flatMap((request) => {
    const payload = JSON.parse(request.body) as {
      resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
    };
    return payload.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  });
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? value?.intValue;
};

const processes = new ProcessGroup();
let database: TestDatabase;
let dataDir: string;
let collector: WebhookReceiver;
let receiver: WebhookReceiver;
let server: ServerProcess;

before(async () => {
  database = await createTestDatabase();
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tasklane-tracing-'));
  collector = await WebhookReceiver.start();
  receiver = await WebhookReceiver.start();
  server = await processes.startServer({
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url.replace('/hooks', ''),
    OTEL_SERVICE_NAME: 'tasklane-test',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  });
});

after(async () => {
  await processes.stopAll();
  await collector?.close();
  await receiver?.close();
  await database?.drop();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

async function call(
  method: string,
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Record<string, any>> {
  const response = await fetch(`${server.url}${url}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify(options.body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${url}: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, any>;
}

describe('tracing with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  const traceId = randomBytes(16).toString('hex');
  const callerSpanId = randomBytes(8).toString('hex');
  const title = `Trace me ${randomBytes(4).toString('hex')}`;
  let spans: OtlpSpan[] = [];

  before(async () => {
    const signup = await call('POST', '/v1/auth/signup', {
      body: { email: uniqueEmail('trace'), name: 'Tracer', password: PASSWORD },
    });
    const token = signup.access_token as string;
    const team = await call('POST', '/v1/teams', { token, body: { name: 'Traced' } });
    await call('POST', `/v1/teams/${team.id}/webhooks`, {
      token,
      body: { url: receiver.url, events: ['task.created'] },
    });
    const project = await call('POST', `/v1/teams/${team.id}/projects`, {
      token,
      body: { name: 'Traced', key: 'TRACED' },
    });
    await call('POST', `/v1/projects/${project.id}/tasks`, {
      token,
      body: { title },
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    assert.ok(await eventually(() => receiver.received.length > 0, 30_000), 'no webhook arrived');
    // The webhook's own span ends after the receiver answered: wait for it to be exported.
    assert.ok(
      await eventually(
        () =>
          spansIn(collector).some(
            (s) => s.traceId === traceId && s.kind === KIND.client && s.name === 'POST',
          ),
        30_000,
      ),
      'the webhook span never reached the collector',
    );
    spans = spansIn(collector).filter((span) => span.traceId === traceId);
  });

  test("the request's span continues the caller's trace, named by its route", () => {
    const request = spans.find((s) => s.kind === KIND.server);
    assert.ok(request, `no server span among ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(request.name, 'POST /v1/projects/:project_id/tasks');
    assert.equal(request.parentSpanId, callerSpanId);
    assert.equal(attribute(request, 'http.response.status_code'), 201);
  });

  test('each SQL statement is a child span carrying the statement without its values', () => {
    const request = spans.find((s) => s.kind === KIND.server)!;
    const statements = spans.filter(
      (s) => s.parentSpanId === request.spanId && attribute(s, 'db.system.name') === 'postgresql',
    );
    assert.ok(
      statements.some((s) => s.name === 'INSERT'),
      'no INSERT span under the request',
    );
    for (const statement of statements) {
      const text = String(attribute(statement, 'db.query.text'));
      assert.ok(!text.includes(title), `a parameter value leaked into a span: ${text}`);
    }
  });

  test('the job the request queued runs in the same trace, and so does its webhook call', () => {
    const request = spans.find((s) => s.kind === KIND.server)!;
    const job = spans.find((s) => s.name === 'job deliver-webhook');
    assert.ok(job, `no job span among ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(job.kind, KIND.consumer);
    assert.equal(job.parentSpanId, request.spanId);
    assert.ok(
      spans.some(
        (s) => s.parentSpanId === job.spanId && attribute(s, 'db.system.name') === 'postgresql',
      ),
      "the job's SQL is not under its span",
    );
    const webhook = spans.find((s) => s.kind === KIND.client && s.name === 'POST');
    assert.ok(webhook);
    assert.equal(webhook.parentSpanId, job.spanId);
    assert.equal(attribute(webhook, 'http.response.status_code'), 200);
    assert.equal(attribute(webhook, 'url.full'), receiver.url);
  });

  test('the receiver gets the trace in a traceparent header', () => {
    const [delivered] = receiver.received;
    const [, sentTrace, sentParent] = String(delivered?.headers.traceparent).split('-');
    assert.equal(sentTrace, traceId);
    const webhook = spans.find((s) => s.kind === KIND.client && s.name === 'POST')!;
    assert.equal(sentParent, webhook.spanId);
  });

  test('Redis calls of the rate limiter are spans of the request, when Redis is configured', (t) => {
    if (!process.env.REDIS_URL) {
      t.diagnostic('REDIS_URL is unset: the limiter is in memory and makes no Redis calls');
      return;
    }
    const request = spans.find((s) => s.kind === KIND.server)!;
    const redis = spans.filter((s) => attribute(s, 'db.system.name') === 'redis');
    assert.ok(redis.some((s) => s.parentSpanId === request.spanId && s.name === 'EVALSHA'));
  });

  test('spans name the service', () => {
    const [first] = collector.received;
    const payload = JSON.parse(first!.body) as {
      resourceSpans: { resource: { attributes: OtlpSpan['attributes'] } }[];
    };
    const name = payload.resourceSpans[0]!.resource.attributes.find(
      (a) => a.key === 'service.name',
    );
    assert.equal(name?.value.stringValue, 'tasklane-test');
  });
});
