import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { problems } from '../../http/openapi-responses.ts';
import { bearerAuth, NoContent } from '../../http/schema-types.ts';
import {
  AuthResultSchema,
  ChangePasswordBody,
  LoginBody,
  presentUser,
  RefreshBody,
  SignupBody,
  TokenPairSchema,
} from './accounts.schemas.ts';
import { getUser, login, signup } from './accounts.service.ts';
import { changePassword } from './password.service.ts';
import { endSession, refreshSession } from './sessions.service.ts';

export function accountRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, sessions, authenticate } = deps;
  return async (app) => {
    app.post(
      '/v1/auth/signup',
      {
        schema: {
          tags: ['auth'],
          summary: 'Create an account and start a session',
          body: SignupBody,
          response: { 201: AuthResultSchema, ...problems(409) },
        },
      },
      async (request, reply) => {
        const result = await signup(db, sessions, request.body);
        return reply.code(201).send({ ...result, user: presentUser(result.user) });
      },
    );

    app.post(
      '/v1/auth/login',
      {
        schema: {
          tags: ['auth'],
          summary: 'Start a session with email and password',
          body: LoginBody,
          response: { 200: AuthResultSchema, ...problems(401) },
        },
      },
      async (request) => {
        const result = await login(db, sessions, request.body);
        return { ...result, user: presentUser(result.user) };
      },
    );

    app.post(
      '/v1/auth/refresh',
      {
        schema: {
          tags: ['auth'],
          summary: 'Exchange a refresh token for a new pair (rotation with reuse detection)',
          description:
            'The presented token is spent. Within a few seconds a second refresh with it answers the same new pair (two tabs refreshing at once); after that, presenting it again revokes the whole session.',
          body: RefreshBody,
          response: { 200: TokenPairSchema, ...problems(401) },
        },
      },
      async (request) => refreshSession(db, sessions, request.body.refresh_token),
    );

    app.post(
      '/v1/auth/logout',
      {
        onRequest: authenticate,
        schema: {
          tags: ['auth'],
          summary: "Revoke the session's refresh tokens",
          description:
            'Access tokens are self-contained and stay valid until they expire (at most 10 minutes); the refresh token stops working at once.',
          security: bearerAuth,
          response: { 204: NoContent, ...problems(401) },
        },
      },
      async (request, reply) => {
        await endSession(db, principalOf(request).sessionId);
        return reply.code(204).send();
      },
    );

    app.get(
      '/v1/me',
      {
        onRequest: authenticate,
        schema: {
          tags: ['auth'],
          summary: 'The authenticated user',
          security: bearerAuth,
          response: { 200: { $ref: 'User' }, ...problems(401) },
        },
      },
      async (request) => presentUser(await getUser(db, principalOf(request).userId)),
    );

    app.post(
      '/v1/me/password',
      {
        onRequest: authenticate,
        schema: {
          tags: ['auth'],
          summary: 'Change your password; every session ends and a new one starts',
          description:
            'Checks `current_password`, revokes all refresh tokens of the account (every device must log in again) and returns a new pair for this client.',
          security: bearerAuth,
          body: ChangePasswordBody,
          response: { 200: TokenPairSchema, ...problems(401) },
        },
      },
      async (request) => changePassword(db, sessions, principalOf(request).userId, request.body),
    );
  };
}
