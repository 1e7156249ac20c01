import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { body, createTeam, createUser, type TestUser } from '../../test/helpers/factories.ts';
import { createProject } from '../../test/helpers/project-factories.ts';
import { createTask } from '../../test/helpers/task-factories.ts';
import { eventually, WebhookReceiver } from '../../test/helpers/webhook-receiver.ts';
import type { WebhookConfig } from '../config.ts';
import { appendEvent } from '../events/event-log.ts';
import { type JobWorker, startWorker } from '../jobs/worker.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { deliverWebhook } from './delivery-job.ts';
import { scheduleDelivery } from './delivery-queue.ts';

describe('webhook deliveries', () => {
  let t: TestApp;
  let owner: TestUser;
  let teamId: string;
  let projectId: string;
  let receiver: WebhookReceiver;
  let worker: JobWorker | undefined;
  let metrics: Metrics;

  const startDeliveries = async (webhooks: Partial<WebhookConfig> = {}, concurrency = 4) => {
    metrics = createMetrics();
    worker = await startWorker({
      metrics,
      pool: t.database.pool,
      db: t.database.db,
      config: {
        ...t.config,
        jobConcurrency: concurrency,
        webhooks: { ...t.config.webhooks, ...webhooks },
      },
      log: t.app.log,
      jobs: [deliverWebhook],
      crontab: '',
    });
  };
  const createEndpoint = async (events: string[] = ['task.*'], url = receiver.url) => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/teams/${teamId}/webhooks`,
      headers: owner.auth,
      payload: { url, events },
    });
    assert.equal(response.statusCode, 201, response.body);
    return body<{ id: string; secret: string }>(response);
  };
  const deliveriesOf = (endpointId: string) =>
    t.database.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('endpoint_id', '=', endpointId)
      .orderBy('id')
      .execute();
  const endpointRow = (endpointId: string) =>
    t.database.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', endpointId)
      .executeTakeFirstOrThrow();
  const attemptsOf = (deliveryId: string) =>
    t.database.db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('delivery_id', '=', deliveryId)
      .orderBy('number')
      .execute();

  before(async () => {
    t = await startTestApp({
      env: {
        WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
        WEBHOOK_RETRY_SCHEDULE: '30ms 30ms',
        WEBHOOK_TIMEOUT: '500ms',
        WEBHOOK_CIRCUIT_FAILURES: '1000',
      },
    });
    owner = await createUser(t.app);
    teamId = (await createTeam(t.app, owner)).id;
    projectId = (await createProject(t.app, owner, teamId)).id;
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await receiver?.close();
    // Each test's endpoints go, so the next test's events reach only its own.
    await t.database.db.deleteFrom('webhook_endpoints').where('team_id', '=', teamId).execute();
  });
  after(() => t.close());

  test('a delivery verifies with the standardwebhooks library, and fails to once its body is altered', async () => {
    receiver = await WebhookReceiver.start();
    const endpoint = await createEndpoint(['task.created']);
    const other = await createEndpoint(['comment.*']);
    await startDeliveries();
    const task = await createTask(t.app, owner, projectId);
    assert.ok(await eventually(() => receiver.received.length === 1), 'delivered');

    const [request] = receiver.received;
    const verifier = new Webhook(endpoint.secret);
    const payload = verifier.verify(request!.body, request!.headers) as Record<string, any>;
    assert.equal(payload.type, 'task.created');
    assert.equal(payload.data.subject_id, task.id);
    assert.equal(payload.data.team_id, teamId);
    assert.equal(payload.timestamp, payload.data.created_at);
    // One character of the body changed (to one it is not), as a tampering proxy would.
    const tampered = request!.body.replace(
      task.id,
      `${task.id.slice(0, -1)}${task.id.endsWith('0') ? '1' : '0'}`,
    );
    assert.notEqual(tampered, request!.body);
    assert.throws(() => verifier.verify(tampered, request!.headers), /signature/i);
    assert.throws(() => new Webhook(other.secret).verify(request!.body, request!.headers));

    const [delivery] = await deliveriesOf(endpoint.id);
    assert.equal(request!.headers['webhook-id'], delivery!.id);
    assert.equal(request!.headers['content-type'], 'application/json');
    assert.ok(
      await eventually(async () => (await deliveriesOf(endpoint.id))[0]!.state === 'succeeded'),
    );
    assert.deepEqual(await deliveriesOf(other.id), [], 'not subscribed to task events');
    const [attempt] = await attemptsOf(delivery!.id);
    assert.equal(attempt!.status, 200);
    assert.ok(attempt!.duration_ms >= 0);
    const exposition = await metrics.registry.metrics();
    assert.match(exposition, /^webhook_delivery_attempts_total\{outcome="succeeded"\} 1$/m);
    assert.match(exposition, /^webhook_attempt_duration_seconds_count 1$/m);
  });

  test('when a worker dies after the receiver answered but before recording it, the delivery goes again under the same webhook-id', async () => {
    receiver = await WebhookReceiver.start();
    const endpoint = await createEndpoint(['task.created']);
    await startDeliveries();
    await createTask(t.app, owner, projectId);
    assert.ok(
      await eventually(async () => (await deliveriesOf(endpoint.id))[0]?.state === 'succeeded'),
    );
    const [delivery] = await deliveriesOf(endpoint.id);
    // What a kill -9 between the 2xx and the commit leaves: the delivery still
    // pending, its job to be run again (by graphile-worker, once the lock is freed).
    await t.database.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('webhook_deliveries')
        .set({ state: 'pending', attempts: 0, completed_at: null })
        .where('id', '=', delivery!.id)
        .execute();
      await trx.deleteFrom('webhook_attempts').where('delivery_id', '=', delivery!.id).execute();
      await scheduleDelivery(trx, { delivery_id: delivery!.id, manual: false }, new Date());
    });
    assert.ok(await eventually(() => receiver.received.length === 2));
    assert.deepEqual(
      receiver.received.map((request) => request.headers['webhook-id']),
      [delivery!.id, delivery!.id],
    );
    assert.equal(
      receiver.received[0]!.body,
      receiver.received[1]!.body,
      'the same body, byte for byte',
    );
    assert.ok(
      await eventually(async () => (await deliveriesOf(endpoint.id))[0]?.state === 'succeeded'),
    );
    assert.equal((await deliveriesOf(endpoint.id)).length, 1);
  });

  test('a delivery exists only if the change that caused it commits', async () => {
    receiver = await WebhookReceiver.start();
    const endpoint = await createEndpoint(['team.*']);
    await assert.rejects(
      t.database.db.transaction().execute(async (trx) => {
        await appendEvent(trx, {
          teamId,
          projectId: null,
          type: 'team.updated',
          actorId: owner.id,
          subjectId: teamId,
          data: { changes: {} },
        });
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    assert.deepEqual(await deliveriesOf(endpoint.id), []);
    const { rows } = await sql`SELECT count(*)::int AS n FROM graphile_worker.jobs`.execute(
      t.database.db,
    );
    assert.deepEqual(rows, [{ n: 0 }]);
  });

  test('a failing endpoint is retried on the schedule, then the delivery fails, the endpoint is disabled and the team is told', async () => {
    receiver = await WebhookReceiver.start();
    // Task events fail; the watcher, told of endpoint changes, is healthy.
    receiver.reply = (request) =>
      request.body.includes('"webhook_endpoint.') ? { status: 200 } : { status: 500, body: 'boom' };
    const endpoint = await createEndpoint(['task.*']);
    const watcher = await createEndpoint(
      ['webhook_endpoint.*'],
      receiver.url.replace('/hooks', '/watch'),
    );
    await startDeliveries();
    await createTask(t.app, owner, projectId);
    assert.ok(
      await eventually(async () => (await endpointRow(endpoint.id)).disabled_at !== null),
      'disabled',
    );
    const row = await endpointRow(endpoint.id);
    assert.equal(row.disabled_reason, 'retries_exhausted');
    const [delivery] = await deliveriesOf(endpoint.id);
    assert.equal(delivery!.state, 'failed');
    assert.equal(delivery!.attempts, 3, 'the first attempt and two retries');
    const attempts = await attemptsOf(delivery!.id);
    assert.deepEqual(
      attempts.map((attempt) => [attempt.number, attempt.status, attempt.response_snippet]),
      [
        [1, 500, 'boom'],
        [2, 500, 'boom'],
        [3, 500, 'boom'],
      ],
    );
    const hooks = receiver.received.filter((request) => !request.body.includes('webhook_endpoint'));
    assert.equal(new Set(hooks.map((request) => request.headers['webhook-id'])).size, 1);
    const gaps = hooks.slice(1).map((request, index) => request.at - hooks[index]!.at);
    assert.ok(
      gaps.every((gap) => gap >= 20),
      `retries waited ~30 ms ± 20 %: ${gaps}`,
    );

    const disabled = await t.database.db
      .selectFrom('events')
      .selectAll()
      .where('subject_id', '=', endpoint.id)
      .where('type', '=', 'webhook_endpoint.disabled')
      .executeTakeFirst();
    assert.deepEqual(disabled?.data, {
      reason: 'retries_exhausted',
      url: row.url,
      delivery_id: delivery!.id,
    });
    const told = await t.database.db
      .selectFrom('notifications')
      .select(['user_id', 'kind', 'title'])
      .where('team_id', '=', teamId)
      .where('kind', '=', 'webhook_disabled')
      .execute();
    assert.deepEqual(
      told.map((notification) => notification.user_id),
      [owner.id],
      'the team’s owner is told in the inbox',
    );
    // Another endpoint of the team hears of it like any other event.
    assert.ok(await eventually(async () => (await deliveriesOf(watcher.id)).length > 0));
  });

  test('410 Gone disables the endpoint at once', async () => {
    receiver = await WebhookReceiver.start();
    receiver.reply = () => ({ status: 410 });
    const endpoint = await createEndpoint();
    await startDeliveries();
    await createTask(t.app, owner, projectId);
    assert.ok(await eventually(async () => (await endpointRow(endpoint.id)).disabled_at !== null));
    assert.equal((await endpointRow(endpoint.id)).disabled_reason, 'gone');
    assert.equal(receiver.received.length, 1);
    const [delivery] = await deliveriesOf(endpoint.id);
    assert.equal(delivery!.state, 'failed');
    assert.equal(delivery!.last_status, 410);
  });

  test('a 503 with Retry-After waits as long as the receiver asks, not the shorter schedule', async () => {
    receiver = await WebhookReceiver.start();
    receiver.reply = (_request, index) =>
      index === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 204 };
    const endpoint = await createEndpoint();
    await startDeliveries();
    await createTask(t.app, owner, projectId);
    assert.ok(await eventually(() => receiver.received.length === 2, 5_000));
    const [first, second] = receiver.received;
    assert.ok(second!.at - first!.at >= 950, `waited ${second!.at - first!.at} ms`);
    assert.equal(first!.headers['webhook-id'], second!.headers['webhook-id']);
    assert.notEqual(first!.headers['webhook-signature'], undefined);
    assert.ok(
      await eventually(async () => (await deliveriesOf(endpoint.id))[0]!.state === 'succeeded'),
    );
  });

  test('a redirect is not followed and counts as a failure; a receiver that hangs times out', async () => {
    receiver = await WebhookReceiver.start();
    const elsewhere = await WebhookReceiver.start();
    try {
      receiver.reply = (_request, index) =>
        index === 0 ? { status: 302, headers: { location: elsewhere.url } } : { hang: true };
      const endpoint = await createEndpoint();
      await startDeliveries();
      await createTask(t.app, owner, projectId);
      const [delivery] = await (async () => {
        await eventually(async () => (await deliveriesOf(endpoint.id))[0]?.attempts === 2, 5_000);
        return deliveriesOf(endpoint.id);
      })();
      const attempts = await attemptsOf(delivery!.id);
      assert.equal(attempts[0]!.status, 302);
      assert.equal(attempts[1]!.status, null);
      assert.equal(attempts[1]!.error, 'timed out');
      assert.ok(attempts[1]!.duration_ms >= 450, `${attempts[1]!.duration_ms} ms`);
      assert.equal(elsewhere.received.length, 0, 'the redirect was not followed');
    } finally {
      await elsewhere.close();
    }
  });

  test('a huge response body is cut: a KiB is kept and the delivery still succeeds', async () => {
    receiver = await WebhookReceiver.start();
    receiver.reply = () => ({ status: 200, body: 'x'.repeat(5 * 1024 * 1024) });
    const endpoint = await createEndpoint();
    await startDeliveries();
    await createTask(t.app, owner, projectId);
    assert.ok(
      await eventually(async () => (await deliveriesOf(endpoint.id))[0]?.state === 'succeeded'),
    );
    const [delivery] = await deliveriesOf(endpoint.id);
    const [attempt] = await attemptsOf(delivery!.id);
    assert.equal(attempt!.response_snippet?.length, 1024);
  });

  test('during a secret rotation’s grace period both secrets verify; after it only the new one', async () => {
    receiver = await WebhookReceiver.start();
    const endpoint = await createEndpoint();
    const rotate = async (grace: number) =>
      body(
        await t.app.inject({
          method: 'POST',
          url: `/v1/webhooks/${endpoint.id}/rotate-secret`,
          headers: owner.auth,
          payload: { grace_seconds: grace },
        }),
      ).secret as string;
    const second = await rotate(3600);
    await startDeliveries();
    await createTask(t.app, owner, projectId);
    assert.ok(await eventually(() => receiver.received.length === 1));
    const [during] = receiver.received;
    assert.equal(during!.headers['webhook-signature']!.split(' ').length, 2);
    new Webhook(endpoint.secret).verify(during!.body, during!.headers);
    new Webhook(second).verify(during!.body, during!.headers);

    const third = await rotate(0);
    await createTask(t.app, owner, projectId);
    assert.ok(await eventually(() => receiver.received.length === 2));
    const afterRotation = receiver.received[1]!;
    assert.equal(afterRotation.headers['webhook-signature']!.split(' ').length, 1);
    new Webhook(third).verify(afterRotation.body, afterRotation.headers);
    assert.throws(() => new Webhook(second).verify(afterRotation.body, afterRotation.headers));
  });

  test('the circuit opens after the threshold: deliveries wait for the cooldown, one probe goes, success closes it', async () => {
    receiver = await WebhookReceiver.start();
    let healthy = false;
    receiver.reply = () => (healthy ? { status: 200 } : { status: 500 });
    const endpoint = await createEndpoint();
    await startDeliveries(
      { circuitFailures: 2, circuitCooldownMs: 600, retryScheduleMs: [50, 50, 50, 50, 50, 50] },
      1,
    );
    for (let i = 0; i < 3; i++) await createTask(t.app, owner, projectId);
    assert.ok(await eventually(() => receiver.received.length >= 2));
    const opened = receiver.received[1]!.at;
    assert.ok(
      await eventually(async () => (await endpointRow(endpoint.id)).circuit_open_until !== null),
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    const duringCooldown = receiver.received.filter((request) => request.at > opened + 5);
    assert.deepEqual(duringCooldown, [], 'nothing was sent while the circuit was open');

    // The cooldown is over: exactly one probe, which fails and reopens the circuit for longer.
    assert.ok(await eventually(() => receiver.received.length === 3, 2_000));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(receiver.received.length, 3, 'one probe at a time');
    healthy = true;
    assert.ok(
      await eventually(async () => {
        const deliveries = await deliveriesOf(endpoint.id);
        return deliveries.every((delivery) => delivery.state === 'succeeded');
      }, 8_000),
      'every delivery got through once the endpoint recovered',
    );
    const row = await endpointRow(endpoint.id);
    assert.equal(row.consecutive_failures, 0);
    assert.equal(row.circuit_open_until, null);
  });

  test('a failed delivery retried by hand goes again with its original webhook-id', async () => {
    receiver = await WebhookReceiver.start();
    receiver.reply = () => ({ status: 500 });
    const endpoint = await createEndpoint();
    await startDeliveries({ retryScheduleMs: [] });
    await createTask(t.app, owner, projectId);
    assert.ok(await eventually(async () => (await endpointRow(endpoint.id)).disabled_at !== null));
    const [failed] = await deliveriesOf(endpoint.id);
    const retry = () =>
      t.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${endpoint.id}/deliveries/${failed!.id}/retry`,
        headers: owner.auth,
      });
    assert.equal((await retry()).statusCode, 409, 'a disabled endpoint takes no retry');
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/webhooks/${endpoint.id}`,
      headers: owner.auth,
      payload: { status: 'enabled' },
    });
    receiver.reply = () => ({ status: 200 });
    const accepted = await retry();
    assert.equal(accepted.statusCode, 202, accepted.body);
    assert.equal(body(accepted).state, 'pending');
    assert.ok(
      await eventually(async () => (await deliveriesOf(endpoint.id))[0]!.state === 'succeeded'),
    );
    assert.deepEqual([...receiver.webhookIds], [failed!.id]);

    const detail = body(
      await t.app.inject({
        url: `/v1/webhooks/${endpoint.id}/deliveries/${failed!.id}`,
        headers: owner.auth,
      }),
    );
    assert.deepEqual(
      detail.attempts.map((attempt: { status: number }) => attempt.status),
      [500, 200],
    );
    const list = body(
      await t.app.inject({
        url: `/v1/webhooks/${endpoint.id}/deliveries?state=succeeded`,
        headers: owner.auth,
      }),
    );
    assert.deepEqual(
      list.data.map((delivery: { id: string }) => delivery.id),
      [failed!.id],
    );
  });

  test('with the SSRF guard on, a delivery to a loopback target is refused before any connection', async () => {
    receiver = await WebhookReceiver.start();
    const endpoint = await createEndpoint(['task.*']);
    const named = await createEndpoint(['task.*'], receiver.url.replace('127.0.0.1', 'localhost'));
    await startDeliveries({ allowPrivateTargets: false, retryScheduleMs: [] });
    await createTask(t.app, owner, projectId);
    for (const id of [endpoint.id, named.id]) {
      assert.ok(await eventually(async () => (await deliveriesOf(id))[0]?.state === 'failed'));
      const [attempt] = await attemptsOf((await deliveriesOf(id))[0]!.id);
      assert.equal(attempt!.status, null);
      assert.match(attempt!.error ?? '', /private, loopback or link-local/);
    }
    assert.equal(receiver.received.length, 0);
  });
});
