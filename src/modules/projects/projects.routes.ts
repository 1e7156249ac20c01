import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { isNotModified, parseIfMatch, setEtag } from '../../http/etag.ts';
import { problems } from '../../http/openapi-responses.ts';
import { pageOf, sendPage } from '../../http/pagination.ts';
import { bearerAuth, IfMatchHeaders, NoContent } from '../../http/schema-types.ts';
import { archiveProject, editProject, unarchiveProject } from './project-changes.service.ts';
import { projectMemberRoutes } from './project-members.routes.ts';
import {
  CreateProjectBody,
  PatchProjectBody,
  ProjectListQuery,
  ProjectMemberSchema,
  ProjectParams,
  ProjectSchema,
  presentProject,
  ReplaceProjectBody,
  TeamProjectsParams,
} from './projects.schemas.ts';
import { createProject, getProject, listProjects } from './projects.service.ts';

const ProjectRef = Type.Ref('Project');
const tags = ['projects'];

export function projectRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, cursors, authenticate } = deps;
  return async (app) => {
    app.addSchema(ProjectSchema);
    app.addSchema(ProjectMemberSchema);

    app.post(
      '/v1/teams/:team_id/projects',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Create a project in a team (team admin or owner)',
          description:
            'The key must be unused in the team (409 otherwise). A private project starts with its creator as its admin member.',
          security: bearerAuth,
          params: TeamProjectsParams,
          body: CreateProjectBody,
          response: { 201: ProjectRef, ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const project = await createProject(
          db,
          principalOf(request).userId,
          request.params.team_id,
          request.body,
        );
        setEtag(reply, project.version);
        return reply
          .code(201)
          .header('location', `/v1/projects/${project.id}`)
          .send(presentProject(project));
      },
    );

    app.get(
      '/v1/teams/:team_id/projects',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'The team’s projects you can see, oldest first',
          description:
            'Team-visible projects are listed for every team member; private ones for their members and the team owners. Archived projects are listed only with `archived=true`.',
          security: bearerAuth,
          params: TeamProjectsParams,
          querystring: ProjectListQuery,
          response: { 200: pageOf(ProjectRef), ...problems(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const { projects, nextCursor } = await listProjects(
          db,
          cursors,
          principalOf(request).userId,
          request.params.team_id,
          request.query,
        );
        return sendPage(request, reply, projects.map(presentProject), nextCursor);
      },
    );

    app.get(
      '/v1/projects/:project_id',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'One project, archived or not, with a strong ETag',
          security: bearerAuth,
          params: ProjectParams,
          response: { 200: ProjectRef, 304: NoContent, ...problems(401, 404) },
        },
      },
      async (request, reply) => {
        const project = await getProject(
          db,
          principalOf(request).userId,
          request.params.project_id,
        );
        if (isNotModified(request, reply, project.version)) return reply.code(304).send();
        return presentProject(project);
      },
    );

    app.put(
      '/v1/projects/:project_id',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Replace name, key, description and visibility (project admin)',
          description:
            'An absent description is the empty one. A new key renames every task key of the project (ENG-42 → OPS-42). Changing visibility resets the member list (see PATCH). An archived project answers 409.',
          security: bearerAuth,
          params: ProjectParams,
          headers: IfMatchHeaders,
          body: ReplaceProjectBody,
          response: { 200: ProjectRef, ...problems(401, 403, 404, 409, 412) },
        },
      },
      async (request, reply) => {
        const project = await editProject(
          db,
          principalOf(request).userId,
          request.params.project_id,
          { ...request.body, description: request.body.description ?? '' },
          parseIfMatch(request.headers['if-match']),
        );
        setEtag(reply, project.version);
        return presentProject(project);
      },
    );

    app.patch(
      '/v1/projects/:project_id',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Change some fields, as a JSON Merge Patch (project admin)',
          description:
            '`description: null` clears the description. Turning a private project team-wide drops its member list; turning a team project private makes you its only admin member. A new key renames every task key. An archived project answers 409.',
          security: bearerAuth,
          params: ProjectParams,
          headers: IfMatchHeaders,
          body: PatchProjectBody,
          response: { 200: ProjectRef, ...problems(401, 403, 404, 409, 412) },
        },
      },
      async (request, reply) => {
        const project = await editProject(
          db,
          principalOf(request).userId,
          request.params.project_id,
          request.body,
          parseIfMatch(request.headers['if-match']),
        );
        setEtag(reply, project.version);
        return presentProject(project);
      },
    );

    app.delete(
      '/v1/projects/:project_id',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Archive a project (project admin); nothing is deleted',
          description:
            'The project and its tasks stay readable but cannot change until `POST …/unarchive`. Archiving an archived project answers 204 again.',
          security: bearerAuth,
          params: ProjectParams,
          headers: IfMatchHeaders,
          response: { 204: NoContent, ...problems(401, 403, 404, 412) },
        },
      },
      async (request, reply) => {
        await archiveProject(
          db,
          principalOf(request).userId,
          request.params.project_id,
          parseIfMatch(request.headers['if-match']),
        );
        return reply.code(204).send();
      },
    );

    app.post(
      '/v1/projects/:project_id/unarchive',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Bring an archived project back (project admin)',
          description: 'Unarchiving an active project changes nothing and answers 200.',
          security: bearerAuth,
          params: ProjectParams,
          headers: IfMatchHeaders,
          response: { 200: ProjectRef, ...problems(401, 403, 404, 412) },
        },
      },
      async (request, reply) => {
        const project = await unarchiveProject(
          db,
          principalOf(request).userId,
          request.params.project_id,
          parseIfMatch(request.headers['if-match']),
        );
        setEtag(reply, project.version);
        return presentProject(project);
      },
    );

    await app.register(projectMemberRoutes(deps));
  };
}
