// What ceilings (2) and (3) share: a pg Pool sized like the app's, the task
// columns the API returns, and a response schema, so Fastify serializes with
// fast-json-stringify exactly as it does for the app's TypeBox schemas.
// Deliberately none of the app's code: these are the bare stack.
import pg from 'pg';

export function openPool(): pg.Pool {
  const pool = new pg.Pool({
    connectionString: process.env.DATABASE_URL,
    max: Number(process.env.DATABASE_POOL_SIZE ?? 10),
    application_name: 'bench-ceiling',
  });
  pool.on('error', () => {});
  return pool;
}

export const TASK_COLUMNS = `id, project_id, number, title, description, status, priority,
  assignee_id, due_date::text AS due_date, labels, created_by, created_at, updated_at,
  deleted_at, version`;

export interface TaskRow {
  id: string;
  project_id: string;
  number: number;
  title: string;
  description: string;
  status: string;
  priority: string;
  assignee_id: string | null;
  due_date: string | null;
  labels: string[];
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  version: number;
}

/** The row as the API shows it: times as RFC 3339 strings. */
export function presentRow(row: TaskRow) {
  return {
    ...row,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    deleted_at: row.deleted_at?.toISOString() ?? null,
  };
}

const nullable = (type: string) => ({ type: [type, 'null'] });

export const TaskRowSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    project_id: { type: 'string' },
    number: { type: 'integer' },
    title: { type: 'string' },
    description: { type: 'string' },
    status: { type: 'string' },
    priority: { type: 'string' },
    assignee_id: nullable('string'),
    due_date: nullable('string'),
    labels: { type: 'array', items: { type: 'string' } },
    created_by: nullable('string'),
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    deleted_at: nullable('string'),
    version: { type: 'integer' },
  },
} as const;

export async function listen(app: { listen(options: object): Promise<unknown> }) {
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
}
