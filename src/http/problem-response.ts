import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type FieldError, problemCatalogue, problemType } from './problems.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
const MAX_INSTANCE_LENGTH = 2048;

/** Writes `error` as an RFC 9457 problem details response. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  error: AppError,
): FastifyReply {
  const body = {
    type: problemType(error.code),
    title: problemCatalogue[error.code].title,
    status: error.status,
    code: error.code,
    detail: error.message,
    // Capped: a refused URL can be ~100 KB, and echoing it whole helps nobody.
    instance: request.url.split('?', 1)[0]?.slice(0, MAX_INSTANCE_LENGTH),
    request_id: request.id,
    ...(error.errors ? { errors: error.errors } : {}),
    ...error.extensions,
  };
  // A 4xx/5xx answer must never be cached by a shared cache as if it were the resource.
  return reply
    .code(error.status)
    .headers({
      // RFC 9110 §15.5.2: every 401 names the scheme that would be accepted.
      ...(error.status === 401 ? { 'www-authenticate': 'Bearer realm="tasklane"' } : {}),
      ...error.headers,
      'content-type': PROBLEM_CONTENT_TYPE,
      'cache-control': 'no-store',
    })
    .send(JSON.stringify(body));
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

function fieldPath(error: AjvError): string {
  if (error.keyword === 'required')
    return `${error.instancePath}/${String(error.params.missingProperty)}`;
  if (error.keyword === 'additionalProperties') {
    return `${error.instancePath}/${String(error.params.additionalProperty)}`;
  }
  return error.instancePath;
}

function fieldDetail(error: AjvError): string {
  if (error.keyword === 'required') return 'is required';
  if (error.keyword === 'additionalProperties') return 'is not an allowed field';
  return error.message ?? 'is invalid';
}

/** Turns Fastify's schema validation failure into a 422 naming each bad field. */
export function validationProblem(error: FastifyError): AppError {
  const context = error.validationContext ?? 'body';
  const all: FieldError[] = (error.validation as AjvError[]).map((item) => {
    const path = fieldPath(item);
    const detail = fieldDetail(item);
    if (context === 'body') return { pointer: path, detail };
    const name = path.split('/')[1] ?? '';
    return context === 'headers' ? { header: name, detail } : { parameter: name, detail };
  });
  // One entry per field: a value can break two rules at once (a uuid's format and
  // pattern), and the first says enough.
  const seen = new Set<string>();
  const errors = all.filter((item) => {
    const field = `${item.pointer ?? ''}|${item.parameter ?? ''}|${item.header ?? ''}`;
    if (seen.has(field)) return false;
    seen.add(field);
    return true;
  });
  const first = errors[0];
  const where = first?.pointer?.slice(1) || first?.parameter || first?.header || context;
  const detail = first ? `${where} ${first.detail}` : 'the request is invalid';
  return new AppError('validation_failed', detail, { errors });
}

const frameworkCodes: Record<string, AppError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: new AppError('malformed_request', 'the body is not valid JSON'),
  FST_ERR_CTP_EMPTY_JSON_BODY: new AppError(
    'malformed_request',
    'the body is empty but Content-Type says JSON',
  ),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: new AppError(
    'unsupported_media_type',
    'send the body as application/json',
  ),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: new AppError(
    'malformed_request',
    'Content-Length does not match the body',
  ),
  FST_ERR_CTP_BODY_TOO_LARGE: new AppError('payload_too_large', 'the body is larger than 1 MiB'),
  FST_ERR_BAD_URL: new AppError('malformed_request', 'the URL is not valid'),
};

/**
 * Maps any error to the AppError the client sees. Unknown errors become a bare 500:
 * their message may hold SQL or internals, so it never leaves the server.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) return validationProblem(fastifyError as FastifyError);
  const known = fastifyError.code ? frameworkCodes[fastifyError.code] : undefined;
  if (known) return known;
  // Any other client error Fastify raises (a JSON body that is not an object, a bad
  // header) is still the client's fault: never report it as our 500.
  if (error instanceof SyntaxError || (fastifyError.statusCode ?? 500) < 500) {
    return new AppError('malformed_request', 'the request could not be understood');
  }
  return new AppError('internal', 'an unexpected error occurred', { cause: error });
}
