/**
 * The one catalogue of failures. Each code has a fixed HTTP status, a title and a
 * short page served at `/problems/<slug>`; clients branch on `code`, never on text.
 */
export const problemCatalogue = {
  validation_failed: {
    status: 422,
    title: 'Request validation failed',
    description:
      'The request was well-formed JSON, but a field is missing, of the wrong type, out of range or not allowed. `errors[]` names each field with a JSON Pointer (`pointer`) into the body, or the query/path parameter (`parameter`).',
  },
  malformed_request: {
    status: 400,
    title: 'Malformed request',
    description:
      'The body could not be parsed (malformed JSON, an empty body sent as JSON) or a header or cursor is not in the expected form. Fix the request before retrying.',
  },
  unauthenticated: {
    status: 401,
    title: 'Authentication required',
    description:
      'No valid credentials came with the request: the access token is missing, malformed, expired or for another audience, or the login or refresh token is wrong. Send `Authorization: Bearer <token>`; refresh an expired access token with `POST /v1/auth/refresh`.',
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    description:
      'You can see this resource, but your role does not allow this action. Roles, from most to least powerful: owner, admin, member, viewer.',
  },
  not_found: {
    status: 404,
    title: 'Not found',
    description:
      'No such resource, or one you may not see: Tasklane answers the same in both cases so that ids do not leak what exists.',
  },
  method_not_allowed: {
    status: 405,
    title: 'Method not allowed',
    description:
      'The resource exists but does not take this method. The `Allow` header lists those it takes.',
  },
  conflict: {
    status: 409,
    title: 'Conflict',
    description:
      'The request conflicts with the current state: a unique value already taken (an email, a membership), or a rule such as "a team keeps at least one owner".',
  },
  precondition_failed: {
    status: 412,
    title: 'Precondition failed',
    description:
      'The `If-Match` ETag is not the current one: someone changed the resource since you read it. The response carries the current `ETag`; fetch, merge and retry.',
  },
  payload_too_large: {
    status: 413,
    title: 'Payload too large',
    description: 'Request bodies are limited to 1 MiB.',
  },
  unsupported_media_type: {
    status: 415,
    title: 'Unsupported media type',
    description: 'Request bodies must be JSON, sent with `Content-Type: application/json`.',
  },
  idempotency_key_reused: {
    status: 422,
    title: 'Idempotency key reused',
    description:
      'This `Idempotency-Key` was first used for a different request (method, path or body). Use a new key for a new request.',
  },
  idempotency_key_in_use: {
    status: 409,
    title: 'Idempotency key in use',
    description: 'A request with this `Idempotency-Key` is still running. Retry after it finishes.',
  },
  rate_limited: {
    status: 429,
    title: 'Too many requests',
    description:
      'A rate limit was reached. Wait the number of seconds in `Retry-After`; the `RateLimit` and `RateLimit-Policy` headers show the limits.',
  },
  internal: {
    status: 500,
    title: 'Internal server error',
    description:
      'Something failed on our side. Nothing about it is in this response; the `request_id` finds it in the server logs.',
  },
  service_unavailable: {
    status: 503,
    title: 'Service unavailable',
    description:
      'The server is shutting down or overloaded. Retry after `Retry-After` seconds, or on another node.',
  },
} as const satisfies Record<string, { status: number; title: string; description: string }>;

export type ProblemCode = keyof typeof problemCatalogue;

/** `validation_failed` → `validation-failed`, the slug of `/problems/<slug>`. */
export function problemSlug(code: ProblemCode): string {
  return code.replaceAll('_', '-');
}

export function problemType(code: ProblemCode): string {
  if (code === 'rate_limited') {
    return 'https://iana.org/assignments/http-problem-types#quota-exceeded';
  }
  return `/problems/${problemSlug(code)}`;
}

/** One invalid input: `pointer` into the JSON body, or a query/path `parameter`, or a `header`. */
export interface FieldError {
  readonly pointer?: string;
  readonly parameter?: string;
  readonly header?: string;
  readonly detail: string;
}

interface AppErrorOptions {
  readonly errors?: readonly FieldError[];
  /** Response headers the problem needs (`Allow`, `ETag`, `Retry-After`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Extension members added to the problem body. */
  readonly extensions?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

/**
 * The only error type domain code throws on purpose. The HTTP layer renders it as
 * RFC 9457 problem details; anything else becomes a bare 500.
 */
export class AppError extends Error {
  override name = 'AppError';
  readonly code: ProblemCode;
  readonly status: number;
  readonly errors: readonly FieldError[] | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(code: ProblemCode, detail?: string, options: AppErrorOptions = {}) {
    super(detail ?? problemCatalogue[code].title, { cause: options.cause });
    this.code = code;
    this.status = problemCatalogue[code].status;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }
}

/** A 422 for one field of the body, the common case in services. */
export function invalidField(pointer: string, detail: string): AppError {
  return new AppError('validation_failed', `${pointer.slice(1) || 'body'} ${detail}`, {
    errors: [{ pointer, detail }],
  });
}
