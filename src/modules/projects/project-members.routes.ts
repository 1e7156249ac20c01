import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { problems } from '../../http/openapi-responses.ts';
import { PageQuery, pageOf, sendPage } from '../../http/pagination.ts';
import { bearerAuth, NoContent } from '../../http/schema-types.ts';
import {
  addProjectMember,
  changeProjectMemberRole,
  getProjectMember,
  listMembersOfProject,
  removeProjectMember,
} from './project-members.service.ts';
import {
  AddProjectMemberBody,
  PatchProjectMemberBody,
  ProjectMemberParams,
  ProjectParams,
  presentProjectMember,
} from './projects.schemas.ts';

const MemberRef = Type.Ref('ProjectMember');
const tags = ['projects'];
const TEAM_PROJECT_409 =
  'A team-visible project has no member list of its own (everyone in the team has their team role): 409.';

/** The member list of private projects. Registered by projectRoutes, which adds the schemas. */
export function projectMemberRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, cursors, authenticate } = deps;
  return async (app) => {
    app.get(
      '/v1/projects/:project_id/members',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Members of a private project, in the order they were added',
          description: `Team owners administer every project without being listed. ${TEAM_PROJECT_409}`,
          security: bearerAuth,
          params: ProjectParams,
          querystring: Type.Object(PageQuery, { additionalProperties: false }),
          response: { 200: pageOf(MemberRef), ...problems(400, 401, 404, 409) },
        },
      },
      async (request, reply) => {
        const { members, nextCursor } = await listMembersOfProject(
          db,
          cursors,
          principalOf(request).userId,
          request.params.project_id,
          request.query,
        );
        return sendPage(request, reply, members.map(presentProjectMember), nextCursor);
      },
    );

    app.post(
      '/v1/projects/:project_id/members',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Add a member of the team to a private project (project admin)',
          description: `The email must be that of a member of the project’s team (422 on /email otherwise). ${TEAM_PROJECT_409}`,
          security: bearerAuth,
          params: ProjectParams,
          body: AddProjectMemberBody,
          response: { 201: MemberRef, ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const { project_id } = request.params;
        const member = await addProjectMember(db, principalOf(request).userId, project_id, {
          email: request.body.email,
          role: request.body.role ?? 'member',
        });
        return reply
          .code(201)
          .header('location', `/v1/projects/${project_id}/members/${member.user_id}`)
          .send(presentProjectMember(member));
      },
    );

    app.get(
      '/v1/projects/:project_id/members/:user_id',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'One member of a private project',
          description: TEAM_PROJECT_409,
          security: bearerAuth,
          params: ProjectMemberParams,
          response: { 200: MemberRef, ...problems(401, 404, 409) },
        },
      },
      async (request) => {
        const { project_id, user_id } = request.params;
        return presentProjectMember(
          await getProjectMember(db, principalOf(request).userId, project_id, user_id),
        );
      },
    );

    app.patch(
      '/v1/projects/:project_id/members/:user_id',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: "Change a member's role in a private project (project admin)",
          description: TEAM_PROJECT_409,
          security: bearerAuth,
          params: ProjectMemberParams,
          body: PatchProjectMemberBody,
          response: { 200: MemberRef, ...problems(401, 403, 404, 409) },
        },
      },
      async (request) => {
        const { project_id, user_id } = request.params;
        const member = await changeProjectMemberRole(
          db,
          principalOf(request).userId,
          project_id,
          user_id,
          request.body.role,
        );
        return presentProjectMember(member);
      },
    );

    app.delete(
      '/v1/projects/:project_id/members/:user_id',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Remove a member (project admin), or leave with your own user id',
          description: TEAM_PROJECT_409,
          security: bearerAuth,
          params: ProjectMemberParams,
          response: { 204: NoContent, ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const { project_id, user_id } = request.params;
        await removeProjectMember(db, principalOf(request).userId, project_id, user_id);
        return reply.code(204).send();
      },
    );
  };
}
