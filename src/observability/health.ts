import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Db } from '../db/database.ts';
import type { Migration } from '../db/migrator.ts';
import { problems } from '../http/openapi-responses.ts';
import { AppError } from '../http/problems.ts';

const Status = Type.Object({ status: Type.String() }, { additionalProperties: false });

/** /healthz: the process answers. /readyz: it can serve (database up, schema current). */
export function registerHealth(
  app: FastifyInstance,
  db: Db,
  migrations: readonly Migration[],
): void {
  app.get(
    '/healthz',
    {
      schema: { tags: ['meta'], summary: 'Liveness: the process is up', response: { 200: Status } },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['meta'],
        summary: 'Readiness: the database answers and every migration is applied',
        response: { 200: Status, ...problems(503) },
      },
    },
    async () => {
      let applied: Set<string>;
      try {
        const rows = await sql<{ version: string }>`SELECT version FROM schema_migrations`.execute(
          db,
        );
        applied = new Set(rows.rows.map((row) => row.version));
      } catch (error) {
        throw new AppError('service_unavailable', 'the database is not reachable', {
          cause: error,
        });
      }
      const pending = migrations.filter((m) => !applied.has(m.version));
      if (pending.length > 0) {
        throw new AppError(
          'service_unavailable',
          `migrations not applied: ${pending.map((m) => m.name).join(', ')}`,
        );
      }
      return { status: 'ready' };
    },
  );
}
