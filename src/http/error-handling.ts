import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HTTPMethods,
} from 'fastify';
import { sendProblem, toAppError } from './problem-response.ts';
import { AppError } from './problems.ts';
import { beginRequest, logRequestCompleted } from './request-context.ts';

const METHODS: readonly HTTPMethods[] = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
];

/** The methods some route answers on `path`, for 405's `Allow` header. */
function allowedMethods(app: FastifyInstance, path: string): HTTPMethods[] {
  return METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
}

/**
 * Every failure leaves as problem details: thrown AppErrors, schema validation,
 * body parsing, unknown routes and methods, and anything unexpected (a bare 500
 * whose cause is logged, never sent).
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const problem = toAppError(error);
    // A 503 without a cause is a refusal by design (a node ceiling, a sign-in limit
    // that cannot be checked); whoever refused logs it once, not once per request.
    const deliberate = problem.code === 'service_unavailable' && problem.cause === undefined;
    if (problem.status >= 500 && !deliberate) {
      request.log.error({ err: problem.cause ?? error }, 'request failed');
    }
    return sendProblem(request, reply, problem);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    const allowed = allowedMethods(app, path);
    if (allowed.length > 0) {
      return sendProblem(
        request,
        reply,
        new AppError('method_not_allowed', `${request.method} is not allowed here`, {
          headers: { allow: allowed.join(', ') },
        }),
      );
    }
    return sendProblem(
      request,
      reply,
      // The path is cut short: a refused URL can be huge, and the detail is for humans.
      new AppError('not_found', `no route for ${request.method} ${path.slice(0, 200)}`),
    );
  });
}

/**
 * Fastify's `frameworkErrors`: a request refused before routing (an undecodable URL,
 * an over-long path segment). No hook runs for it, so it gets its request id, its
 * trace and its log line here, like every other request.
 */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  beginRequest(request, reply);
  sendProblem(request, reply, toAppError(error));
  logRequestCompleted(request, reply);
}
