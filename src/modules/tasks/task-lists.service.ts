import { authorizeProject } from '../../auth/project-permissions.ts';
import type { Db } from '../../db/database.ts';
import type { CursorCodec } from '../../http/cursor.ts';
import { splitPage } from '../../http/pagination.ts';
import { AppError } from '../../http/problems.ts';
import {
  findTaskPage,
  type ListedTask,
  type TaskFilters,
  type TaskListOrder,
  type TaskListPosition,
  type TaskListSpec,
} from './task-lists.repository.ts';
import { DEFAULT_TASK_LIST_SORT, type TaskListQuery } from './task-lists.schemas.ts';

export interface TaskPage {
  readonly tasks: ListedTask[];
  readonly nextCursor: string | null;
}

const invalidParameter = (parameter: string, detail: string) =>
  new AppError('validation_failed', `${parameter} ${detail}`, {
    errors: [{ parameter, detail }],
  });

/**
 * The tasks of one project the caller can read (else 404). The page query itself
 * admits only a viewer who can see the project, so a page with rows needs no
 * other query; an empty one may mean "not yours", which the access check tells.
 */
export async function listProjectTasks(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  projectId: string,
  query: TaskListQuery,
): Promise<TaskPage> {
  const page = await listTasks(db, cursors, userId, { projectId, viewer: userId }, query);
  if (page.tasks.length === 0) await authorizeProject(db, userId, projectId, 'task.read');
  return page;
}

/** The tasks of every project the caller can see, in one query. */
export function listVisibleTasks(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  query: TaskListQuery,
): Promise<TaskPage> {
  return listTasks(db, cursors, userId, { visibleTo: userId }, query);
}

async function listTasks(
  db: Db,
  cursors: CursorCodec,
  userId: string,
  scope: TaskListSpec['scope'],
  query: TaskListQuery,
): Promise<TaskPage> {
  const order = orderOf(query);
  const filters = filtersOf(query, userId);
  // Everything that shapes the list, so a cursor is refused on any other list. The
  // viewer is part of a cross-project list (it decides which projects are in it),
  // and `me` is already resolved to an id inside `filters`.
  const binding = {
    list: 'tasks',
    project: 'projectId' in scope ? scope.projectId : 'all',
    viewer: 'visibleTo' in scope ? scope.visibleTo : undefined,
    order,
    filters: { ...filters, updatedSince: filters.updatedSince?.toISOString() },
  };
  const after = query.cursor ? positionOf(cursors.decode(query.cursor, binding)) : undefined;
  const rows = await findTaskPage(db, { scope, order, filters, after, limit: query.limit + 1 });
  const { items, last, hasMore } = splitPage(rows, query.limit);
  const nextCursor = hasMore && last ? cursors.encode(binding, [keyOf(last), last.id]) : null;
  return { tasks: items, nextCursor };
}

function orderOf(query: TaskListQuery): TaskListOrder {
  if (query.deleted !== 'only') return query.sort ?? DEFAULT_TASK_LIST_SORT;
  if (query.sort !== undefined) {
    throw invalidParameter('sort', 'is not allowed with deleted=only: the trash is newest first');
  }
  return 'trash';
}

/** The query's filters, normalized so that equal lists have equal bindings. */
function filtersOf(query: TaskListQuery, userId: string): TaskFilters {
  const assignee = query.assignee_id;
  return {
    statuses: query.status && [...query.status].sort(),
    priorities: query.priority && [...query.priority].sort(),
    assigneeId: assignee === 'me' ? userId : assignee === 'none' ? null : (assignee ?? undefined),
    labels: query.label && [...query.label].sort(),
    dueBefore: query.due_before,
    dueAfter: query.due_after,
    updatedSince: query.updated_since === undefined ? undefined : instantOf(query.updated_since),
    q: query.q === undefined ? undefined : searchOf(query.q),
  };
}

function instantOf(value: string): Date {
  const instant = new Date(value);
  // The date-time format admits a leap second (23:59:60) that Date cannot represent.
  if (Number.isNaN(instant.getTime())) {
    throw invalidParameter('updated_since', 'is not a time this server can represent');
  }
  return instant;
}

function searchOf(value: string): string {
  const q = value.trim();
  if (q === '') throw invalidParameter('q', 'must contain a word');
  return q;
}

/** A cursor's position; its signature and binding were checked, so its shape is ours. */
function positionOf(position: readonly unknown[]): TaskListPosition {
  const [key, id] = position;
  if ((typeof key !== 'string' && typeof key !== 'number') || typeof id !== 'string') {
    throw new AppError('malformed_request', 'the cursor is not valid', {
      errors: [{ parameter: 'cursor', detail: 'the cursor is not valid' }],
    });
  }
  return { key, id };
}

/** The sort key as the cursor carries it: times in RFC 3339 (exact to the millisecond). */
function keyOf(row: ListedTask): string | number {
  return row.sort_key instanceof Date ? row.sort_key.toISOString() : row.sort_key;
}
