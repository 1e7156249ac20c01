-- Projects, tasks, comments, the team event log and idempotency keys.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

CREATE TABLE projects (
  id uuid PRIMARY KEY,
  team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- The prefix of task keys (ENG-42): 2–10 uppercase letters, unique per team.
  key text NOT NULL CHECK (key ~ '^[A-Z]{2,10}$'),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 100000),
  visibility text NOT NULL DEFAULT 'team' CHECK (visibility IN ('team', 'private')),
  -- The last task number handed out. Creating a task increments it in the same
  -- transaction: the row lock orders concurrent creates, and a rollback gives
  -- the number back, so keys have neither gaps nor duplicates.
  last_task_number integer NOT NULL DEFAULT 0 CHECK (last_task_number >= 0),
  archived_at timestamptz(3),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  version integer NOT NULL DEFAULT 1 CHECK (version > 0)
);
CREATE UNIQUE INDEX projects_team_key_key ON projects (team_id, key);
-- Projects of a team, oldest first (keyset on id, a UUIDv7).
CREATE INDEX projects_team_id_idx ON projects (team_id, id);

-- Members of a private project, with their role in it.
CREATE TABLE project_members (
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
  joined_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user_id_idx ON project_members (user_id, project_id);

CREATE TABLE tasks (
  id uuid PRIMARY KEY,
  project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  number integer NOT NULL CHECK (number > 0),
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 100000),
  status text NOT NULL DEFAULT 'todo'
    CHECK (status IN ('todo', 'in_progress', 'in_review', 'done', 'canceled')),
  priority text NOT NULL DEFAULT 'none'
    CHECK (priority IN ('none', 'low', 'medium', 'high', 'urgent')),
  -- Sorting by priority means most urgent first; a number sorts, a word does not.
  priority_rank integer GENERATED ALWAYS AS (
    CASE priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2
      WHEN 'low' THEN 1 ELSE 0 END
  ) STORED,
  assignee_id uuid REFERENCES users (id) ON DELETE SET NULL,
  due_date date,
  labels text[] NOT NULL DEFAULT '{}' CHECK (cardinality(labels) <= 20),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  deleted_at timestamptz(3),
  version integer NOT NULL DEFAULT 1 CHECK (version > 0),
  -- Full-text search over title (weighted higher) and description.
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') ||
    setweight(to_tsvector('english', description), 'B')
  ) STORED
);
CREATE UNIQUE INDEX tasks_project_number_key ON tasks (project_id, number);
-- One index per list shape (see docs/schema.md). Live rows only: the trash has its own.
CREATE INDEX tasks_project_created_idx ON tasks (project_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_project_updated_idx ON tasks (project_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_project_due_idx ON tasks (project_id, due_date, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_project_priority_idx ON tasks (project_id, priority_rank, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_project_status_idx ON tasks (project_id, status, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_assignee_updated_idx ON tasks (assignee_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_project_deleted_idx ON tasks (project_id, deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX tasks_search_idx ON tasks USING gin (search);
CREATE INDEX tasks_labels_idx ON tasks USING gin (labels);
CREATE INDEX tasks_created_by_idx ON tasks (created_by);

CREATE TABLE comments (
  id uuid PRIMARY KEY,
  task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  author_id uuid REFERENCES users (id) ON DELETE SET NULL,
  body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  deleted_at timestamptz(3),
  version integer NOT NULL DEFAULT 1 CHECK (version > 0)
);
CREATE INDEX comments_task_created_idx ON comments (task_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX comments_task_deleted_idx ON comments (task_id, deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX comments_author_id_idx ON comments (author_id);

-- The audit trail and change source: one row per change, written in the change's
-- own transaction. Later issues read webhooks and the live feed from here.
CREATE TABLE events (
  id uuid PRIMARY KEY,
  team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  -- Set for changes inside a project, so private projects' events stay private.
  project_id uuid REFERENCES projects (id) ON DELETE CASCADE,
  type text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
  actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
  subject_id uuid NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX events_team_id_idx ON events (team_id, id);
CREATE INDEX events_project_id_idx ON events (project_id, id) WHERE project_id IS NOT NULL;
CREATE INDEX events_actor_id_idx ON events (actor_id);

-- Idempotency-Key records (IETF draft, Stripe semantics), per caller and key.
CREATE TABLE idempotency_keys (
  principal_id text NOT NULL,
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  -- What the key was first used for: a retry must match it exactly.
  method text NOT NULL,
  path text NOT NULL,
  request_hash bytea NOT NULL,
  -- NULL while the first request runs; set with the stored response when it ends.
  response_status integer,
  response_headers jsonb,
  response_body text,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  expires_at timestamptz(3) NOT NULL,
  PRIMARY KEY (principal_id, key)
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);
