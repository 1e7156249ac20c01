import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp, type TestApp } from '../../../test/helpers/app.ts';
import { addMember, assertProblem, createTeamWithRoles } from '../../../test/helpers/factories.ts';
import { addProjectMember, createPrivateProject } from '../../../test/helpers/project-factories.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

test('leaving a team ends private-project access for good: rejoining does not bring it back', async () => {
  const { team, owner, admin, member } = await createTeamWithRoles(t.app);
  const project = await createPrivateProject(t.app, admin, team.id);
  await addProjectMember(t.app, project.id, admin, member, 'member');
  const read = () =>
    t.app.inject({ method: 'GET', url: `/v1/projects/${project.id}`, headers: member.auth });
  assert.equal((await read()).statusCode, 200);

  const removed = await t.app.inject({
    method: 'DELETE',
    url: `/v1/teams/${team.id}/members/${member.id}`,
    headers: owner.auth,
  });
  assert.equal(removed.statusCode, 204);
  const rows = await t.database.db
    .selectFrom('project_members')
    .select('user_id')
    .where('project_id', '=', project.id)
    .where('user_id', '=', member.id)
    .execute();
  assert.deepEqual(rows, []);
  const logged = await t.database.db
    .selectFrom('events')
    .select(['type', 'project_id', 'subject_id'])
    .where('type', '=', 'project_member.removed')
    .where('subject_id', '=', member.id)
    .execute();
  assert.deepEqual(logged, [
    { type: 'project_member.removed', project_id: project.id, subject_id: member.id },
  ]);

  await addMember(t.app, team, owner, member, 'member');
  assertProblem(await read(), 404, 'not_found');
});
