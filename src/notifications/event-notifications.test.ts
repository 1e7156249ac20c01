// Events that notify: assignment and @mentions, through the real routes, the
// real job queue and a real SMTP server on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { TestApp } from '../../test/helpers/app.ts';
import { createComment } from '../../test/helpers/comment-factories.ts';
import { createTeamWithRoles, type TestUser } from '../../test/helpers/factories.ts';
import {
  type NotificationWorld,
  queuedJobs,
  settled,
  startNotificationWorld,
  startTestWorker,
  type TestSmtpServer,
} from '../../test/helpers/notifications.ts';
import {
  addProjectMember,
  createPrivateProject,
  createProject,
} from '../../test/helpers/project-factories.ts';
import { createTask } from '../../test/helpers/task-factories.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { notifyEventJob } from './event-job.ts';

describe('notifications caused by events', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;

  let world: NotificationWorld;

  before(async () => {
    world = await startNotificationWorld();
    ({ smtp, t } = world);
  });
  after(() => world.close());

  const inboxOf = (user: TestUser) =>
    t.database.db
      .selectFrom('notifications')
      .selectAll()
      .where('user_id', '=', user.id)
      .orderBy('id')
      .execute();
  const sendsOf = (user: TestUser) =>
    t.database.db
      .selectFrom('notification_sends')
      .selectAll()
      .where('user_id', '=', user.id)
      .orderBy('id')
      .execute();
  const mailsTo = (user: TestUser) => smtp.messages.filter((mail) => mail.to.includes(user.email));
  const patchTask = (user: TestUser, taskId: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'PATCH', url: `/v1/tasks/${taskId}`, headers: user.auth, payload });
  const editComment = (user: TestUser, commentId: string, text: string) =>
    t.app.inject({
      method: 'PATCH',
      url: `/v1/comments/${commentId}`,
      headers: user.auth,
      payload: { body: text },
    });

  test('when a task is created with an assignee, then the assignee gets one inbox row and one email with the send’s Message-ID', async () => {
    const { team, owner, member } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, owner, team.id);
    const task = await createTask(t.app, owner, project.id, {
      title: 'Fix the login',
      assignee_id: member.id,
    });
    await settled(t.database.db);

    const inbox = await inboxOf(member);
    assert.equal(inbox.length, 1);
    assert.equal(inbox[0]!.kind, 'assigned');
    assert.equal(inbox[0]!.task_id, task.id);
    assert.equal(inbox[0]!.actor_id, owner.id);
    assert.equal(inbox[0]!.team_id, team.id);
    assert.equal(inbox[0]!.title, `Test User assigned you ${task.key}: Fix the login`);
    assert.equal(inbox[0]!.read_at, null);
    const [send, ...others] = await sendsOf(member);
    assert.deepEqual(others, []);
    assert.equal(send!.channel, 'email');
    assert.equal(send!.state, 'sent');
    assert.equal(send!.attempts, 1);
    assert.equal(send!.message_id, `<${send!.id}@tasklane>`);
    assert.equal(send!.recipient, member.email);
    const mails = mailsTo(member);
    assert.equal(mails.length, 1);
    assert.equal(mails[0]!.header('message-id'), send!.message_id);
    assert.equal(mails[0]!.header('subject'), inbox[0]!.title);
    assert.deepEqual(await inboxOf(owner), [], 'the actor is not told about their own change');
  });

  test('when a task is reassigned, then the new assignee is notified and the one who reassigned is not', async () => {
    const { team, owner, admin, member } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, owner, team.id);
    const task = await createTask(t.app, owner, project.id);
    const response = await patchTask(admin, task.id, { assignee_id: member.id });
    assert.equal(response.statusCode, 200);
    await settled(t.database.db);

    assert.deepEqual(
      (await inboxOf(member)).map((row) => [row.kind, row.actor_id]),
      [['assigned', admin.id]],
    );
    assert.equal(mailsTo(member).length, 1);
    assert.deepEqual(await inboxOf(admin), []);
  });

  test('when someone assigns a task to themselves, then nobody is notified and no job is queued', async () => {
    const { team, owner, member } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, owner, team.id);
    const task = await createTask(t.app, member, project.id, { title: 'Later mine' });
    // With the worker stopped, what the two writes queued stays in sight.
    await world.worker.stop();
    try {
      await createTask(t.app, member, project.id, { assignee_id: member.id });
      await patchTask(member, task.id, { assignee_id: member.id });
      assert.deepEqual(await queuedJobs(t.database.db, notifyEventJob.name), []);
    } finally {
      world.worker = await startTestWorker(t);
    }
    await settled(t.database.db);
    assert.deepEqual(await inboxOf(member), []);
    assert.deepEqual(await sendsOf(member), []);
    assert.deepEqual(mailsTo(member), []);
  });

  test('when a comment mentions a member, then they are notified once, and the author mentioning themselves is not', async () => {
    const { team, owner, admin, member } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, owner, team.id);
    const task = await createTask(t.app, owner, project.id);
    const comment = await createComment(
      t.app,
      admin,
      task.id,
      `<@${member.id}> can you look? cc <@${admin.id}>, and again <@${member.id.toUpperCase()}>`,
    );
    await settled(t.database.db);

    const inbox = await inboxOf(member);
    assert.equal(inbox.length, 1);
    assert.equal(inbox[0]!.kind, 'mentioned');
    assert.equal(inbox[0]!.task_id, task.id);
    assert.equal((inbox[0]!.data as Record<string, unknown>).comment_id, comment.id);
    assert.match(inbox[0]!.body, /^@Test User can you look\?/);
    assert.equal(mailsTo(member).length, 1);
    assert.deepEqual(await inboxOf(admin), []);
    assert.deepEqual(mailsTo(admin), []);
  });

  test('when a comment in a private project mentions a team member outside it, then they get nothing', async () => {
    const { team, owner, admin, member, viewer, outsider } = await createTeamWithRoles(t.app);
    const project = await createPrivateProject(t.app, admin, team.id);
    await addProjectMember(t.app, project.id, admin, member, 'member');
    const task = await createTask(t.app, admin, project.id);
    await createComment(
      t.app,
      admin,
      task.id,
      `<@${member.id}> <@${viewer.id}> <@${outsider.id}> <@${owner.id}>`,
    );
    await settled(t.database.db);

    assert.equal((await inboxOf(member)).length, 1, 'a project member is told');
    assert.equal((await inboxOf(owner)).length, 1, 'a team owner sees every project');
    for (const user of [viewer, outsider]) {
      assert.deepEqual(await inboxOf(user), []);
      assert.deepEqual(await sendsOf(user), []);
      assert.deepEqual(mailsTo(user), []);
    }
  });

  test('when a comment is edited, then only users newly mentioned are notified', async () => {
    const { team, owner, admin, member, viewer } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, owner, team.id);
    const task = await createTask(t.app, owner, project.id);
    const comment = await createComment(t.app, admin, task.id, `<@${member.id}> first`);
    await settled(t.database.db);
    const response = await editComment(admin, comment.id, `<@${member.id}> first, <@${viewer.id}>`);
    assert.equal(response.statusCode, 200);
    await editComment(admin, comment.id, `<@${member.id}> <@${viewer.id}> typo fixed`);
    await settled(t.database.db);

    assert.equal((await inboxOf(member)).length, 1, 'already mentioned: not told again');
    assert.equal(mailsTo(member).length, 1);
    assert.equal((await inboxOf(viewer)).length, 1, 'newly mentioned: told once');
    assert.equal(mailsTo(viewer).length, 1);
  });

  test('when a user turned email off, then the in-app notification still comes and no email is sent', async () => {
    const { team, owner, member } = await createTeamWithRoles(t.app);
    const patched = await t.app.inject({
      method: 'PATCH',
      url: '/v1/me/notification-preferences',
      headers: member.auth,
      payload: { email: false },
    });
    assert.equal(patched.statusCode, 200);
    const project = await createProject(t.app, owner, team.id);
    await createTask(t.app, owner, project.id, { assignee_id: member.id });
    await settled(t.database.db);

    assert.equal((await inboxOf(member)).length, 1);
    assert.deepEqual(await sendsOf(member), []);
    assert.deepEqual(mailsTo(member), []);
  });

  test('when the notify job runs again for the same event, then nothing more is stored or sent', async () => {
    const { team, owner, member } = await createTeamWithRoles(t.app);
    const project = await createProject(t.app, owner, team.id);
    const task = await createTask(t.app, owner, project.id, { assignee_id: member.id });
    await settled(t.database.db);
    const { rows } = await sql<{ id: string }>`
      SELECT id FROM events WHERE subject_id = ${task.id} AND type = 'task.created'`.execute(
      t.database.db,
    );
    await enqueueJob(t.database.db, notifyEventJob, { event_id: rows[0]!.id });
    await settled(t.database.db);

    assert.equal((await inboxOf(member)).length, 1);
    assert.equal((await sendsOf(member)).length, 1);
    assert.equal(mailsTo(member).length, 1);
  });
});
