// The benchmark's fixed cast: an owner who logs in, a few assignees, one team and
// its projects. Found by email and key, so every seed and run meets the same rows.
import { sql } from 'kysely';
import { hashPassword } from '../../src/auth/passwords.ts';
import type { Db } from '../../src/db/database.ts';
import { uuidv7 } from '../../src/lib/ids.ts';

export const BENCH_OWNER = {
  email: 'bench-owner@tasklane.test',
  password: 'bench-owner-password-7f3c',
  name: 'Bench Owner',
} as const;
export const BENCH_ASSIGNEE_COUNT = 4;
export const BENCH_TEAM_NAME = 'Tasklane bench';
export const MAX_PROJECTS = 26 * 26;
export const DEFAULT_PROJECTS = 10;

const assigneeEmail = (index: number) => `bench-assignee-${index + 1}@tasklane.test`;

/** BENCHA … BENCHZ, then BENCHAA …: valid project keys (2–10 uppercase letters). */
export function benchProjectKey(index: number): string {
  const letter = (n: number) => String.fromCharCode(65 + n);
  return index < 26
    ? `BENCH${letter(index)}`
    : `BENCH${letter(Math.floor(index / 26) - 1)}${letter(index % 26)}`;
}

export interface BenchProject {
  readonly id: string;
  readonly key: string;
  /** Tasks numbered so far: with no hard deletes, the project's task count. */
  readonly lastTaskNumber: number;
}

export interface BenchFixtures {
  readonly ownerId: string;
  /** The owner first, then the assignees: everyone who may be assigned a task. */
  readonly people: readonly string[];
  readonly assigneeIds: readonly string[];
  readonly teamId: string;
  /** Ordered by key, so a project's position (its seed) never changes. */
  readonly projects: readonly BenchProject[];
}

async function ensureUser(db: Db, email: string, name: string, passwordHash: string) {
  const now = new Date();
  await db
    .insertInto('users')
    .values({
      id: uuidv7(),
      email,
      name,
      password_hash: passwordHash,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
    .execute();
  const user = await db
    .selectFrom('users')
    .select('id')
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirstOrThrow();
  return user.id;
}

/**
 * Creates whatever of the cast is missing and returns all of it: `projectCount`
 * projects, or when it is undefined, as many as exist already (10 at first). The password
 * hash is a real argon2id hash from the app's own module, so POST /v1/auth/login
 * works. Seeded fixtures write no events: they are data, not changes anyone made.
 */
export async function ensureFixtures(
  db: Db,
  projectCount: number | undefined,
): Promise<BenchFixtures> {
  const passwordHash = await hashPassword(BENCH_OWNER.password);
  const ownerId = await ensureUser(db, BENCH_OWNER.email, BENCH_OWNER.name, passwordHash);
  const assigneeIds: string[] = [];
  for (let index = 0; index < BENCH_ASSIGNEE_COUNT; index++) {
    assigneeIds.push(
      await ensureUser(db, assigneeEmail(index), `Bench Assignee ${index + 1}`, passwordHash),
    );
  }

  let teamId = (await findBenchTeam(db, ownerId))?.id;
  if (teamId === undefined) {
    const now = new Date();
    teamId = uuidv7();
    await db
      .insertInto('teams')
      .values({ id: teamId, name: BENCH_TEAM_NAME, plan: 'pro', created_at: now, updated_at: now })
      .execute();
  }
  const members = [
    { user_id: ownerId, role: 'owner' as const },
    ...assigneeIds.map((user_id) => ({ user_id, role: 'member' as const })),
  ];
  await db
    .insertInto('team_members')
    .values(members.map((member) => ({ ...member, team_id: teamId, joined_at: new Date() })))
    .onConflict((oc) => oc.columns(['team_id', 'user_id']).doNothing())
    .execute();

  const existing = await db
    .selectFrom('projects')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('team_id', '=', teamId)
    .where('key', 'like', 'BENCH%')
    .executeTakeFirstOrThrow();
  const wanted = projectCount ?? (existing.count > 0 ? existing.count : DEFAULT_PROJECTS);
  for (let index = 0; index < wanted; index++) {
    const key = benchProjectKey(index);
    const now = new Date();
    await db
      .insertInto('projects')
      .values({
        id: uuidv7(),
        team_id: teamId,
        name: `Bench project ${key.slice(5)}`,
        key,
        visibility: 'team',
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['team_id', 'key']).doNothing())
      .execute();
  }
  return loadFixtures(db);
}

function findBenchTeam(db: Db, ownerId: string) {
  return db
    .selectFrom('teams')
    .innerJoin('team_members', 'team_members.team_id', 'teams.id')
    .select('teams.id')
    .where('team_members.user_id', '=', ownerId)
    .where('team_members.role', '=', 'owner')
    .where('teams.name', '=', BENCH_TEAM_NAME)
    .orderBy('teams.id')
    .executeTakeFirst();
}

/** The cast as seeded; fails with the command to run when there is none. */
export async function loadFixtures(db: Db): Promise<BenchFixtures> {
  const missing = new Error('no benchmark data in this database: run `npm run seed` first');
  const emails = [
    BENCH_OWNER.email,
    ...Array.from({ length: BENCH_ASSIGNEE_COUNT }, (_, i) => assigneeEmail(i)),
  ];
  const users = await db
    .selectFrom('users')
    .select(['id', 'email'])
    .where(sql<string>`lower(email)`, 'in', emails)
    .execute();
  const idOf = (email: string) => users.find((user) => user.email === email)?.id;
  const ownerId = idOf(BENCH_OWNER.email);
  const assigneeIds = emails.slice(1).map(idOf);
  if (ownerId === undefined || assigneeIds.some((id) => id === undefined)) throw missing;
  const team = await findBenchTeam(db, ownerId);
  if (!team) throw missing;
  const projects = await db
    .selectFrom('projects')
    .select(['id', 'key', 'last_task_number'])
    .where('team_id', '=', team.id)
    .where('key', 'like', 'BENCH%')
    .orderBy(sql`length(key)`)
    .orderBy('key')
    .execute();
  if (projects.length === 0) throw missing;
  const assignees = assigneeIds as string[];
  return {
    ownerId,
    assigneeIds: assignees,
    people: [ownerId, ...assignees],
    teamId: team.id,
    projects: projects.map((row) => ({
      id: row.id,
      key: row.key,
      lastTaskNumber: row.last_task_number,
    })),
  };
}
