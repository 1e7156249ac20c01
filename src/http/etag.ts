import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './problems.ts';

/** A strong ETag from a row's version: it changes with every write to the row. */
export function etagOf(version: number): string {
  return `"v${version}"`;
}

/**
 * The `If-Match` precondition of a write (RFC 9110 §13.1.1), checked by the
 * service against the row it has locked, so two racing writers cannot both pass.
 */
export interface IfMatch {
  readonly any: boolean;
  readonly etags: readonly string[];
}

export function parseIfMatch(header: string | undefined): IfMatch | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return { any: true, etags: [] };
  const etags = value
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
  if (etags.length === 0 || etags.some((tag) => !/^(W\/)?"[^"]*"$/.test(tag))) {
    throw new AppError('malformed_request', 'If-Match must be "*" or a list of quoted ETags', {
      errors: [{ header: 'if-match', detail: 'must be "*" or a list of quoted ETags' }],
    });
  }
  return { any: false, etags };
}

/** Throws 412 with the current ETag unless `ifMatch` admits `version` (strong comparison). */
export function assertIfMatch(ifMatch: IfMatch | undefined, version: number): void {
  if (ifMatch === undefined || ifMatch.any) return;
  const current = etagOf(version);
  // Strong comparison: a weak tag (W/"…") never matches.
  if (!ifMatch.etags.includes(current)) {
    throw new AppError('precondition_failed', 'the resource changed since you read it', {
      headers: { etag: current },
    });
  }
}

export function setEtag(reply: FastifyReply, version: number): void {
  reply.header('etag', etagOf(version));
}

/**
 * Sets the ETag and answers whether the client's copy is current, in which case
 * the route replies 304 with no body.
 */
export function isNotModified(
  request: FastifyRequest,
  reply: FastifyReply,
  version: number,
): boolean {
  const etag = etagOf(version);
  setEtag(reply, version);
  const header = request.headers['if-none-match'];
  if (header === undefined) return false;
  // If-None-Match uses weak comparison: W/"v3" matches "v3".
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}
