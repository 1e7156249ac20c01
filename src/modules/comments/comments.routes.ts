import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../auth/authenticate.ts';
import type { AppDeps } from '../../deps.ts';
import { isNotModified, parseIfMatch, setEtag } from '../../http/etag.ts';
import { problems } from '../../http/openapi-responses.ts';
import { pageOf, sendPage } from '../../http/pagination.ts';
import { bearerAuth, IfMatchHeaders, NoContent } from '../../http/schema-types.ts';
import { deleteComment, editComment, restoreComment } from './comment-changes.service.ts';
import {
  CommentListQuery,
  CommentParams,
  CommentSchema,
  CreateCommentBody,
  PatchCommentBody,
  presentComment,
  TaskCommentsParams,
} from './comments.schemas.ts';
import { createComment, getComment, listTaskComments } from './comments.service.ts';

const tags = ['comments'];
const CommentRef = Type.Ref('Comment');

export function commentRoutes(deps: AppDeps): FastifyPluginAsyncTypebox {
  const { db, cursors, authenticate } = deps;
  return async (app) => {
    app.addSchema(CommentSchema);

    app.post(
      '/v1/tasks/:task_id/comments',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Comment on a task (project member or above)',
          description: 'The task must be live (not in the trash) and its project not archived.',
          security: bearerAuth,
          params: TaskCommentsParams,
          body: CreateCommentBody,
          response: { 201: CommentRef, ...problems(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        const comment = await createComment(
          db,
          principalOf(request).userId,
          request.params.task_id,
          request.body,
        );
        setEtag(reply, comment.version);
        return reply
          .code(201)
          .header('location', `/v1/comments/${comment.id}`)
          .send(presentComment(comment));
      },
    );

    app.get(
      '/v1/tasks/:task_id/comments',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: "A task's comments, oldest first; its trash with deleted=only",
          security: bearerAuth,
          params: TaskCommentsParams,
          querystring: CommentListQuery,
          response: { 200: pageOf(CommentRef), ...problems(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const { comments, nextCursor } = await listTaskComments(
          db,
          cursors,
          principalOf(request).userId,
          request.params.task_id,
          request.query,
        );
        return sendPage(request, reply, comments.map(presentComment), nextCursor);
      },
    );

    app.get(
      '/v1/comments/:comment_id',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'One comment, with a strong ETag',
          description: 'A comment in the trash, or on a task in the trash, answers 404.',
          security: bearerAuth,
          params: CommentParams,
          response: { 200: CommentRef, 304: NoContent, ...problems(401, 404) },
        },
      },
      async (request, reply) => {
        const comment = await getComment(
          db,
          principalOf(request).userId,
          request.params.comment_id,
        );
        if (isNotModified(request, reply, comment.version)) return reply.code(304).send();
        return presentComment(comment);
      },
    );

    app.patch(
      '/v1/comments/:comment_id',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Edit a comment (its author, or a project admin)',
          security: bearerAuth,
          params: CommentParams,
          headers: IfMatchHeaders,
          body: PatchCommentBody,
          response: { 200: CommentRef, ...problems(401, 403, 404, 409, 412) },
        },
      },
      async (request, reply) => {
        const comment = await editComment(
          db,
          principalOf(request).userId,
          request.params.comment_id,
          request.body,
          parseIfMatch(request.headers['if-match']),
        );
        setEtag(reply, comment.version);
        return presentComment(comment);
      },
    );

    app.delete(
      '/v1/comments/:comment_id',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Move a comment to the trash (its author, or a project admin)',
          description: 'Restorable with POST /v1/comments/{comment_id}/restore.',
          security: bearerAuth,
          params: CommentParams,
          headers: IfMatchHeaders,
          response: { 204: NoContent, ...problems(401, 403, 404, 409, 412) },
        },
      },
      async (request, reply) => {
        await deleteComment(
          db,
          principalOf(request).userId,
          request.params.comment_id,
          parseIfMatch(request.headers['if-match']),
        );
        return reply.code(204).send();
      },
    );

    app.post(
      '/v1/comments/:comment_id/restore',
      {
        onRequest: authenticate,
        schema: {
          tags,
          summary: 'Bring a comment back from the trash (its author, or a project admin)',
          description: 'Restoring a comment that is not in the trash changes nothing.',
          security: bearerAuth,
          params: CommentParams,
          headers: IfMatchHeaders,
          response: { 200: CommentRef, ...problems(401, 403, 404, 409, 412) },
        },
      },
      async (request, reply) => {
        const comment = await restoreComment(
          db,
          principalOf(request).userId,
          request.params.comment_id,
          parseIfMatch(request.headers['if-match']),
        );
        setEtag(reply, comment.version);
        return presentComment(comment);
      },
    );
  };
}
