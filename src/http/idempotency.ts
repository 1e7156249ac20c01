import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { Type } from 'typebox';
import type { Principal } from '../auth/principal.ts';
import type { AppDeps } from '../deps.ts';
import type { StoredResponse } from './idempotency.repository.ts';
import {
  abandonIdempotentRequest,
  beginIdempotentRequest,
  type Claim,
  finishIdempotentRequest,
} from './idempotency.service.ts';
import {
  IDEMPOTENCY_HEADER,
  parseIdempotencyKey,
  refusesIdempotency,
  requestFingerprint,
  takesIdempotencyKey,
} from './idempotency-key.ts';
import { problemResponse } from './openapi-responses.ts';
import { AppError } from './problems.ts';

export const REPLAYED_HEADER = 'idempotent-replayed';

/**
 * The response headers replayed with the body: the representation's own
 * (content-type, etag), where the created resource is (location), and what the
 * client must obey (cache-control, retry-after). Per-request headers (request id,
 * traceparent, rate limit, date, connection) belong to the retry and are its own.
 */
const STORED_HEADERS = ['content-type', 'location', 'etag', 'cache-control', 'retry-after'];

/**
 * The idempotency scope of a caller. A string, so API keys (a later issue) can
 * choose their own scope without a schema change.
 */
export function idempotencyScope(principal: Principal): string {
  return `user:${principal.userId}`;
}

const keys = new WeakMap<FastifyRequest, string>();
const claims = new WeakMap<FastifyRequest, Claim>();

function refused(detail: string): AppError {
  return new AppError('malformed_request', `Idempotency-Key ${detail}`, {
    errors: [{ header: IDEMPOTENCY_HEADER, detail }],
  });
}

/**
 * preValidation: after authentication (onRequest), before schema validation, so a
 * bad header answers 400 like any other malformed part of a request.
 */
async function readKey(request: FastifyRequest): Promise<void> {
  const header = request.headers[IDEMPOTENCY_HEADER];
  if (header === undefined || !takesIdempotencyKey(request.method, request.routeOptions.url)) {
    return;
  }
  if (refusesIdempotency(request.routeOptions.url ?? '', request.routeOptions.config)) {
    throw refused(
      'is not accepted on this route: its response carries credentials, which are never stored',
    );
  }
  // Every other /v1 write authenticates; a route that does not has no caller to scope by.
  if (!request.principal) throw refused('needs an authenticated caller');
  keys.set(request, parseIdempotencyKey(header));
}

/**
 * preHandler: authentication and validation have passed, the handler is next.
 * Claims the key (committed before the handler runs), or answers without running it.
 */
function claimOrAnswer(deps: AppDeps) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const key = keys.get(request);
    if (key === undefined || !request.principal) return;
    const path = request.url.split('?', 1)[0] ?? '/';
    const fingerprint = requestFingerprint(request.method, path, request.query, request.body);
    const scope = idempotencyScope(request.principal);
    const beginning = await beginIdempotentRequest(deps.db, scope, key, fingerprint, new Date());
    if (beginning.kind === 'claimed') {
      claims.set(request, beginning.claim);
      return;
    }
    const { status, headers, body } = beginning.response;
    reply
      .code(status)
      .headers({ ...headers, [REPLAYED_HEADER]: 'true' })
      .send(body ?? undefined);
    return reply;
  };
}

/** What onSend may be given, as stored text; undefined when it cannot be stored (a stream). */
function storableBody(payload: unknown): string | null | undefined {
  if (payload === undefined || payload === null) return null;
  if (typeof payload === 'string') return payload;
  if (Buffer.isBuffer(payload)) return payload.toString('utf8');
  return undefined;
}

function storedHeaders(reply: FastifyReply): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = reply.getHeader(name);
    if (value !== undefined)
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return headers;
}

/**
 * onSend: the serialized payload and the final status, whoever produced them (the
 * handler, or the error handler for a thrown error, 5xx included). Stored before the
 * response leaves, so a client that retries the moment it hears back gets a replay.
 */
function storeOnSend(deps: AppDeps) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const claim = claims.get(request);
    if (!claim) return payload;
    claims.delete(request);
    const body = storableBody(payload);
    try {
      if (body === undefined) {
        await abandonIdempotentRequest(deps.db, claim);
        request.log.warn('idempotency: a streamed response cannot be stored; the key was released');
        return payload;
      }
      const response: StoredResponse = {
        status: reply.statusCode,
        headers: storedHeaders(reply),
        body,
      };
      if (!(await finishIdempotentRequest(deps.db, claim, response, new Date()))) {
        request.log.warn(
          'idempotency: the claim was taken over after its lease; response not stored',
        );
      }
    } catch (error) {
      // The handler's work is done and its response is the truth: send it. The key
      // stays in flight (409 to retries) until its lease ends, then a retry runs anew.
      request.log.error({ err: error }, 'idempotency: storing the response failed');
    }
    return payload;
  };
}

const KEY_DESCRIPTION =
  'Makes the write safe to retry: 1–255 visible ASCII characters, bare or as a quoted string. The response is kept 24 h per (caller, key); a retry of the same request replays it with `Idempotent-Replayed: true`.';

/** Documents the header and its problems on every route that takes it. */
function documentIdempotency(route: RouteOptions): void {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  if (!methods.some((method) => takesIdempotencyKey(method, route.url))) return;
  if (refusesIdempotency(route.url, route.config)) return;
  route.schema ??= {};
  type ObjectSchema = { properties?: Record<string, unknown> };
  const schema = route.schema as { headers?: ObjectSchema; response?: object };
  // A plain string here: the format is checked by readKey (400), not by the schema (422).
  const property = Type.Optional(Type.String({ description: KEY_DESCRIPTION }));
  const headers: ObjectSchema = schema.headers ?? Type.Object({});
  schema.headers = {
    ...headers,
    properties: { ...headers.properties, [IDEMPOTENCY_HEADER]: property },
  };
  schema.response ??= {};
  const response = schema.response as Record<string, unknown>;
  response[409] ??= problemResponse(409);
  response[422] ??= problemResponse(422);
}

/**
 * Idempotency-Key on POST and PATCH under /v1 (API.md "Writes"; ADR 0012). Called
 * before any route is registered, so its hooks run ahead of every route's own
 * preHandlers and its onRoute hook sees every route.
 */
export function registerIdempotency(app: FastifyInstance, deps: AppDeps): void {
  app.addHook('onRoute', documentIdempotency);
  app.addHook('preValidation', readKey);
  app.addHook('preHandler', claimOrAnswer(deps));
  app.addHook('onSend', storeOnSend(deps));
}
