import { Type } from 'typebox';
import type { Comment } from '../../db/types.ts';
import { PageQuery } from '../../http/pagination.ts';
import { Timestamp, Uuid } from '../../http/schema-types.ts';

export const MAX_COMMENT_LENGTH = 10_000;

const CommentBodyText = Type.String({
  minLength: 1,
  maxLength: MAX_COMMENT_LENGTH,
  description: `Markdown, 1–${MAX_COMMENT_LENGTH} characters, not only whitespace`,
});

export const CommentSchema = Type.Object(
  {
    id: Uuid('The comment id'),
    task_id: Uuid('The task the comment is on'),
    author_id: Type.Union([Uuid('Who wrote the comment'), Type.Null()], {
      description: 'Who wrote the comment; null once their account is gone',
    }),
    body: Type.String({ description: `Markdown, 1–${MAX_COMMENT_LENGTH} characters` }),
    created_at: Timestamp('When the comment was posted'),
    updated_at: Timestamp('When the comment last changed (edit, delete or restore)'),
    deleted_at: Type.Union([Timestamp('When the comment was moved to the trash'), Type.Null()], {
      description: 'When the comment was moved to the trash; null while it is live',
    }),
    version: Type.Integer({
      description: 'Incremented by every change; the ETag is derived from it',
    }),
  },
  { $id: 'Comment', additionalProperties: false },
);

export const TaskCommentsParams = Type.Object({ task_id: Uuid('The task id') });
export const CommentParams = Type.Object({ comment_id: Uuid('The comment id') });

export const CreateCommentBody = Type.Object(
  { body: CommentBodyText },
  { additionalProperties: false },
);

/** JSON Merge Patch; the body is the only editable field and cannot be cleared. */
export const PatchCommentBody = Type.Object(
  { body: Type.Optional(CommentBodyText) },
  { additionalProperties: false, minProperties: 1 },
);

export const CommentListQuery = Type.Object(
  {
    ...PageQuery,
    deleted: Type.Optional(
      Type.Literal('only', {
        description:
          'only: the trash (soft-deleted comments, in the order they were deleted) instead of the live comments',
      }),
    ),
  },
  { additionalProperties: false },
);

export function presentComment(comment: Comment) {
  return {
    id: comment.id,
    task_id: comment.task_id,
    author_id: comment.author_id,
    body: comment.body,
    created_at: comment.created_at.toISOString(),
    updated_at: comment.updated_at.toISOString(),
    deleted_at: comment.deleted_at?.toISOString() ?? null,
    version: comment.version,
  };
}
