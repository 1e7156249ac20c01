import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

export const PageQuery = {
  limit: Type.Integer({
    minimum: 1,
    maximum: MAX_PAGE_SIZE,
    default: DEFAULT_PAGE_SIZE,
    description: `Items per page, 1–${MAX_PAGE_SIZE}`,
  }),
  cursor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 2000,
      description:
        'Opaque `next_cursor` of the previous page; valid only with the same filters and sort',
    }),
  ),
};

const PageQueryObject = Type.Object(PageQuery);
export type PageParams = Static<typeof PageQueryObject>;

/** `{ data, next_cursor }` for a page schema of `item`. */
export function pageOf<T extends ReturnType<typeof Type.Object> | ReturnType<typeof Type.Ref>>(
  item: T,
) {
  return Type.Object(
    {
      data: Type.Array(item),
      next_cursor: Type.Union([Type.String(), Type.Null()], {
        description: 'Pass as `cursor` for the next page; null on the last page',
      }),
    },
    { additionalProperties: false },
  );
}

/** The page body, and a `Link: <…>; rel="next"` header (RFC 8288) when there is more. */
export function sendPage<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  data: T[],
  nextCursor: string | null,
): { data: T[]; next_cursor: string | null } {
  if (nextCursor !== null) {
    const [path, query = ''] = request.url.split('?', 2);
    const params = new URLSearchParams(query);
    params.set('cursor', nextCursor);
    reply.header('link', `<${path}?${params.toString()}>; rel="next"`);
  }
  return { data, next_cursor: nextCursor };
}

/**
 * Fetch one row more than the page: if it exists, there is a next page, and the
 * cursor is the position of the last row served.
 */
export function splitPage<T>(
  rows: T[],
  limit: number,
): { items: T[]; last: T | undefined; hasMore: boolean } {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  return { items, last: items.at(-1), hasMore };
}
