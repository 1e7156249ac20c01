import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Context, context, ROOT_CONTEXT, type Span, trace } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '../auth/principal.ts';
import { contextFromHeaders, SpanKind, startSpan, tracingOn } from '../observability/tracing.ts';
import { newWorkScope, type WorkScope, withWorkScope } from '../observability/work-scope.ts';

/** A W3C trace context: this request's span inside the caller's trace. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly flags: string;
}

/** The request's place in the async context: its work scope, and its span when tracing. */
export interface RequestWork {
  readonly context: Context;
  readonly scope: WorkScope;
  readonly span: Span | undefined;
  /** The span's ids as the response's traceparent gives them. */
  readonly trace: TraceContext | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    trace: TraceContext;
    work: RequestWork | null;
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
export function beginRequest(
  request: FastifyRequest,
  reply: FastifyReply,
  traced?: TraceContext,
): void {
  request.trace = traced ?? traceContextFor(request.headers.traceparent);
  reply.header('x-request-id', request.id);
  reply.header('traceparent', formatTraceparent(request.trace));
  // Every line this request logs, not only the last, names its trace and route.
  (request.log as { setBindings?(b: object): void }).setBindings?.({
    trace_id: request.trace.traceId,
    route: request.routeOptions.url ?? null,
  });
}

function traceContextOfSpan(span: Span, parent: Context): TraceContext {
  const ids = span.spanContext();
  return {
    traceId: ids.traceId,
    spanId: ids.spanId,
    parentSpanId: trace.getSpanContext(parent)?.spanId,
    flags: ids.traceFlags.toString(16).padStart(2, '0'),
  };
}

/**
 * The request's work scope and, when tracing, its server span — a child of the
 * caller's `traceparent` — made active for everything the request runs.
 */
function beginWork(request: FastifyRequest): RequestWork {
  const scope = newWorkScope(request.log);
  if (!tracingOn()) {
    return {
      context: withWorkScope(ROOT_CONTEXT, scope),
      scope,
      span: undefined,
      trace: undefined,
    };
  }
  const parent = contextFromHeaders(request.headers);
  const route = request.routeOptions.url;
  const span = startSpan(route ? `${request.method} ${route}` : request.method, {
    kind: SpanKind.SERVER,
    parent,
    attributes: {
      'http.request.method': request.method,
      'url.path': request.url.split('?', 1)[0],
      ...(route ? { 'http.route': route } : {}),
    },
  });
  return {
    context: withWorkScope(trace.setSpan(parent, span), scope),
    scope,
    span,
    trace: traceContextOfSpan(span, parent),
  };
}

function endSpan(request: FastifyRequest, reply: FastifyReply): void {
  const span = request.work?.span;
  if (span === undefined) return;
  span.setAttribute('http.response.status_code', reply.statusCode);
  if (reply.statusCode >= 500) span.setStatus({ code: 2 /* SpanStatusCode.ERROR */ });
  span.end();
}

export interface RequestLogOptions {
  /** A request at least this slow is logged as `slow request`, at warn; 0: never. */
  readonly slowRequestMs: number;
}

/**
 * The one log line per request, with only what is safe to keep: no body, query or
 * headers. trace_id, route and team_id come from the logger's bindings.
 */
export function logRequestCompleted(
  request: FastifyRequest,
  reply: FastifyReply,
  options: RequestLogOptions = { slowRequestMs: 0 },
): void {
  const status = reply.statusCode;
  const durationMs = Math.round(reply.elapsedTime * 100) / 100;
  const slow = options.slowRequestMs > 0 && durationMs >= options.slowRequestMs;
  // A 503 is a refusal by design (shedding, draining, a sign-in limit that cannot be
  // checked): worth a look, not a page. Other 5xx are failures.
  const level = status === 503 || slow ? 'warn' : status >= 500 ? 'error' : 'info';
  const scope = request.work?.scope;
  request.log[level](
    {
      method: request.method,
      path: request.url.split('?', 1)[0],
      status,
      duration_ms: durationMs,
      user_id: request.principal?.userId ?? null,
      // Where the time went: the database's share, and the rest (our code, the network).
      ...(scope && {
        db_queries: scope.dbQueries,
        db_ms: Math.round(scope.dbMs * 100) / 100,
        slowest_query_ms: Math.round(scope.slowestQueryMs * 100) / 100,
      }),
    },
    slow ? 'slow request' : 'request completed',
  );
}

/** Request id and trace headers on every response, and one log line per request. */
export function registerRequestContext(
  app: FastifyInstance,
  options: RequestLogOptions = { slowRequestMs: 0 },
): void {
  app.decorateRequest('trace', null as unknown as TraceContext);
  app.decorateRequest('work', null);
  app.decorateRequest('principal', null);
  // Callback hooks, not async ones: `done` runs the rest of the request inside
  // `context.with`, so what it awaits sees the scope. Reading a body ends in a
  // stream event, outside that context, so preValidation enters it again.
  app.addHook('onRequest', (request, reply, done) => {
    request.work = beginWork(request);
    context.with(request.work.context, () => {
      beginRequest(request, reply, request.work?.trace);
      done();
    });
  });
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.work) context.with(request.work.context, done);
    else done();
  });
  app.addHook('onResponse', async (request, reply) => {
    endSpan(request, reply);
    logRequestCompleted(request, reply, options);
  });
}
