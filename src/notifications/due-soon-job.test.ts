import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestApp } from '../../test/helpers/app.ts';
import { createTeamWithRoles } from '../../test/helpers/factories.ts';
import {
  type NotificationWorld,
  settled,
  startNotificationWorld,
  type TestSmtpServer,
} from '../../test/helpers/notifications.ts';
import { createPrivateProject, createProject } from '../../test/helpers/project-factories.ts';
import { insertTask } from '../../test/helpers/rows.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { NOTIFICATION_CRONTAB, notifyDueSoonJob, tomorrowUtc } from './due-soon-job.ts';

describe('the due-soon reminder', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;

  let world: NotificationWorld;

  before(async () => {
    world = await startNotificationWorld();
    ({ smtp, t } = world);
  });
  after(() => world.close());

  test('tomorrow is the next calendar day in UTC, whatever the hour', () => {
    assert.equal(tomorrowUtc(new Date('2026-03-31T00:00:00.000Z')), '2026-04-01');
    assert.equal(tomorrowUtc(new Date('2026-12-31T23:59:59.999Z')), '2027-01-01');
  });

  test('it runs hourly, as bulk work, one waiting at a time', () => {
    assert.equal(
      NOTIFICATION_CRONTAB,
      '7 * * * * notify-due-soon ?priority=10&jobKey=notify-due-soon',
    );
  });

  test('when the cron job runs three times, then the assignee of an open task due tomorrow is told once, and nobody else', async () => {
    const { team, owner, admin, member, viewer } = await createTeamWithRoles(t.app);
    const db = t.database.db;
    const project = await createProject(t.app, owner, team.id);
    const hidden = await createPrivateProject(t.app, admin, team.id);
    const tomorrow = tomorrowUtc(new Date());
    const later = tomorrowUtc(new Date(Date.now() + 24 * 60 * 60 * 1000));
    const due = await insertTask(db, project.id, {
      title: 'Ship it',
      assigneeId: member.id,
      dueDate: tomorrow,
    });
    await insertTask(db, project.id, { assigneeId: admin.id, dueDate: tomorrow, status: 'done' });
    await insertTask(db, project.id, {
      assigneeId: admin.id,
      dueDate: tomorrow,
      deletedAt: new Date(),
    });
    await insertTask(db, project.id, { assigneeId: admin.id, dueDate: later });
    await insertTask(db, project.id, { assigneeId: null, dueDate: tomorrow });
    // Assigned before they lost sight of the project: no reminder leaks its title.
    await insertTask(db, hidden.id, { assigneeId: viewer.id, dueDate: tomorrow });

    for (let run = 0; run < 3; run++) {
      await enqueueJob(db, notifyDueSoonJob, {});
      await settled(db);
    }

    const notifications = await db
      .selectFrom('notifications')
      .selectAll()
      .where('team_id', '=', team.id)
      .execute();
    assert.deepEqual(
      notifications.map((row) => [row.user_id, row.kind, row.source_key, row.task_id]),
      [[member.id, 'due_soon', `due_soon:${due.id}:${tomorrow}`, due.id]],
    );
    assert.match(notifications[0]!.title, /is due tomorrow: Ship it$/);
    const sends = await db
      .selectFrom('notification_sends')
      .selectAll()
      .where('source_key', 'like', 'due_soon:%')
      .where('user_id', 'in', [owner.id, admin.id, member.id, viewer.id])
      .execute();
    assert.deepEqual(
      sends.map((send) => [send.user_id, send.state]),
      [[member.id, 'sent']],
    );
    const mails = smtp.messages.filter((mail) =>
      [owner, admin, member, viewer].some((user) => mail.to.includes(user.email)),
    );
    assert.deepEqual(
      mails.map((mail) => [mail.to, mail.header('message-id')]),
      [[[member.email], sends[0]!.message_id]],
    );
  });
});
