import { Type } from 'typebox';

/** Shared field schemas, so every id and time reads the same in /openapi.json. */
export const Uuid = (description: string) => Type.String({ format: 'uuid', description });

export const Timestamp = (description: string) =>
  Type.String({ format: 'date-time', description: `${description} (RFC 3339, UTC, milliseconds)` });

/** 204 and 304 answers: no body at all. */
export const NoContent = Type.Unsafe<undefined>({ description: 'No content' });
