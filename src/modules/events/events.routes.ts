import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { problems } from '../../http/openapi-responses.ts';
import { pageOf, sendPage } from '../../http/pagination.ts';
import { bearerAuth } from '../../http/schema-types.ts';
import { TeamParams } from '../teams/teams.schemas.ts';
import { EventListQuery, EventSchema, presentEvent } from './events.schemas.ts';
import { listEvents } from './events.service.ts';

const EventRef = Type.Ref('Event');

export function eventRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, cursors, authenticate } = deps;
  return async (app) => {
    app.addSchema(EventSchema);

    app.get(
      '/v1/teams/:team_id/events',
      {
        onRequest: authenticate,
        schema: {
          tags: ['events'],
          summary: "The team's audit log, newest first (members of the team)",
          description:
            'Every change to the team and its projects, tasks and comments, appended in the ' +
            'same transaction as the change. Events of a private project are listed only for ' +
            'those who can see the project. Not a tail-able feed: see docs/decisions/0011.',
          security: bearerAuth,
          params: TeamParams,
          querystring: EventListQuery,
          response: { 200: pageOf(EventRef), ...problems(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const { events, nextCursor } = await listEvents(
          db,
          cursors,
          principalOf(request).userId,
          request.params.team_id,
          request.query,
        );
        return sendPage(request, reply, events.map(presentEvent), nextCursor);
      },
    );
  };
}
