import { type Expression, expressionBuilder, type RawBuilder, type SqlBool, sql } from 'kysely';
import { visibleProjectIds } from '../../auth/project-permissions.ts';
import type { Db } from '../../db/database.ts';
import type { DB, Task, TaskPriority, TaskStatus } from '../../db/types.ts';

// Undated tasks sort last: as one totally ordered key, no date sorts after 'infinity'.
// The expression of tasks_project_due_order_idx (migration 0005), spelt the same so
// the planner matches it for the order and for the due_before/due_after ranges.
const DUE = sql<string>`coalesce(t.due_date, 'infinity'::date)`;

/**
 * The orders a task list can take. Each is a keyset on (key, id), with partial
 * indexes on (project_id, key, id) and, but for the trash, (assignee_id, key, id)
 * (migrations 0002 and 0005): a page is a range scan that starts at the cursor,
 * however deep it is.
 */
export const TASK_LIST_ORDERS = {
  created_at: { key: sql<Date>`t.created_at`, type: 'timestamptz', direction: 'asc' },
  '-created_at': { key: sql<Date>`t.created_at`, type: 'timestamptz', direction: 'desc' },
  updated_at: { key: sql<Date>`t.updated_at`, type: 'timestamptz', direction: 'asc' },
  '-updated_at': { key: sql<Date>`t.updated_at`, type: 'timestamptz', direction: 'desc' },
  // A single row comparison on (DUE, id) stays exact across the null boundary.
  due_date: { key: DUE, type: 'date', direction: 'asc' },
  // Most urgent first; newest first among equals (ids are UUIDv7).
  priority: { key: sql<number>`t.priority_rank`, type: 'integer', direction: 'desc' },
  // The trash: most recently deleted first.
  trash: { key: sql<Date>`t.deleted_at`, type: 'timestamptz', direction: 'desc' },
} as const satisfies Record<
  string,
  { key: RawBuilder<unknown>; type: string; direction: 'asc' | 'desc' }
>;

export type TaskListOrder = keyof typeof TASK_LIST_ORDERS;

/** Every filter of a task list; absent means "any". */
export interface TaskFilters {
  readonly statuses?: readonly TaskStatus[];
  readonly priorities?: readonly TaskPriority[];
  /** A user id, or null for unassigned tasks. */
  readonly assigneeId?: string | null;
  /** Tasks carrying every one of these labels. */
  readonly labels?: readonly string[];
  /** YYYY-MM-DD, exclusive. */
  readonly dueBefore?: string;
  /** YYYY-MM-DD, exclusive. */
  readonly dueAfter?: string;
  /** Inclusive. */
  readonly updatedSince?: Date;
  /** websearch_to_tsquery syntax: words, "a phrase", -excluded, or. */
  readonly q?: string;
}

/** Where the last row served sits in the order: its sort key (as text or number) and id. */
export interface TaskListPosition {
  readonly key: string | number;
  readonly id: string;
}

export interface TaskListSpec {
  /**
   * One project — shown only if `viewer` can see it, checked inside the page
   * query — or every project the user can see.
   */
  readonly scope:
    | { readonly projectId: string; readonly viewer: string }
    | { readonly visibleTo: string };
  /** `trash` lists soft-deleted tasks; every other order lists live ones. */
  readonly order: TaskListOrder;
  readonly filters: TaskFilters;
  readonly after: TaskListPosition | undefined;
  /** Rows to fetch (the service asks for one more than the page). */
  readonly limit: number;
}

/** A listed task: the row without its generated columns, its project's key and its sort key. */
export type ListedTask = Omit<Task, 'search' | 'priority_rank'> & {
  project_key: string;
  sort_key: Date | string | number;
};

const LISTED_COLUMNS = [
  't.id',
  't.project_id',
  't.number',
  't.title',
  't.description',
  't.status',
  't.priority',
  't.assignee_id',
  't.due_date',
  't.labels',
  't.created_by',
  't.created_at',
  't.updated_at',
  't.deleted_at',
  't.version',
] as const;

