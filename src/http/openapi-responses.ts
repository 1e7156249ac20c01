import { Type } from 'typebox';
import { problemCatalogue } from './problems.ts';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({
      description: 'URI reference of the problem type; GET it for a human page',
    }),
    title: Type.String({ description: 'Short summary of the problem type' }),
    status: Type.Integer({ description: 'The HTTP status code' }),
    code: Type.String({
      enum: Object.keys(problemCatalogue),
      description: 'Stable machine-readable code: branch on this',
    }),
    detail: Type.String({ description: 'What went wrong with this request' }),
    instance: Type.String({ description: 'The request path' }),
    request_id: Type.String({ description: 'The X-Request-Id, to find the request in the logs' }),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          pointer: Type.Optional(
            Type.String({ description: 'JSON Pointer into the request body' }),
          ),
          parameter: Type.Optional(Type.String({ description: 'Query or path parameter' })),
          header: Type.Optional(Type.String({ description: 'Request header' })),
          detail: Type.String(),
        }),
        { description: 'Each invalid input' },
      ),
    ),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
);

const statusDescriptions: Record<number, string> = {
  400: 'Malformed request (`malformed_request`)',
  401: 'Missing or invalid credentials (`unauthenticated`)',
  403: 'Your role does not allow this (`forbidden`)',
  404: 'No such resource, or one you may not see (`not_found`)',
  405: 'Method not allowed (`method_not_allowed`)',
  409: 'Conflicts with the current state (`conflict`)',
  412: 'The If-Match ETag is stale (`precondition_failed`)',
  413: 'Body larger than 1 MiB (`payload_too_large`)',
  415: 'Body is not JSON (`unsupported_media_type`)',
  422: 'A field is missing, of the wrong type or out of range (`validation_failed`)',
  429: 'Rate limited (`rate_limited`)',
  500: 'Unexpected error (`internal`)',
  503: 'Shutting down or overloaded (`service_unavailable`)',
};

export function problemResponse(status: number) {
  return {
    description: statusDescriptions[status] ?? 'Problem details',
    content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
  };
}

/** Response schemas for the problems a route answers with, for /openapi.json. */
export function problems(
  ...statuses: number[]
): Record<number, ReturnType<typeof problemResponse>> {
  return Object.fromEntries(statuses.map((status) => [status, problemResponse(status)]));
}
