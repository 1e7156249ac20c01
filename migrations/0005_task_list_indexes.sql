-- tasklane:no-transaction
-- squawk-ignore-file ban-concurrent-index-creation-in-transaction
-- (squawk assumes a transaction for every file, but the migrator runs this one without.)
-- Indexes for the task lists (docs/decisions/0010-task-lists-and-search.md).
-- CONCURRENTLY: tasks is written all the time, and a plain CREATE or DROP INDEX
-- would block its writes.
SET lock_timeout = '5s';
-- Building concurrently blocks no writes, so it may take its time on a big table.
SET statement_timeout = '1h';

-- Sorting by due date puts undated tasks last. On (project_id, due_date, id) the
-- keyset across the null boundary is an OR that no index range serves; on
-- coalesce(due_date, 'infinity') it is one row comparison, and the due_before and
-- due_after filters are ranges of the same expression. This replaces
-- tasks_project_due_idx, dropped below.
-- A build that failed half-way leaves an invalid index behind; a rerun drops it first.
DROP INDEX CONCURRENTLY IF EXISTS tasks_project_due_order_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_project_due_order_idx
  ON tasks (project_id, (coalesce(due_date, 'infinity'::date)), id) WHERE deleted_at IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS tasks_project_due_idx;

-- "My tasks" (GET /v1/tasks?assignee_id=me) in every order, as a project has them:
-- a page is then the next rows of one index, filtered by the few projects the user
-- cannot see, instead of all of the user's tasks sorted. Updated order:
-- tasks_assignee_updated_idx (0002).
DROP INDEX CONCURRENTLY IF EXISTS tasks_assignee_created_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_assignee_created_idx
  ON tasks (assignee_id, created_at, id) WHERE deleted_at IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS tasks_assignee_due_order_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_assignee_due_order_idx
  ON tasks (assignee_id, (coalesce(due_date, 'infinity'::date)), id) WHERE deleted_at IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS tasks_assignee_priority_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_assignee_priority_idx
  ON tasks (assignee_id, priority_rank, id) WHERE deleted_at IS NULL;
