import { Type } from 'typebox';
import type { Task } from '../../db/types.ts';
import { Timestamp, Uuid } from '../../http/schema-types.ts';

export const TASK_STATUSES = ['todo', 'in_progress', 'in_review', 'done', 'canceled'] as const;
export const TASK_PRIORITIES = ['none', 'low', 'medium', 'high', 'urgent'] as const;
export const MAX_LABELS = 20;

export const TaskStatusSchema = Type.Union(
  TASK_STATUSES.map((status) => Type.Literal(status)),
  { description: 'todo, in_progress, in_review, done or canceled' },
);
export const TaskPrioritySchema = Type.Union(
  TASK_PRIORITIES.map((priority) => Type.Literal(priority)),
  { description: 'none, low, medium, high or urgent' },
);

export const TaskSchema = Type.Object(
  {
    id: Uuid('The task id'),
    project_id: Uuid('The project the task belongs to'),
    key: Type.String({ description: 'Human key: the project key and a number, e.g. ENG-42' }),
    title: Type.String({ description: 'Title, 1–500 characters' }),
    description: Type.String({ description: 'Markdown, up to 100 000 characters' }),
    status: TaskStatusSchema,
    priority: TaskPrioritySchema,
    assignee_id: Type.Union([Uuid('Assigned user'), Type.Null()]),
    due_date: Type.Union([Type.String({ format: 'date', description: 'YYYY-MM-DD' }), Type.Null()]),
    labels: Type.Array(Type.String(), { description: `Up to ${MAX_LABELS} labels` }),
    created_by: Type.Union([Uuid('Who created the task'), Type.Null()]),
    created_at: Timestamp('When the task was created'),
    updated_at: Timestamp('When the task last changed'),
    deleted_at: Type.Union([Timestamp('When the task was moved to the trash'), Type.Null()]),
    version: Type.Integer({
      description: 'Incremented by every change; the ETag is derived from it',
    }),
  },
  { $id: 'Task', additionalProperties: false },
);

/** `ENG` and 42 → `ENG-42`. The key follows the project's current key. */
export function taskKey(projectKey: string, number: number): string {
  return `${projectKey}-${number}`;
}

/** The API shape of a task row joined with its project's key. */
export function presentTask(task: Task & { project_key: string }) {
  return {
    id: task.id,
    project_id: task.project_id,
    key: taskKey(task.project_key, task.number),
    title: task.title,
    description: task.description,
    status: task.status,
    priority: task.priority,
    assignee_id: task.assignee_id,
    due_date: task.due_date,
    labels: task.labels,
    created_by: task.created_by,
    created_at: task.created_at.toISOString(),
    updated_at: task.updated_at.toISOString(),
    deleted_at: task.deleted_at?.toISOString() ?? null,
    version: task.version,
  };
}
