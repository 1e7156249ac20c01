// Ceiling (2): bare Fastify + pg answering a primary-key lookup with a named
// (prepared) statement — the ceiling for a database-backed read on this stack.
import Fastify from 'fastify';
import {
  listen,
  openPool,
  presentRow,
  TASK_COLUMNS,
  type TaskRow,
  TaskRowSchema,
} from './shared.ts';

const pool = openPool();
const app = Fastify({ logger: false });

app.get<{ Params: { id: string } }>(
  '/tasks/:id',
  { schema: { response: { 200: TaskRowSchema } } },
  async (request, reply) => {
    const { rows } = await pool.query<TaskRow>({
      name: 'ceiling-task-by-id',
      text: `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1 AND deleted_at IS NULL`,
      values: [request.params.id],
    });
    const row = rows[0];
    if (!row) return reply.code(404).send({ error: 'not found' });
    return presentRow(row);
  },
);

await listen(app);
