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

/**
 * The API shape of a task row joined with its project's key. The generated
 * columns (`search`, `priority_rank`) are not needed, so queries need not fetch them.
 */
export function presentTask(
  task: Omit<Task, 'search' | 'priority_rank'> & { project_key: string },
) {
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

// ---- Bodies and parameters of the single-task routes (tasks.routes.ts) ----

export const MAX_TITLE_LENGTH = 500;
export const MAX_DESCRIPTION_LENGTH = 100_000;
export const MAX_LABEL_LENGTH = 50;

const Title = Type.String({
  minLength: 1,
  maxLength: MAX_TITLE_LENGTH,
  description: 'Title, 1–500 characters; surrounding whitespace is trimmed',
});
const Description = Type.String({
  maxLength: MAX_DESCRIPTION_LENGTH,
  description: 'Markdown, up to 100 000 characters; empty when absent',
});
const AssigneeId = Type.Union([Uuid('A user who can see the project'), Type.Null()], {
  description: 'Who works on it: a user who can see the project, or null for nobody',
});
const DueDate = Type.Union(
  [
    Type.String({
      format: 'date',
      // PostgreSQL has no year 0; refusing it here keeps it a 422, not a 500.
      pattern: '^(?!0000)',
      description: 'YYYY-MM-DD, year 0001 or later',
    }),
    Type.Null(),
  ],
  { description: 'Due date (YYYY-MM-DD), or null for none' },
);
const Label = Type.String({
  minLength: 1,
  maxLength: MAX_LABEL_LENGTH,
  // No leading or trailing whitespace and no line breaks: " bug" and "bug" would look alike.
  pattern: '^\\S(?:.*\\S)?$',
  description: 'A label, 1–50 characters, no surrounding whitespace, compared exactly',
});
const Labels = Type.Array(Label, {
  maxItems: MAX_LABELS,
  uniqueItems: true,
  description: `Up to ${MAX_LABELS} distinct labels, kept in the order sent`,
});

export const ProjectTasksParams = Type.Object({
  project_id: Uuid('The project to create the task in'),
});
export const TaskParams = Type.Object({ task_id: Uuid('The task id') });

export const CreateTaskBody = Type.Object(
  {
    title: Title,
    description: Type.Optional(Description),
    status: Type.Optional(TaskStatusSchema),
    priority: Type.Optional(TaskPrioritySchema),
    assignee_id: Type.Optional(AssigneeId),
    due_date: Type.Optional(DueDate),
    labels: Type.Optional(Labels),
  },
  { additionalProperties: false },
);

/** PUT: every mutable field, so a replacement never resets a field the client forgot. */
export const ReplaceTaskBody = Type.Object(
  {
    title: Title,
    description: Description,
    status: TaskStatusSchema,
    priority: TaskPrioritySchema,
    assignee_id: AssigneeId,
    due_date: DueDate,
    labels: Labels,
  },
  { additionalProperties: false },
);

/** PATCH (JSON Merge Patch): absent keeps, null clears assignee_id and due_date. */
export const PatchTaskBody = Type.Object(
  {
    title: Type.Optional(Title),
    description: Type.Optional(Description),
    status: Type.Optional(TaskStatusSchema),
    priority: Type.Optional(TaskPrioritySchema),
    assignee_id: Type.Optional(AssigneeId),
    due_date: Type.Optional(DueDate),
    labels: Type.Optional(Labels),
  },
  { additionalProperties: false, minProperties: 1 },
);
