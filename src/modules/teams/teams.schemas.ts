import { Type } from 'typebox';
import type { Team } from '../../db/types.ts';
import { Timestamp, Uuid } from '../../http/schema-types.ts';
import type { MemberRow } from './members.repository.ts';

const roleSchema = (options: { default?: string; description: string }) =>
  Type.Union(
    [Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')],
    options,
  );
const Role = roleSchema({ description: 'Team role: owner > admin > member > viewer' });
const Plan = Type.Union([Type.Literal('free'), Type.Literal('pro')], {
  description: 'Billing plan',
});
const TeamName = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Team name, 1–200 characters',
});

export const TeamSchema = Type.Object(
  {
    id: Uuid('The team id'),
    name: TeamName,
    plan: Plan,
    created_at: Timestamp('When the team was created'),
    updated_at: Timestamp('When the team last changed'),
    version: Type.Integer({
      description: 'Incremented by every change; the ETag is derived from it',
    }),
  },
  { $id: 'Team', additionalProperties: false },
);

export const MemberSchema = Type.Object(
  {
    user_id: Uuid('The member’s user id'),
    email: Type.String({ description: 'The member’s email' }),
    name: Type.String({ description: 'The member’s display name' }),
    role: Role,
    joined_at: Timestamp('When the user joined the team'),
  },
  { $id: 'Member', additionalProperties: false },
);

export const TeamParams = Type.Object({ team_id: Uuid('The team id') });
export const MemberParams = Type.Object({
  team_id: Uuid('The team id'),
  user_id: Uuid('The member’s user id'),
});

export const CreateTeamBody = Type.Object({ name: TeamName }, { additionalProperties: false });

export const PatchTeamBody = Type.Object(
  {
    name: Type.Optional(TeamName),
    plan: Type.Optional(Plan),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const AddMemberBody = Type.Object(
  {
    email: Type.String({
      format: 'email',
      maxLength: 254,
      description: 'Email of an existing Tasklane account',
    }),
    role: Type.Optional(
      roleSchema({ default: 'member', description: 'Role to grant; member when absent' }),
    ),
  },
  { additionalProperties: false },
);

export const PatchMemberBody = Type.Object({ role: Role }, { additionalProperties: false });

export function presentTeam(team: Team) {
  return {
    id: team.id,
    name: team.name,
    plan: team.plan,
    created_at: team.created_at.toISOString(),
    updated_at: team.updated_at.toISOString(),
    version: team.version,
  };
}

export function presentMember(member: MemberRow) {
  return {
    user_id: member.user_id,
    email: member.email,
    name: member.name,
    role: member.role,
    joined_at: member.joined_at.toISOString(),
  };
}
