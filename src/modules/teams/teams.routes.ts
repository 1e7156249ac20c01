import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { isNotModified, parseIfMatch, setEtag } from '../../http/etag.ts';
import { problems } from '../../http/openapi-responses.ts';
import { PageQuery, pageOf, sendPage } from '../../http/pagination.ts';
import { bearerAuth, IfMatchHeaders, NoContent } from '../../http/schema-types.ts';
import {
  CreateTeamBody,
  PatchTeamBody,
  presentTeam,
  TeamParams,
  TeamSchema,
} from './teams.schemas.ts';
import { createTeam, getTeam, listTeams, patchTeam, removeTeam } from './teams.service.ts';

const TeamRef = Type.Ref('Team');

export function teamRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, cursors, authenticate } = deps;
  return async (app) => {
    app.addSchema(TeamSchema);

    app.post(
      '/v1/teams',
      {
        onRequest: authenticate,
        schema: {
          tags: ['teams'],
          summary: 'Create a team; you become its owner',
          security: bearerAuth,
          body: CreateTeamBody,
          response: { 201: TeamRef, ...problems(401) },
        },
      },
      async (request, reply) => {
        const team = await createTeam(db, principalOf(request).userId, request.body);
        return reply.code(201).header('location', `/v1/teams/${team.id}`).send(presentTeam(team));
      },
    );

    app.get(
      '/v1/teams',
      {
        onRequest: authenticate,
        schema: {
          tags: ['teams'],
          summary: 'The teams you belong to, oldest first',
          security: bearerAuth,
          querystring: Type.Object(PageQuery, { additionalProperties: false }),
          response: { 200: pageOf(TeamRef), ...problems(400, 401) },
        },
      },
      async (request, reply) => {
        const { teams, nextCursor } = await listTeams(
          db,
          cursors,
          principalOf(request).userId,
          request.query,
        );
        return sendPage(request, reply, teams.map(presentTeam), nextCursor);
      },
    );

    app.get(
      '/v1/teams/:team_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['teams'],
          summary: 'One team, with a strong ETag',
          security: bearerAuth,
          params: TeamParams,
          response: { 200: TeamRef, 304: NoContent, ...problems(401, 404) },
        },
      },
      async (request, reply) => {
        const team = await getTeam(db, principalOf(request).userId, request.params.team_id);
        if (isNotModified(request, reply, team.version)) return reply.code(304).send();
        return presentTeam(team);
      },
    );

    app.patch(
      '/v1/teams/:team_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['teams'],
          summary: 'Rename a team (admin) or change its plan (owner)',
          security: bearerAuth,
          params: TeamParams,
          headers: IfMatchHeaders,
          body: PatchTeamBody,
          response: { 200: TeamRef, ...problems(401, 403, 404, 412) },
        },
      },
      async (request, reply) => {
        const team = await patchTeam(
          db,
          principalOf(request).userId,
          request.params.team_id,
          request.body,
          parseIfMatch(request.headers['if-match']),
        );
        setEtag(reply, team.version);
        return presentTeam(team);
      },
    );

    app.delete(
      '/v1/teams/:team_id',
      {
        onRequest: authenticate,
        schema: {
          tags: ['teams'],
          summary: 'Delete a team and its memberships (owner)',
          security: bearerAuth,
          params: TeamParams,
          headers: IfMatchHeaders,
          response: { 204: NoContent, ...problems(401, 403, 404, 412) },
        },
      },
      async (request, reply) => {
        await removeTeam(
          db,
          principalOf(request).userId,
          request.params.team_id,
          parseIfMatch(request.headers['if-match']),
        );
        return reply.code(204).send();
      },
    );
  };
}
