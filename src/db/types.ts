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
  schema_migrations: SchemaMigrationsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Team = Selectable<TeamsTable>;
