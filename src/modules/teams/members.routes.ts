import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { problems } from '../../http/openapi-responses.ts';
import { PageQuery, pageOf, sendPage } from '../../http/pagination.ts';
import { bearerAuth, NoContent } from '../../http/schema-types.ts';
import {
  addMember,
  changeMemberRole,
  getTeamMember,
  listTeamMembers,
  removeMember,
} from './members.service.ts';
import {
  AddMemberBody,
  MemberParams,
  MemberSchema,
  PatchMemberBody,
  presentMember,
  TeamParams,
} from './teams.schemas.ts';

const MemberRef = Type.Ref('Member');

export function memberRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, cursors, authenticate } = deps;
  return async (app) => {
    app.addSchema(MemberSchema);

    app.get(
      '/v1/teams/:team_id/members',
      {
        onRequest: authenticate,
        schema: {
          tags: ['teams'],
          summary: 'Members of a team, in the order they joined',
          security: bearerAuth,
          params: TeamParams,
          querystring: Type.Object(PageQuery, { additionalProperties: false }),
          response: { 200: pageOf(MemberRef), ...problems(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const { members, nextCursor } = await listTeamMembers(
          db,
          cursors,
          principalOf(request).userId,
          request.params.team_id,
          request.query,
        );
        return sendPage(request, reply, members.map(presentMember), nextCursor);
      },
    );

    app.post(
      '/v1/teams/:team_id/members',
      {
        onRequest: authenticate,
        schema: {
          tags: ['teams'],
          summary: 'Add an existing account to the team by email (admin; owner to add an owner)',
          security: bearerAuth,
          params: TeamParams,
          body: AddMemberBody,
          response: { 201: MemberRef, ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const { team_id } = request.params;
        const member = await addMember(db, principalOf(request).userId, team_id, {
          email: request.body.email,
          role: request.body.role ?? 'member',
        });
        return reply
          .code(201)
          .header('location', `/v1/teams/${team_id}/members/${member.user_id}`)
          .send(presentMember(member));
      },
    );

    app.get(
      '/v1/teams/:team_id/members/:user_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['teams'],
          summary: 'One member of a team',
          security: bearerAuth,
          params: MemberParams,
          response: { 200: MemberRef, ...problems(401, 404) },
        },
      },
      async (request) => {
        const { team_id, user_id } = request.params;
        return presentMember(
          await getTeamMember(db, principalOf(request).userId, team_id, user_id),
        );
      },
    );

    app.patch(
      '/v1/teams/:team_id/members/:user_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['teams'],
          summary: "Change a member's role (admin; owner when the owner role is involved)",
          description: 'The last owner cannot be demoted (409).',
          security: bearerAuth,
          params: MemberParams,
          body: PatchMemberBody,
          response: { 200: MemberRef, ...problems(401, 403, 404, 409) },
        },
      },
      async (request) => {
        const { team_id, user_id } = request.params;
        const member = await changeMemberRole(
          db,
          principalOf(request).userId,
          team_id,
          user_id,
          request.body.role,
        );
        return presentMember(member);
      },
    );

    app.delete(
      '/v1/teams/:team_id/members/:user_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['teams'],
          summary: 'Remove a member, or leave the team with your own user id',
          description: 'The last owner cannot leave (409).',
          security: bearerAuth,
          params: MemberParams,
          response: { 204: NoContent, ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const { team_id, user_id } = request.params;
        await removeMember(db, principalOf(request).userId, team_id, user_id);
        return reply.code(204).send();
      },
    );
  };
}
