import { type Static, Type } from 'typebox';
import { PageQuery } from '../../http/pagination.ts';
import { Uuid } from '../../http/schema-types.ts';
import {
  MAX_LABEL_LENGTH,
  MAX_LABELS,
  TASK_PRIORITIES,
  TASK_STATUSES,
  TaskPrioritySchema,
  TaskStatusSchema,
} from './tasks.schemas.ts';

export const TASK_LIST_SORTS = [
  'created_at',
  '-created_at',
  'updated_at',
  '-updated_at',
  'due_date',
  'priority',
] as const;
export type TaskListSort = (typeof TASK_LIST_SORTS)[number];
/** Newest first, as an issue tracker's inbox reads. */
export const DEFAULT_TASK_LIST_SORT: TaskListSort = '-created_at';

const DateParameter = (description: string) =>
  Type.String({
    format: 'date',
    // PostgreSQL has no year 0; refusing it here keeps it a 422, not a 500.
    pattern: '^(?!0000)',
    description,
  });

/**
 * The query of both task lists. Several values of one parameter are sent by
 * repeating it (`status=todo&status=done`), never as a comma list: labels may
 * contain commas, and each value is then validated on its own.
 */
const TaskListQueryFields = {
  ...PageQuery,
  status: Type.Optional(
    Type.Array(TaskStatusSchema, {
      minItems: 1,
      maxItems: TASK_STATUSES.length,
      uniqueItems: true,
      description: 'Only tasks in one of these statuses; repeat the parameter for several',
    }),
  ),
  priority: Type.Optional(
    Type.Array(TaskPrioritySchema, {
      minItems: 1,
      maxItems: TASK_PRIORITIES.length,
      uniqueItems: true,
      description: 'Only tasks with one of these priorities; repeat the parameter for several',
    }),
  ),
  assignee_id: Type.Optional(
    Type.Union([Uuid('A user id'), Type.Literal('me'), Type.Literal('none')], {
      description:
        'Only tasks assigned to this user id, to `me` (the caller), or to nobody (`none`)',
    }),
  ),
  label: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: MAX_LABEL_LENGTH }), {
      minItems: 1,
      maxItems: MAX_LABELS,
      uniqueItems: true,
      description: 'Only tasks carrying this label; repeated, tasks carrying every one of them',
    }),
  ),
  due_before: Type.Optional(
    DateParameter(
      'Only tasks due strictly before this date (YYYY-MM-DD); undated tasks never match',
    ),
  ),
  due_after: Type.Optional(
    DateParameter(
      'Only tasks due strictly after this date (YYYY-MM-DD); undated tasks never match',
    ),
  ),
  updated_since: Type.Optional(
    Type.String({
      format: 'date-time',
      description: 'Only tasks changed at or after this instant (RFC 3339 with a time zone)',
    }),
  ),
  q: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 500,
      description:
        'Full-text search over title and description (English stemming): words, "a phrase", -excluded, or',
    }),
  ),
  deleted: Type.Optional(
    Type.Literal('only', {
      description: 'The trash: soft-deleted tasks only, most recently deleted first',
    }),
  ),
  sort: Type.Optional(
    Type.Union(
      TASK_LIST_SORTS.map((sort) => Type.Literal(sort)),
      {
        description:
          'created_at or updated_at (prefix - for newest first; default -created_at), due_date (soonest first, undated last) or priority (most urgent first). Not with deleted=only',
      },
    ),
  ),
};

export const TaskListQuery = Type.Object(TaskListQueryFields, { additionalProperties: false });
export type TaskListQuery = Static<typeof TaskListQuery>;

export const ProjectTaskListParams = Type.Object({
  project_id: Uuid('The project whose tasks to list'),
});