/** The conditions on `tasks as t` for the spec's filters, trash and cursor (not its scope). */
function taskConditions(spec: TaskListSpec): Expression<SqlBool>[] {
  const eb = expressionBuilder<{ t: DB['tasks'] }, 't'>();
  const { filters, order } = spec;
  // Spelt exactly as the partial indexes' predicates, so the planner can use them.
  const conditions: Expression<SqlBool>[] = [
    order === 'trash' ? eb('t.deleted_at', 'is not', null) : eb('t.deleted_at', 'is', null),
  ];
  if (filters.statuses) conditions.push(eb('t.status', 'in', [...filters.statuses]));
  if (filters.priorities) conditions.push(eb('t.priority', 'in', [...filters.priorities]));
  if (filters.assigneeId === null) conditions.push(eb('t.assignee_id', 'is', null));
  else if (filters.assigneeId !== undefined) {
    conditions.push(eb('t.assignee_id', '=', filters.assigneeId));
  }
  // Containment, so the GIN index on labels serves it.
  if (filters.labels) conditions.push(sql<SqlBool>`t.labels @> ${[...filters.labels]}::text[]`);
  // Ranges on DUE, which the due-order index serves; undated tasks (DUE = 'infinity')
  // are due neither before nor after any date.
  if (filters.dueBefore !== undefined) conditions.push(eb(DUE, '<', filters.dueBefore));
  if (filters.dueAfter !== undefined) {
    conditions.push(eb(DUE, '>', filters.dueAfter), eb(DUE, '<', sql<string>`'infinity'::date`));
  }
  if (filters.updatedSince) conditions.push(eb('t.updated_at', '>=', filters.updatedSince));
  if (filters.q !== undefined) {
    conditions.push(sql<SqlBool>`t.search @@ websearch_to_tsquery('english', ${filters.q})`);
  }
  if (spec.after) conditions.push(afterPosition(order, spec.after));
  return conditions;
}

/** Strictly after `position` in `order`: one row comparison, an index range condition. */
function afterPosition(order: TaskListOrder, position: TaskListPosition): Expression<SqlBool> {
  const { key, type, direction } = TASK_LIST_ORDERS[order];
  const operator = sql.raw(direction === 'asc' ? '>' : '<');
  return sql<SqlBool>`(${key}, t.id) ${operator} (cast(${position.key} as ${sql.raw(type)}), cast(${position.id} as uuid))`;
}

/**
 * One page of tasks as a single statement. Three shapes, by what can serve them:
 * - one project: the project's partial index for the order (or the GIN indexes for
 *   `q` and labels, as the planner judges);
 * - across projects, for one assignee ("my tasks"): the assignee's index for the
 *   order, read from the cursor on, skipping the rare task of a project the user
 *   cannot see; for `q`: the GIN index, then the visible projects' rows;
 * - across projects otherwise: for each visible project, the first `limit` rows from
 *   its index (a LATERAL join), merged. The cost is bounded by (visible projects ×
 *   page size), whatever the number of tasks.
 */
export function taskPageQuery(db: Db, spec: TaskListSpec) {
  const { direction } = TASK_LIST_ORDERS[spec.order];
  const key: RawBuilder<Date | string | number> = TASK_LIST_ORDERS[spec.order].key;
  const conditions = taskConditions(spec);
  const byAssignee = Boolean(spec.filters.assigneeId) && spec.order !== 'trash';
  if ('visibleTo' in spec.scope && spec.filters.q === undefined && !byAssignee) {
    return db
      .selectFrom('projects as p')
      .crossJoinLateral((eb) =>
        eb
          .selectFrom('tasks as t')
          .select(LISTED_COLUMNS)
          .select(key.as('sort_key'))
          .whereRef('t.project_id', '=', 'p.id')
          .where((inner) => inner.and(conditions))
          .orderBy(key, direction)
          .orderBy('t.id', direction)
          .limit(spec.limit)
          .as('page'),
      )
      .selectAll('page')
      .select('p.key as project_key')
      .where('p.id', 'in', visibleProjectIds(db, spec.scope.visibleTo))
      .orderBy('page.sort_key', direction)
      .orderBy('page.id', direction)
      .limit(spec.limit);
  }
  const { scope } = spec;
  return db
    .selectFrom('tasks as t')
    .innerJoin('projects as p', 'p.id', 't.project_id')
    .select(LISTED_COLUMNS)
    .select([key.as('sort_key'), 'p.key as project_key'])
    .where((eb) =>
      eb.and([
        ...('projectId' in scope
          ? [
              eb('t.project_id', '=', scope.projectId),
              // Visibility in the same round trip as the page: the service asks for
              // the full access check only when the page comes back empty.
              eb.exists(
                visibleProjectIds(db, scope.viewer).where('projects.id', '=', scope.projectId),
              ),
            ]
          : [eb('t.project_id', 'in', visibleProjectIds(db, scope.visibleTo))]),
        ...conditions,
      ]),
    )
    .orderBy(key, direction)
    .orderBy('t.id', direction)
    .limit(spec.limit);
}

export function findTaskPage(db: Db, spec: TaskListSpec): Promise<ListedTask[]> {
  return taskPageQuery(db, spec).execute();
}
