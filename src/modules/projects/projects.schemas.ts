import { Type } from 'typebox';
import type { Project } from '../../db/types.ts';
import { PageQuery } from '../../http/pagination.ts';
import { Timestamp, Uuid } from '../../http/schema-types.ts';
import type { ProjectMemberRow } from './project-members.repository.ts';

const ProjectName = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Project name, 1–200 characters',
});
const ProjectKey = Type.String({
  pattern: '^[A-Z]{2,10}$',
  description:
    'Prefix of the task keys (ENG in ENG-42): 2–10 uppercase letters A–Z, unique in the team',
});
const Description = Type.String({
  maxLength: 100_000,
  description: 'Markdown, up to 100 000 characters',
});
const Visibility = Type.Union([Type.Literal('team'), Type.Literal('private')], {
  description: 'team: every team member sees it; private: only its members and the team owners',
});
const projectRole = (options: { default?: string; description: string }) =>
  Type.Union([Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')], options);
const ProjectRole = projectRole({ description: 'Role in the project: admin > member > viewer' });

export const ProjectSchema = Type.Object(
  {
    id: Uuid('The project id'),
    team_id: Uuid('The team that owns the project'),
    name: ProjectName,
    key: ProjectKey,
    description: Description,
    visibility: Visibility,
    archived_at: Type.Union([Timestamp('When the project was archived'), Type.Null()]),
    created_at: Timestamp('When the project was created'),
    updated_at: Timestamp('When the project last changed'),
    version: Type.Integer({
      description: 'Incremented by every change; the ETag is derived from it',
    }),
  },
  { $id: 'Project', additionalProperties: false },
);

export const ProjectMemberSchema = Type.Object(
  {
    user_id: Uuid('The member’s user id'),
    email: Type.String({ description: 'The member’s email' }),
    name: Type.String({ description: 'The member’s display name' }),
    role: ProjectRole,
    joined_at: Timestamp('When the user was added to the project'),
  },
  { $id: 'ProjectMember', additionalProperties: false },
);

export const TeamProjectsParams = Type.Object({ team_id: Uuid('The team id') });
export const ProjectParams = Type.Object({ project_id: Uuid('The project id') });
export const ProjectMemberParams = Type.Object({
  project_id: Uuid('The project id'),
  user_id: Uuid('The member’s user id'),
});

export const CreateProjectBody = Type.Object(
  {
    name: ProjectName,
    key: ProjectKey,
    description: Type.Optional(Description),
    visibility: Type.Optional(Visibility),
  },
  { additionalProperties: false },
);

/** PUT: the whole editable representation; an absent description is the empty one. */
export const ReplaceProjectBody = Type.Object(
  {
    name: ProjectName,
    key: ProjectKey,
    description: Type.Optional(Description),
    visibility: Visibility,
  },
  { additionalProperties: false },
);

/** JSON Merge Patch: a description of `null` clears it (to ''); other fields are required. */
export const PatchProjectBody = Type.Object(
  {
    name: Type.Optional(ProjectName),
    key: Type.Optional(ProjectKey),
    description: Type.Optional(
      Type.Union([Description, Type.Null({ description: 'Clears the description' })]),
    ),
    visibility: Type.Optional(Visibility),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const AddProjectMemberBody = Type.Object(
  {
    email: Type.String({
      format: 'email',
      maxLength: 254,
      description: 'Email of a member of the project’s team',
    }),
    role: Type.Optional(
      projectRole({ default: 'member', description: 'Role to grant; member when absent' }),
    ),
  },
  { additionalProperties: false },
);

export const PatchProjectMemberBody = Type.Object(
  { role: ProjectRole },
  { additionalProperties: false },
);

export const ProjectListQuery = Type.Object(
  {
    ...PageQuery,
    archived: Type.Boolean({
      default: false,
      description: 'true: only archived projects; false (default): only active ones',
    }),
  },
  { additionalProperties: false },
);

export function presentProject(project: Project) {
  return {
    id: project.id,
    team_id: project.team_id,
    name: project.name,
    key: project.key,
    description: project.description,
    visibility: project.visibility,
    archived_at: project.archived_at?.toISOString() ?? null,
    created_at: project.created_at.toISOString(),
    updated_at: project.updated_at.toISOString(),
    version: project.version,
  };
}

export function presentProjectMember(member: ProjectMemberRow) {
  return {
    user_id: member.user_id,
    email: member.email,
    name: member.name,
    role: member.role,
    joined_at: member.joined_at.toISOString(),
  };
}
