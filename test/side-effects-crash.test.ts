// Issue 5, part 4: worker processes are killed with SIGKILL at random moments
// while 1 000 task events flow, each one owed to two webhook endpoints and, as
// an assignment, to its assignee's inbox and email. Checked from outside, at a
// real HTTP receiver and a real SMTP server: every event reaches every
// subscribed endpoint under one distinct webhook-id per (event, endpoint), and
// every notification arrives under one distinct Message-ID — a repeat only ever
// reuses the id, which is what lets the receiver drop it. Signatures are checked
// with the standardwebhooks library.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { addMember, createTeam, createUser, type TestUser } from './helpers/factories.ts';
import { settled, startSmtpServer, type TestSmtpServer } from './helpers/notifications.ts';
import { ProcessGroup, type RunningProcess } from './helpers/processes.ts';
import { createProject } from './helpers/project-factories.ts';
import { WebhookReceiver } from './helpers/webhook-receiver.ts';

const EVENTS = 1_000;
const ASSIGNEES = 4;
const WORKERS = 2;
const MAX_KILLS = 6;
// Short, so the jobs a killed worker held come back within the test's patience.
const LOCK_TIMEOUT_SECONDS = '2';

async function until(ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await sleep(100);
  }
}

describe('webhooks and notifications while workers are killed', () => {
  let smtp: TestSmtpServer;
  let receiver: WebhookReceiver;
  let t: TestApp;
  const processes = new ProcessGroup();

  before(async () => {
    smtp = await startSmtpServer();
    receiver = await WebhookReceiver.start();
    // A few milliseconds per answer, so some kills land while a request is out.
    receiver.reply = () => ({ status: 204, delayMs: Math.floor(Math.random() * 20) });
    t = await startTestApp({ env: { SMTP_URL: smtp.url, WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
  });
  after(async () => {
    await processes.stopAll();
    await t.close();
    await smtp.close();
    await receiver.close();
  });

  /** `tasklane worker` with the whole catalogue, as production runs it. */
  const spawnWorker = (): RunningProcess =>
    processes.spawnNode(['src/main.ts', 'worker'], {
      DATABASE_URL: t.config.databaseUrl!,
      SMTP_URL: smtp.url,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_RETRY_SCHEDULE: '200ms 500ms 1s 2s 2s 2s',
      JOB_LOCK_TIMEOUT_SECONDS: LOCK_TIMEOUT_SECONDS,
      JOB_CONCURRENCY: '8',
      LOG_LEVEL: 'warn',
    });

  const inboxRows = async () =>
    (
      await t.database.db
        .selectFrom('notifications')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;
  /** Pids of the worker processes whose heartbeat is written: they take jobs. */
  const workingPids = async () =>
    new Set(
      (await t.database.db.selectFrom('job_worker_heartbeats').select('pid').execute()).map(
        (row) => row.pid,
      ),
    );
  const succeededDeliveries = async () =>
    (
      await t.database.db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('state', '=', 'succeeded')
        .where('event_type', '=', 'task.created')
        .executeTakeFirstOrThrow()
    ).n;
  const sentSends = async () =>
    (
      await t.database.db
        .selectFrom('notification_sends')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('state', '=', 'sent')
        .executeTakeFirstOrThrow()
    ).n;

  test('when workers are killed at random while 1 000 events flow, then every delivery and notification arrives, each under one distinct id', async (context) => {
    const owner = await createUser(t.app);
    const team = await createTeam(t.app, owner);
    const assignees: TestUser[] = [];
    for (let i = 0; i < ASSIGNEES; i++) {
      const user = await createUser(t.app);
      await addMember(t.app, team, owner, user, 'member');
      assignees.push(user);
    }
    const project = await createProject(t.app, owner, team.id);
    const endpoints: { id: string; secret: string; path: string }[] = [];
    for (const [path, events] of [
      ['/everything', ['*']],
      ['/tasks', ['task.created']],
    ] as const) {
      const response = await t.app.inject({
        method: 'POST',
        url: `/v1/teams/${team.id}/webhooks`,
        headers: owner.auth,
        payload: { url: receiver.url.replace('/hooks', path), events },
      });
      assert.equal(response.statusCode, 201, response.body);
      endpoints.push({ ...(response.json() as { id: string; secret: string }), path });
    }

    let workers = Array.from({ length: WORKERS }, spawnWorker);
    let creating = true;
    let kills = 0;
    // The killer: while the work flows, every 0.5–2 s a worker that is running
    // jobs dies without warning and another one starts — MAX_KILLS times, so the
    // test ends in bounded time; the survivors finish what the dead left.
    const killUntil = Date.now() + 60_000;
    const killer = (async () => {
      const mostlyDone = async () =>
        (await sentSends()) >= EVENTS * 0.9 && (await succeededDeliveries()) >= 2 * EVENTS * 0.9;
      while ((creating || !(await mostlyDone())) && kills < MAX_KILLS && Date.now() < killUntil) {
        await sleep(500 + Math.random() * 1_500);
        const working = await workingPids();
        const candidates = workers.filter((worker) => working.has(worker.child.pid!));
        const victim = candidates[Math.floor(Math.random() * candidates.length)];
        if (!victim) continue;
        await victim.kill('SIGKILL');
        kills++;
        workers = [...workers.filter((worker) => worker !== victim), spawnWorker()];
      }
    })();

    // The events: tasks created with an assignee, ten requests at a time.
    for (let i = 0; i < EVENTS; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, EVENTS - i) }, async (_, j) => {
          const assignee = assignees[(i + j) % ASSIGNEES]!;
          const response = await t.app.inject({
            method: 'POST',
            url: `/v1/projects/${project.id}/tasks`,
            headers: owner.auth,
            payload: { title: `Task ${i + j}`, assignee_id: assignee.id },
          });
          assert.equal(response.statusCode, 201);
        }),
      );
    }
    creating = false;
    await killer;
    // The rest is sent by the workers left alive.
    const allDone = async () =>
      (await sentSends()) === EVENTS && (await succeededDeliveries()) === 2 * EVENTS;
    await until(120_000, allDone).catch(async (error) => {
      const progress = `${await sentSends()} of ${EVENTS} sent, ${await succeededDeliveries()} of ${2 * EVENTS} delivered`;
      throw new Error(`${progress} (${kills} kills)`, { cause: error });
    });
    await settled(t.database.db, 30_000);

    assert.equal(await inboxRows(), EVENTS, 'one inbox row per event');
    const sends = await t.database.db
      .selectFrom('notification_sends')
      .select(['message_id', 'recipient', 'state'])
      .execute();
    assert.equal(sends.length, EVENTS, 'one email send per event');
    assert.deepEqual(
      sends.filter((send) => send.state !== 'sent'),
      [],
    );
    const expected = new Map(sends.map((send) => [send.message_id, send.recipient]));
    const received = new Map<string, number>();
    for (const mail of smtp.messages) {
      const id = mail.header('message-id')!;
      assert.ok(expected.has(id), `an unknown Message-ID arrived: ${id}`);
      assert.deepEqual(mail.to, [expected.get(id)], 'each copy goes where its send says');
      received.set(id, (received.get(id) ?? 0) + 1);
    }
    assert.equal(received.size, EVENTS, 'the server sees one distinct Message-ID per notification');
    const repeats = smtp.messages.length - received.size;

    // Webhooks: one delivery row per (event, endpoint), all succeeded, each seen
    // by the receiver under its own webhook-id and under no other.
    const deliveries = await t.database.db
      .selectFrom('webhook_deliveries')
      .select(['id', 'endpoint_id', 'event_id', 'state'])
      .execute();
    assert.deepEqual(
      deliveries.filter((delivery) => delivery.state !== 'succeeded'),
      [],
    );
    const deliveryIds = new Set(deliveries.map((delivery) => delivery.id));
    const idsByPair = new Map<string, Set<string>>();
    for (const request of receiver.received) {
      const endpoint = endpoints.find((candidate) => candidate.path === request.path)!;
      const payload = new Webhook(endpoint.secret).verify(request.body, request.headers) as {
        data: { id: string };
      };
      const webhookId = request.headers['webhook-id']!;
      assert.ok(deliveryIds.has(webhookId), `an unknown webhook-id arrived: ${webhookId}`);
      const pair = `${payload.data.id} → ${endpoint.path}`;
      idsByPair.set(pair, (idsByPair.get(pair) ?? new Set()).add(webhookId));
    }
    const taskEvents = await t.database.db
      .selectFrom('events')
      .select('id')
      .where('type', '=', 'task.created')
      .execute();
    assert.equal(taskEvents.length, EVENTS);
    for (const { id } of taskEvents) {
      for (const path of ['/everything', '/tasks']) {
        assert.equal(idsByPair.get(`${id} → ${path}`)?.size, 1, `event ${id} at ${path}`);
      }
    }
    assert.equal(idsByPair.size, deliveries.length, 'every delivery arrived');
    const webhookRepeats = receiver.received.length - deliveries.length;
    context.diagnostic(
      `${kills} kills; repeats with the same id: ${repeats} emails, ${webhookRepeats} webhooks`,
    );
    assert.ok(kills > 0, 'the test killed workers while events flowed');
  });
});
