// Ceiling (3): bare Fastify + pg answering a 50-row keyset page of a project's
// tasks by (created_at, id), served by the app's own index
// tasks_project_created_idx. Like any keyset list it reads one row more than it
// returns, to know whether a next page exists.
import Fastify from 'fastify';
import {
  listen,
  openPool,
  presentRow,
  TASK_COLUMNS,
  type TaskRow,
  TaskRowSchema,
} from './shared.ts';

const PAGE_SIZE = 50;
const pool = openPool();
const app = Fastify({ logger: false });

app.get<{ Params: { projectId: string } }>(
  '/projects/:projectId/tasks',
  {
    schema: {
      response: {
        200: {
          type: 'object',
          properties: {
            data: { type: 'array', items: TaskRowSchema },
            next: { type: ['string', 'null'] },
          },
        },
      },
    },
  },
  async (request) => {
    const { rows } = await pool.query<TaskRow>({
      name: 'ceiling-task-page',
      text: `SELECT ${TASK_COLUMNS} FROM tasks
        WHERE project_id = $1 AND deleted_at IS NULL
        ORDER BY created_at, id LIMIT ${PAGE_SIZE + 1}`,
      values: [request.params.projectId],
    });
    const page = rows.slice(0, PAGE_SIZE);
    const last = page.at(-1);
    return {
      data: page.map(presentRow),
      // The keyset of the last row, as a cursor would carry it.
      next: rows.length > PAGE_SIZE && last ? `${last.created_at.toISOString()},${last.id}` : null,
    };
  },
);

await listen(app);
