import { Type } from 'typebox';

/** Shared field schemas, so every id and time reads the same in /openapi.json. */
// Ajv's `uuid` format also admits a `urn:uuid:` prefix, which PostgreSQL rejects
// (a 500): the pattern pins the plain form.
const UUID_PATTERN =
  '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

export const Uuid = (description: string) =>
  Type.String({ format: 'uuid', pattern: UUID_PATTERN, description });

export const Timestamp = (description: string) =>
  Type.String({ format: 'date-time', description: `${description} (RFC 3339, UTC, milliseconds)` });

/** 204 and 304 answers: no body at all. */
export const NoContent = Type.Unsafe<undefined>({ description: 'No content' });

/** The OpenAPI security requirement of every route that takes an access token. */
export const bearerAuth = [{ bearer: [] }];

/** The If-Match request header of PUT, PATCH and DELETE routes. */
export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({ description: 'Only act if the resource still has this ETag (else 412)' }),
  ),
});
