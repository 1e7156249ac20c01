// Exactly once in effect for external sends (ADR 0020), checked from outside:
// what a real SMTP server received, and the send rows.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { createTeamWithRoles, type TestUser } from '../../test/helpers/factories.ts';
import {
  deadSmtpUrl,
  settled,
  startSmtpServer,
  startTestWorker,
  type TestSmtpServer,
} from '../../test/helpers/notifications.ts';
import { createProject } from '../../test/helpers/project-factories.ts';
import { createTask } from '../../test/helpers/task-factories.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import type { JobWorker } from '../jobs/worker.ts';
import { sendNotificationJob } from './send-job.ts';

describe('the send-notification job', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let worker: JobWorker | undefined;

  before(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ env: { SMTP_URL: smtp.url } });
  });
  after(async () => {
    await worker?.stop();
    await t.close();
    await smtp.close();
  });

  const db = () => t.database.db;
  const sendsOf = (user: TestUser) =>
    db().selectFrom('notification_sends').selectAll().where('user_id', '=', user.id).execute();
  const mailsTo = (user: TestUser) => smtp.messages.filter((mail) => mail.to.includes(user.email));
  const runSendAgain = (sendId: string) =>
    enqueueJob(
      db(),
      sendNotificationJob,
      { send_id: sendId },
      { jobKey: `notification-send:${sendId}` },
    );

  /** A member assigned a task by the owner: one email send, run to `sent`. */
  async function assignedMember(): Promise<TestUser> {
    const { team, owner, member } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, owner, team.id);
    await createTask(t.app, owner, project.id, { assignee_id: member.id });
    await settled(db());
    return member;
  }

  describe('with the SMTP server up', () => {
    before(async () => {
      worker = await startTestWorker(t);
    });
    after(async () => {
      await worker?.stop();
      worker = undefined;
    });

    test('when a send was left `sending` by a worker that died after sending, then it is sent again with the same Message-ID', async () => {
      const member = await assignedMember();
      const [send] = await sendsOf(member);
      assert.equal(send!.state, 'sent');
      // What a worker that died between the SMTP server's 250 and `sent` leaves behind.
      await db()
        .updateTable('notification_sends')
        .set({ state: 'sending', sent_at: null })
        .where('id', '=', send!.id)
        .execute();
      await runSendAgain(send!.id);
      await settled(db());

      const mails = mailsTo(member);
      assert.equal(mails.length, 2, 'the outcome was unknown, so it is sent again');
      assert.deepEqual(
        mails.map((mail) => mail.header('message-id')),
        [send!.message_id, send!.message_id],
        'both copies carry one Message-ID: the receiver drops the second',
      );
      assert.equal(mails[0]!.header('subject'), mails[1]!.header('subject'));
      const [after] = await sendsOf(member);
      assert.equal(after!.state, 'sent');
      assert.equal(after!.attempts, 2);
    });

    test('when a send is `sent`, then running its job again sends nothing and changes nothing', async () => {
      const member = await assignedMember();
      const [send] = await sendsOf(member);
      await runSendAgain(send!.id);
      await runSendAgain(send!.id);
      await settled(db());

      assert.equal(mailsTo(member).length, 1);
      assert.deepEqual(await sendsOf(member), [send]);
    });

    test('when push and SMS are on, then each goes to the logging provider: one line with the ids, no body', async () => {
      const { team, owner, member } = await createTeamWithRoles(t.app);
      const patched = await t.app.inject({
        method: 'PATCH',
        url: '/v1/me/notification-preferences',
        headers: member.auth,
        payload: { push: true, sms: true, email: false },
      });
      assert.equal(patched.statusCode, 200);
      const project = await createProject(t.app, owner, team.id);
      await createTask(t.app, owner, project.id, {
        title: 'Secret plans',
        assignee_id: member.id,
      });
      await settled(db());

      const sends = await sendsOf(member);
      assert.deepEqual(sends.map((send) => [send.channel, send.state]).sort(), [
        ['push', 'sent'],
        ['sms', 'sent'],
      ]);
      for (const send of sends) {
        const lines = t.logs.records.filter(
          (line) =>
            line.msg === 'notification handed to the logging provider' &&
            line.idempotency_key === send.message_id,
        );
        assert.equal(lines.length, 1);
        assert.equal(lines[0]!.channel, send.channel);
        const attempt = t.logs.records.find(
          (line) => line.msg === 'notification send attempt' && line.send_id === send.id,
        );
        assert.equal(attempt?.user_id, member.id);
        assert.equal(attempt?.send_attempt, 1);
      }
      assert.doesNotMatch(
        t.logs.lines.filter((line) => line.includes('logging provider')).join('\n'),
        /Secret plans/,
      );
      assert.deepEqual(mailsTo(member), []);
    });
  });

  test('when the SMTP server is down, then the send is retried and, after the last attempt, `failed` with the error', async () => {
    worker = await startTestWorker(t, { smtpUrl: await deadSmtpUrl() });
    try {
      const { team, owner, member } = await createTeamWithRoles(t.app);
      const project = await createProject(t.app, owner, team.id);
      await createTask(t.app, owner, project.id, { assignee_id: member.id });

      // Skip the backoff between attempts, and make the third the last.
      const deadline = Date.now() + 30_000;
      let send = (await sendsOf(member))[0];
      while (send?.state !== 'failed' && Date.now() < deadline) {
        await sql`
          SELECT graphile_worker.reschedule_jobs(
            array_agg(id), run_at := now(), max_attempts := 3)
          FROM graphile_worker.jobs
          WHERE task_identifier = ${sendNotificationJob.name} AND locked_at IS NULL
            AND attempts < max_attempts AND run_at > now()`.execute(db());
        await sql`SELECT pg_notify('jobs:insert', '')`.execute(db());
        await sleep(50);
        send = (await sendsOf(member))[0];
      }

      assert.equal(send?.state, 'failed');
      assert.equal(send?.attempts, 3);
      assert.equal(send?.sent_at, null);
      assert.match(send?.last_error ?? '', /ECONNREFUSED/);
      const { rows } = await sql<{ attempts: number; max_attempts: number }>`
        SELECT attempts, max_attempts FROM graphile_worker.jobs
        WHERE key = ${`notification-send:${send!.id}`}`.execute(db());
      assert.deepEqual(rows, [{ attempts: 3, max_attempts: 3 }], 'kept as failed, for an operator');
      assert.deepEqual(mailsTo(member), []);
    } finally {
      await worker.stop();
      worker = undefined;
    }
  });
});
