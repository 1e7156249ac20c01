import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Timestamps are read as Date and written as Date or left to the database default. */
type Timestamp = ColumnType<Date, Date | undefined, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;

export type Role = 'owner' | 'admin' | 'member' | 'viewer';
export type Plan = 'free' | 'pro';

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: Generated<number>;
}

/** One login: every refresh token it ever rotates through shares the family. */
export interface SessionFamiliesTable {
  id: string;
  user_id: string;
  created_at: Timestamp;
  expires_at: Date;
  revoked_at: NullableTimestamp;
  revoked_reason: 'logout' | 'reuse_detected' | 'password_changed' | null;
}

export interface RefreshTokensTable {
  id: string;
  family_id: string;
  /** SHA-256 of the opaque token: the token itself is never stored. */
  token_hash: Buffer;
  created_at: Timestamp;
  idle_expires_at: Date;
  spent_at: NullableTimestamp;
  replaced_by: string | null;
}

export interface TeamsTable {
  id: string;
  name: string;
  plan: Generated<Plan>;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: Generated<number>;
}

export interface TeamMembersTable {
  team_id: string;
  user_id: string;
  role: Role;
  joined_at: Timestamp;
}

export type ProjectRole = 'admin' | 'member' | 'viewer';
export type Visibility = 'team' | 'private';
export type TaskStatus = 'todo' | 'in_progress' | 'in_review' | 'done' | 'canceled';
export type TaskPriority = 'none' | 'low' | 'medium' | 'high' | 'urgent';

export interface ProjectsTable {
  id: string;
  team_id: string;
  name: string;
  key: string;
  description: Generated<string>;
  visibility: Generated<Visibility>;
  last_task_number: Generated<number>;
  archived_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: Generated<number>;
}

export interface ProjectMembersTable {
  project_id: string;
  user_id: string;
  role: ProjectRole;
  joined_at: Timestamp;
}

export interface TasksTable {
  id: string;
  project_id: string;
  number: number;
  title: string;
  description: Generated<string>;
  status: Generated<TaskStatus>;
  priority: Generated<TaskPriority>;
  /** Generated from priority: urgent 4 … none 0. */
  priority_rank: ColumnType<number, never, never>;
  assignee_id: string | null;
  /** 'YYYY-MM-DD' (db/database.ts keeps DATE as text). */
  due_date: string | null;
  labels: Generated<string[]>;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
  version: Generated<number>;
  /** Generated tsvector; only ever used in WHERE clauses. */
  search: ColumnType<string, never, never>;
}

export interface CommentsTable {
  id: string;
  task_id: string;
  author_id: string | null;
  body: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
  version: Generated<number>;
}

export interface EventsTable {
  id: string;
  team_id: string;
  project_id: string | null;
  type: string;
  actor_id: string | null;
  subject_id: string;
  data: ColumnType<unknown, string, string>;
  created_at: Timestamp;
}

export interface IdempotencyKeysTable {
  principal_id: string;
  key: string;
  method: string;
  path: string;
  request_hash: Buffer;
  response_status: number | null;
  response_headers: ColumnType<Record<string, string> | null, string | null, string | null>;
  response_body: string | null;
  created_at: Timestamp;
  expires_at: Date;
}

export type WebhookDisabledReason = 'gone' | 'retries_exhausted' | 'manual';
export type WebhookDeliveryState = 'pending' | 'succeeded' | 'failed';

export interface WebhookEndpointsTable {
  id: string;
  team_id: string;
  url: string;
  description: string;
  event_types: string[];
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: NullableTimestamp;
  disabled_at: NullableTimestamp;
  disabled_reason: WebhookDisabledReason | null;
  consecutive_failures: Generated<number>;
  circuit_open_until: NullableTimestamp;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: Generated<number>;
}

export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  state: Generated<WebhookDeliveryState>;
  attempts: Generated<number>;
  next_attempt_at: NullableTimestamp;
  last_status: number | null;
  last_error: string | null;
  created_at: Timestamp;
  completed_at: NullableTimestamp;
}

export interface WebhookAttemptsTable {
  delivery_id: string;
  number: number;
  started_at: Date;
  duration_ms: number;
  status: number | null;
  error: string | null;
  response_snippet: string | null;
}

export type NotificationKind = 'assigned' | 'mentioned' | 'due_soon' | 'webhook_disabled';
/** External channels: each message to one goes through a send row. In-app is the inbox row. */
export type NotificationChannel = 'email' | 'push' | 'sms';
export type NotificationSendState = 'pending' | 'sending' | 'sent' | 'failed';

/** The in-app inbox: one row per (user, source_key), by constraint. */
export interface NotificationsTable {
  id: string;
  user_id: string;
  team_id: string;
  kind: NotificationKind;
  source_key: string;
  task_id: string | null;
  actor_id: string | null;
  title: string;
  body: Generated<string>;
  data: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: Timestamp;
  read_at: NullableTimestamp;
}

/** One message on an external channel, rendered at creation; one per (user, source_key, channel). */
export interface NotificationSendsTable {
  id: string;
  user_id: string;
  channel: NotificationChannel;
  source_key: string;
  recipient: string;
  subject: string;
  body: string;
  state: Generated<NotificationSendState>;
  attempts: Generated<number>;
  message_id: string;
  last_error: string | null;
  created_at: Timestamp;
  sent_at: NullableTimestamp;
}

export interface NotificationPreferencesTable {
  user_id: string;
  in_app: Generated<boolean>;
  email: Generated<boolean>;
  push: Generated<boolean>;
  sms: Generated<boolean>;
  updated_at: Timestamp;
}

/** One row per live job worker pool (ADR 0021); the database's clock in last_seen_at. */
export interface JobWorkerHeartbeatsTable {
  pool_id: string;
  hostname: string;
  pid: number;
  started_at: Timestamp;
  last_seen_at: Timestamp;
}

export interface SchemaMigrationsTable {
  version: string;
  name: string;
  checksum: string;
  applied_at: Timestamp;
}

export interface DB {
  users: UsersTable;
  session_families: SessionFamiliesTable;
  refresh_tokens: RefreshTokensTable;
  teams: TeamsTable;
  team_members: TeamMembersTable;
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  tasks: TasksTable;
  comments: CommentsTable;
  events: EventsTable;
  idempotency_keys: IdempotencyKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  notifications: NotificationsTable;
  notification_sends: NotificationSendsTable;
  notification_preferences: NotificationPreferencesTable;
  job_worker_heartbeats: JobWorkerHeartbeatsTable;
  schema_migrations: SchemaMigrationsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Team = Selectable<TeamsTable>;
export type Project = Selectable<ProjectsTable>;
export type Task = Selectable<TasksTable>;
export type Comment = Selectable<CommentsTable>;
export type Event = Selectable<EventsTable>;
export type WebhookEndpoint = Selectable<WebhookEndpointsTable>;
export type WebhookDelivery = Selectable<WebhookDeliveriesTable>;
export type WebhookAttempt = Selectable<WebhookAttemptsTable>;
export type Notification = Selectable<NotificationsTable>;
export type NotificationSend = Selectable<NotificationSendsTable>;
