import { createHash } from 'node:crypto';
import { AppError } from './problems.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const MAX_KEY_LENGTH = 255;

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `false` on a route whose response carries a secret (a token, an API key, a
     * webhook secret): such a response must never be stored, so the header is refused.
     */
    idempotency?: false;
  }
}

function malformed(detail: string): AppError {
  return new AppError('malformed_request', `Idempotency-Key ${detail}`, {
    errors: [{ header: IDEMPOTENCY_HEADER, detail }],
  });
}

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
// RFC 8941 §3.3.3 sf-string: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE.
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;

/**
 * The key of an `Idempotency-Key` header: a bare token or an RFC 8941 string
 * (`"abc"` and `abc` are the same key), 1–255 visible ASCII characters once
 * unquoted. Anything else is a 400 naming the header.
 */
export function parseIdempotencyKey(header: string | string[]): string {
  // Node joins repeated headers with ", ", which the rules below refuse; an array
  // only arrives from callers that bypass that, and means the same thing.
  if (Array.isArray(header)) throw malformed('must be sent once');
  // RFC 8941 parsing discards surrounding spaces; HTTP's OWS also allows tabs.
  const value = header.replace(/^[ \t]+|[ \t]+$/g, '');
  let key = value;
  if (value.startsWith('"')) {
    const quoted = SF_STRING.exec(value);
    if (!quoted) throw malformed('is not a valid quoted string (RFC 8941)');
    key = quoted[1]!.replace(/\\(["\\])/g, '$1');
  } else if (value.includes('"')) {
    throw malformed('must be a bare token or a quoted string');
  }
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw malformed(`must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
  if (!VISIBLE_ASCII.test(key)) throw malformed('must be visible ASCII characters only');
  return key;
}

/**
 * JSON with object keys sorted at every depth, so two bodies that differ only in
 * whitespace or key order are the same request. Array order is meaningful and kept.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map(
        (key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`,
      );
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export interface RequestFingerprint {
  readonly method: string;
  readonly path: string;
  /** sha256 over method, path, query and body in canonical form. */
  readonly hash: Buffer;
}

/**
 * What a retry must repeat exactly. Taken in preHandler, after parsing and schema
 * validation, so the body is the parsed one (with schema defaults applied — the
 * same for both sends of one request).
 */
export function requestFingerprint(
  method: string,
  path: string,
  query: unknown,
  body: unknown,
): RequestFingerprint {
  const hash = createHash('sha256')
    .update(`${method}\n${path}\n${canonicalJson(query ?? {})}\n${canonicalJson(body)}`)
    .digest();
  return { method, path, hash };
}

// The account routes answer with tokens. Listed here, as the one place that reads
// this security decision for routes that predate the route option; routes added
// later with a secret in their response (API keys, webhook endpoints) declare
// `config: { idempotency: false }` instead.
const CREDENTIAL_ROUTES = /^\/v1\/(auth\/|me\/password$)/;

/** True when the route (its URL pattern) refuses `Idempotency-Key`: its response is not storable. */
export function refusesIdempotency(
  url: string,
  config: { readonly idempotency?: false } | undefined,
): boolean {
  return CREDENTIAL_ROUTES.test(url) || config?.idempotency === false;
}

/** POST and PATCH under /v1: the writes the contract makes idempotent. */
export function takesIdempotencyKey(method: string, url: string | undefined): boolean {
  return (method === 'POST' || method === 'PATCH') && url?.startsWith('/v1/') === true;
}
