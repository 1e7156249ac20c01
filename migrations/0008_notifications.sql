-- Notifications (ADR 0020): the in-app inbox, one send per (source, user,
-- external channel), and each user's channel preferences.
SET lock_timeout = '5s';
SET statement_timeout = '60s';

-- The in-app inbox. A row is the notification itself: there is nothing to send.
CREATE TABLE notifications (
  -- UUIDv7 (src/lib/ids.ts): the inbox is listed newest first by id.
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('assigned', 'mentioned', 'due_soon', 'webhook_disabled')),
  -- What caused it: the event id, `due_soon:<task_id>:<due_date>`, or a key the
  -- caller chose. With the user it is the notification's identity (below).
  source_key text NOT NULL CHECK (length(source_key) BETWEEN 1 AND 200),
  -- A task purged for good takes its notifications along: there is nothing left to open.
  task_id uuid REFERENCES tasks (id) ON DELETE CASCADE,
  actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
  title text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
  body text NOT NULL DEFAULT '' CHECK (length(body) <= 5000),
  -- Ids a client needs to link the notification (project, comment, endpoint).
  data jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  read_at timestamptz(3),
  -- Exactly once in-app: a retried or re-run job inserts ON CONFLICT DO NOTHING.
  -- Its leading user_id also serves the FK to users.
  CONSTRAINT notifications_user_source_key UNIQUE (user_id, source_key)
);
-- The inbox, newest first, keyset on id.
CREATE INDEX notifications_user_id_idx ON notifications (user_id, id DESC);
-- unread=true and read-all: only the unread rows, which is what a busy inbox has few of.
CREATE INDEX notifications_user_unread_idx ON notifications (user_id, id DESC)
  WHERE read_at IS NULL;
-- The FKs: deleting a team, purging a task or deleting a user finds its rows without a scan.
CREATE INDEX notifications_team_id_idx ON notifications (team_id);
CREATE INDEX notifications_task_id_idx ON notifications (task_id) WHERE task_id IS NOT NULL;
CREATE INDEX notifications_actor_id_idx ON notifications (actor_id) WHERE actor_id IS NOT NULL;

-- One message to send on an external channel. The message is rendered when the
-- row is created, so every attempt sends the identical message under the same
-- Message-ID, and a receiver can drop a repeat.
CREATE TABLE notification_sends (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  channel text NOT NULL CHECK (channel IN ('email', 'push', 'sms')),
  source_key text NOT NULL CHECK (length(source_key) BETWEEN 1 AND 200),
  -- The address at creation (the user's email; their id for push and sms, which
  -- have no addresses yet): a retry goes where the first attempt went.
  recipient text NOT NULL CHECK (length(recipient) BETWEEN 1 AND 320),
  subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 500),
  body text NOT NULL CHECK (length(body) <= 10000),
  -- pending → sending (an attempt started; its outcome may be unknown) → sent;
  -- failed after the last attempt failed.
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- The idempotency key every attempt carries (`<id@tasklane>`, the email's Message-ID).
  message_id text NOT NULL CHECK (length(message_id) BETWEEN 1 AND 200),
  last_error text CHECK (length(last_error) <= 1000),
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  sent_at timestamptz(3),
  CHECK ((state = 'sent') = (sent_at IS NOT NULL)),
  -- At most one send per (source, user, channel), whatever retries or crashes
  -- happen. Its leading user_id also serves the FK to users.
  CONSTRAINT notification_sends_user_source_channel_key UNIQUE (user_id, source_key, channel)
);

-- Which channels a user wants. No row means the defaults, which the column
-- defaults spell out: in-app and email on, push and sms off.
CREATE TABLE notification_preferences (
  user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  in_app boolean NOT NULL DEFAULT true,
  email boolean NOT NULL DEFAULT true,
  push boolean NOT NULL DEFAULT false,
  sms boolean NOT NULL DEFAULT false,
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);
