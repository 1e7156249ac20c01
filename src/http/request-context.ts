import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '../auth/principal.ts';

/** A W3C trace context: this request's span inside the caller's trace. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly flags: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    trace: TraceContext;
  }
}

// Letters, digits and the punctuation ids are made of (UUIDs, ULIDs, base64), ≤ 128.
const SANE_REQUEST_ID = /^[A-Za-z0-9._~:/+=@-]{1,128}$/;

/** Echo the caller's X-Request-Id when it is a sane token, else make one. */
export function requestIdFor(raw: IncomingMessage): string {
  const given = raw.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

// Version 00 is exactly four fields; a later version may append more, and its first
// four are read the same way (W3C Trace Context §3.2.4). Version ff is invalid.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ALL_ZERO = /^0+$/;

/**
 * Continues the caller's trace when `traceparent` is valid (W3C Trace Context,
 * version 00), else starts a new one. Either way this request gets its own span id.
 */
export function traceContextFor(header: string | string[] | undefined): TraceContext {
  const match = typeof header === 'string' ? TRACEPARENT.exec(header.trim()) : null;
  // One draw of entropy per request: a span id, and a trace id in case we start one.
  const ids = randomBytes(24).toString('hex');
  const spanId = ids.slice(0, 16);
  if (match) {
    const [, version, traceId, parentId, flags, rest] = match as unknown as string[];
    const validVersion = version === '00' ? rest === undefined : version !== 'ff';
    if (validVersion && !ALL_ZERO.test(traceId!) && !ALL_ZERO.test(parentId!)) {
      return { traceId: traceId!, spanId, parentSpanId: parentId!, flags: flags! };
    }
  }
  return { traceId: ids.slice(16), spanId, parentSpanId: undefined, flags: '00' };
}

export function formatTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}

/** Gives `request` its trace and puts its ids on the response, before anything can fail. */
export function beginRequest(request: FastifyRequest, reply: FastifyReply): void {
  request.trace = traceContextFor(request.headers.traceparent);
  reply.header('x-request-id', request.id);
  reply.header('traceparent', formatTraceparent(request.trace));
}

/** The one log line per request, with only what is safe to keep: no body, query or headers. */
export function logRequestCompleted(request: FastifyRequest, reply: FastifyReply): void {
  const status = reply.statusCode;
  // A 503 is a refusal by design (shedding, draining, a sign-in limit that cannot be
  // checked): worth a look, not a page. Other 5xx are failures.
  const level = status === 503 ? 'warn' : status >= 500 ? 'error' : 'info';
  request.log[level](
    {
      method: request.method,
      route: request.routeOptions.url ?? null,
      path: request.url.split('?', 1)[0],
      status,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      trace_id: request.trace.traceId,
      user_id: request.principal?.userId ?? null,
    },
    'request completed',
  );
}

/** Request id and trace headers on every response, and one log line per request. */
export function registerRequestContext(app: FastifyInstance): void {
  app.decorateRequest('trace', null as unknown as TraceContext);
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => beginRequest(request, reply));
  app.addHook('onResponse', async (request, reply) => logRequestCompleted(request, reply));
}
