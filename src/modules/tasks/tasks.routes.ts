import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { isNotModified, parseIfMatch, setEtag } from '../../http/etag.ts';
import { problems } from '../../http/openapi-responses.ts';
import { bearerAuth, IfMatchHeaders, NoContent } from '../../http/schema-types.ts';
import { createTask } from './task-create.service.ts';
import { deleteTask, restoreTask } from './task-trash.service.ts';
import { patchTask, replaceTask } from './task-update.service.ts';
import {
  CreateTaskBody,
  PatchTaskBody,
  ProjectTasksParams,
  presentTask,
  ReplaceTaskBody,
  TaskParams,
} from './tasks.schemas.ts';
import { getTask } from './tasks.service.ts';

// Registered once in app.ts, shared with the task-list routes.
const TaskRef = Type.Ref('Task');

/** One task at a time: create, read, replace, patch, move to the trash, restore. */
export function taskRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, authenticate } = deps;
  return async (app) => {
    app.post(
      '/v1/projects/:project_id/tasks',
      {
        onRequest: authenticate,
        schema: {
          tags: ['tasks'],
          summary: 'Create a task; it gets the project’s next key (ENG-42)',
          description:
            'Takes a project member or above (403 for viewers); 409 when the project is archived; 422 on `/assignee_id` when the assignee cannot see the project.',
          security: bearerAuth,
          params: ProjectTasksParams,
          body: CreateTaskBody,
          response: { 201: TaskRef, ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const task = await createTask(
          db,
          principalOf(request).userId,
          request.params.project_id,
          request.body,
        );
        setEtag(reply, task.version);
        return reply.code(201).header('location', `/v1/tasks/${task.id}`).send(presentTask(task));
      },
    );

    app.get(
      '/v1/tasks/:task_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['tasks'],
          summary: 'One task, with a strong ETag',
          description: 'A task in the trash answers 404 (see `POST /v1/tasks/{task_id}/restore`).',
          security: bearerAuth,
          params: TaskParams,
          response: { 200: TaskRef, 304: NoContent, ...problems(401, 404) },
        },
      },
      async (request, reply) => {
        const task = await getTask(db, principalOf(request).userId, request.params.task_id);
        if (isNotModified(request, reply, task.version)) return reply.code(304).send();
        return presentTask(task);
      },
    );

    app.put(
      '/v1/tasks/:task_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['tasks'],
          summary: 'Replace every mutable field of a task',
          description:
            'All of title, description, status, priority, assignee_id, due_date and labels are required; read-only fields (id, key, project_id, …) are refused. A task cannot move to another project. Replacing with identical values changes nothing (same version).',
          security: bearerAuth,
          params: TaskParams,
          headers: IfMatchHeaders,
          body: ReplaceTaskBody,
          response: { 200: TaskRef, ...problems(401, 403, 404, 409, 412) },
        },
      },
      async (request, reply) => {
        const task = await replaceTask(
          db,
          principalOf(request).userId,
          request.params.task_id,
          request.body,
          parseIfMatch(request.headers['if-match']),
        );
        setEtag(reply, task.version);
        return presentTask(task);
      },
    );

    app.patch(
      '/v1/tasks/:task_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['tasks'],
          summary: 'Change some fields of a task (JSON Merge Patch)',
          description:
            'Absent fields stay as they are; `null` clears `assignee_id` and `due_date` and is refused for the other fields. A patch that changes nothing keeps the version and records no event.',
          security: bearerAuth,
          params: TaskParams,
          headers: IfMatchHeaders,
          body: PatchTaskBody,
          response: { 200: TaskRef, ...problems(401, 403, 404, 409, 412) },
        },
      },
      async (request, reply) => {
        const task = await patchTask(
          db,
          principalOf(request).userId,
          request.params.task_id,
          request.body,
          parseIfMatch(request.headers['if-match']),
        );
        setEtag(reply, task.version);
        return presentTask(task);
      },
    );

    app.delete(
      '/v1/tasks/:task_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['tasks'],
          summary: 'Move a task to the trash (soft delete)',
          description:
            'The task disappears from lists and answers 404, and can be restored. Deleting a task already in the trash answers 404.',
          security: bearerAuth,
          params: TaskParams,
          headers: IfMatchHeaders,
          response: { 204: NoContent, ...problems(401, 403, 404, 409, 412) },
        },
      },
      async (request, reply) => {
        await deleteTask(
          db,
          principalOf(request).userId,
          request.params.task_id,
          parseIfMatch(request.headers['if-match']),
        );
        return reply.code(204).send();
      },
    );

    app.post(
      '/v1/tasks/:task_id/restore',
      {
        onRequest: authenticate,
        schema: {
          tags: ['tasks'],
          summary: 'Bring a task back from the trash',
          description:
            'Answers the restored task. Restoring a task that is not in the trash answers it unchanged (same version, no event).',
          security: bearerAuth,
          params: TaskParams,
          headers: IfMatchHeaders,
          response: { 200: TaskRef, ...problems(401, 403, 404, 409, 412) },
        },
      },
      async (request, reply) => {
        const task = await restoreTask(
          db,
          principalOf(request).userId,
          request.params.task_id,
          parseIfMatch(request.headers['if-match']),
        );
        setEtag(reply, task.version);
        return presentTask(task);
      },
    );
  };
}
