import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { problems } from '../../http/openapi-responses.ts';
import { pageOf, sendPage } from '../../http/pagination.ts';
import { bearerAuth } from '../../http/schema-types.ts';
import { ProjectTaskListParams, TaskListQuery } from './task-lists.schemas.ts';
import { listProjectTasks, listVisibleTasks } from './task-lists.service.ts';
import { presentTask } from './tasks.schemas.ts';

const TaskPage = pageOf(Type.Ref('Task'));

export function taskListRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, cursors, authenticate } = deps;
  return async (app) => {
    app.get(
      '/v1/projects/:project_id/tasks',
      {
        onRequest: authenticate,
        schema: {
          tags: ['tasks'],
          summary: 'The tasks of a project, filtered and sorted, a page at a time',
          security: bearerAuth,
          params: ProjectTaskListParams,
          querystring: TaskListQuery,
          response: { 200: TaskPage, ...problems(400, 401, 404, 422) },
        },
      },
      async (request, reply) => {
        const { tasks, nextCursor } = await listProjectTasks(
          db,
          cursors,
          principalOf(request).userId,
          request.params.project_id,
          request.query,
        );
        return sendPage(request, reply, tasks.map(presentTask), nextCursor);
      },
    );

    app.get(
      '/v1/tasks',
      {
        onRequest: authenticate,
        schema: {
          tags: ['tasks'],
          summary: 'The tasks of every project you can see (e.g. assignee_id=me), a page at a time',
          security: bearerAuth,
          querystring: TaskListQuery,
          response: { 200: TaskPage, ...problems(400, 401, 422) },
        },
      },
      async (request, reply) => {
        const { tasks, nextCursor } = await listVisibleTasks(
          db,
          cursors,
          principalOf(request).userId,
          request.query,
        );
        return sendPage(request, reply, tasks.map(presentTask), nextCursor);
      },
    );
  };
}
