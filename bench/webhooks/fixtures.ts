// What the Tasklane variant of bench:webhooks needs in its database: teams with
// one webhook endpoint each (rows inserted directly: no HTTP, no login), the
// events to append, and the check after each round that every delivery was
// recorded as it should be.
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';
import type { Event } from '../../src/db/types.ts';
import { appendEvent, type NewEvent } from '../../src/events/event-log.ts';
import { uuidv7 } from '../../src/lib/ids.ts';
import { deliveryBody } from '../../src/webhooks/delivery-job.ts';
import { generateWebhookSecret } from '../../src/webhooks/signing.ts';
import type { Enqueue } from '../jobs/enqueuers.ts';
import type { BenchPayload } from '../jobs/jobs.ts';

export interface WebhookTeam {
  readonly teamId: string;
  readonly projectId: string;
  readonly ownerId: string;
}

export interface WebhookFixtures {
  readonly teams: readonly WebhookTeam[];
  /** Every endpoint's signing secret (one for all: the receiver checks with it). */
  readonly secret: string;
}

/**
 * `teams` teams, each with an owner, a project and one endpoint subscribed to
 * `task.*` at `url`. One team is the case; more spread the deliveries
 * over endpoints (each attempt locks its endpoint's row).
 */
export async function seedWebhookTeams(
  db: Db,
  teams: number,
  url: string,
): Promise<WebhookFixtures> {
  const secret = generateWebhookSecret();
  const seeded: WebhookTeam[] = [];
  for (let i = 0; i < teams; i++) {
    const team = { teamId: uuidv7(), projectId: uuidv7(), ownerId: uuidv7() };
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('users')
        .values({
          id: team.ownerId,
          email: `bench-webhooks-owner-${i + 1}@tasklane.test`,
          name: `Webhook bench owner ${i + 1}`,
          // Nobody logs in: no real hash needed.
          password_hash: 'not-a-login',
        })
        .execute();
      await trx
        .insertInto('teams')
        .values({ id: team.teamId, name: `Webhook bench ${i + 1}`, plan: 'pro' })
        .execute();
      await trx
        .insertInto('team_members')
        .values({ team_id: team.teamId, user_id: team.ownerId, role: 'owner' })
        .execute();
      await trx
        .insertInto('projects')
        .values({ id: team.projectId, team_id: team.teamId, name: 'Webhooks', key: 'HOOK' })
        .execute();
      await trx
        .insertInto('webhook_endpoints')
        .values({
          id: uuidv7(),
          team_id: team.teamId,
          url,
          description: 'bench:webhooks receiver',
          event_types: ['task.*'],
          secret,
          previous_secret: null,
          disabled_reason: null,
          created_by: team.ownerId,
        })
        .execute();
    });
    seeded.push(team);
  }
  return { teams: seeded, secret };
}

/**
 * The event each enqueue appends: a task moved to in progress, by its team's
 * owner. Nobody to notify (no assignee change), so the event queues its
 * delivery and nothing else.
 */
export function benchEvent(team: WebhookTeam, taskId: string): NewEvent {
  return {
    teamId: team.teamId,
    projectId: team.projectId,
    type: 'task.updated',
    actorId: team.ownerId,
    subjectId: taskId,
    data: { changes: { status: { before: 'todo', after: 'in_progress' } } },
  };
}

/**
 * Appends one event in a transaction of its own with the real appendEvent, whose
 * statement also inserts the delivery and queues its job; the teams in turn.
 * The payload's id becomes the task's; its `at` is not needed (the event's own
 * `created_at` reaches the receiver in the body).
 */
export function webhookEnqueue(db: Db, fixtures: WebhookFixtures): Enqueue {
  let next = 0;
  return async ({ id }: BenchPayload) => {
    const team = fixtures.teams[next++ % fixtures.teams.length]!;
    await db.transaction().execute((trx) => appendEvent(trx, benchEvent(team, id)));
  };
}

/** A body as a delivery of benchEvent carries it, for the HTTP ceiling to send. */
export function sampleBody(): string {
  const team = { teamId: uuidv7(), projectId: uuidv7(), ownerId: uuidv7() };
  const event = benchEvent(team, uuidv7());
  const row: Event = {
    id: uuidv7(),
    team_id: event.teamId,
    project_id: event.projectId,
    type: event.type,
    actor_id: event.actorId,
    subject_id: event.subjectId,
    data: event.data,
    created_at: new Date(),
  };
  return deliveryBody(row);
}

/** Events, deliveries and attempts of the last round go (the queue is emptied separately). */
export async function emptyDeliveries(db: Db): Promise<void> {
  await sql`TRUNCATE webhook_attempts, webhook_deliveries, events`.execute(db);
}

export interface DeliveryCheck {
  readonly deliveries: number;
  readonly succeeded: number;
  readonly pending: number;
  readonly failed: number;
  /** Attempts recorded (rows of webhook_attempts): one per delivery when nothing failed. */
  readonly attempts: number;
  /** Of those, the ones that got no 2xx. */
  readonly failedAttempts: number;
}

export async function checkDeliveries(db: Db): Promise<DeliveryCheck> {
  const { rows } = await sql<DeliveryCheck>`
    SELECT
      (SELECT count(*) FROM webhook_deliveries)::int AS deliveries,
      (SELECT count(*) FROM webhook_deliveries WHERE state = 'succeeded')::int AS succeeded,
      (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending')::int AS pending,
      (SELECT count(*) FROM webhook_deliveries WHERE state = 'failed')::int AS failed,
      (SELECT count(*) FROM webhook_attempts)::int AS attempts,
      (SELECT count(*) FROM webhook_attempts
        WHERE status IS NULL OR status NOT BETWEEN 200 AND 299)::int AS "failedAttempts"`.execute(
    db,
  );
  return rows[0]!;
}
