import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { startTestApp, type TestApp } from '../../test/helpers/app.ts';
import { createTeam, createUser } from '../../test/helpers/factories.ts';
import { openDatabase } from '../db/database.ts';
import { PLAN_TTL_MS, PlanCache } from './plan-cache.ts';

describe('PlanCache', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => await t.close());

  test('the best plan of the caller’s teams; a stale one answers at once while a fresh one is read', async () => {
    let now = 1_000_000;
    const plans = new PlanCache(t.database.db, () => now);
    const user = await createUser(t.app);
    const team = await createTeam(t.app, user);
    assert.equal(await plans.planOf(user.id), 'free');

    await sql`UPDATE teams SET plan = 'pro' WHERE id = ${team.id}`.execute(t.database.db);
    assert.equal(plans.cached(user.id), 'free', 'fresh for a minute');
    now += PLAN_TTL_MS;
    assert.equal(plans.cached(user.id), 'free', 'stale: answered without waiting');
    for (let i = 0; i < 100 && plans.cached(user.id) !== 'pro'; i++) await sleep(10);
    assert.equal(plans.cached(user.id), 'pro', 'read again in the background');
  });

  test('a failed read answers free, and asks the database again only five seconds later', async () => {
    let now = 1_000_000;
    const down = openDatabase('postgres://postgres@127.0.0.1:1/none', 1);
    try {
      const plans = new PlanCache(down.db, () => now);
      await assert.rejects(plans.planOf('0190a6f4-0000-7000-8000-000000000000'));
      assert.equal(plans.cached('0190a6f4-0000-7000-8000-000000000000'), 'free');
      now += 5_000;
      assert.equal(plans.cached('0190a6f4-0000-7000-8000-000000000000'), undefined);
    } finally {
      await down.close();
    }
  });
});
