/**
 * OpenTelemetry tracing (ADR 0025). Spans are made by hand at the few places
 * that matter — the request (traced-server.ts), each SQL statement
 * (query-observer.ts), Redis calls, jobs and outbound webhooks — rather than by
 * auto-instrumentation, which patches modules at load time (and under ESM needs
 * a loader hook). Off, nothing here allocates: every helper checks `tracingOn()`.
 */
import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { TracingConfig } from './tracing-config.ts';

export { SpanKind };

let contextInstalled = false;

/**
 * The async context manager and the W3C propagator, tracing or not: the
 * request scope (request-scope.ts) is a value in the same context.
 */
export function installContext(): void {
  if (contextInstalled) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  contextInstalled = true;
}

let provider: TracerProvider | undefined;

export const tracingOn = (): boolean => provider !== undefined;

function samplerFor(config: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
  }
}

export interface Tracing {
  /** Sends what is still buffered, then stops; call once, last thing before exit. */
  shutdown(): Promise<void>;
}

/** Starts exporting spans over OTLP/HTTP when `config` says so; a no-op otherwise. */
export function startTracing(config: TracingConfig | undefined, version: string): Tracing {
  installContext();
  if (config === undefined || provider !== undefined) return { shutdown: async () => {} };
  const started = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': config.serviceName,
      'service.version': version,
    }),
    sampler: samplerFor(config),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter(),
        scheduledDelayMillis: config.scheduleDelayMs,
      }),
    ],
  });
  trace.setGlobalTracerProvider(started);
  provider = started;
  return {
    async shutdown() {
      provider = undefined;
      await started.shutdown();
    },
  };
}

const tracer = () => trace.getTracer('tasklane');

/** Stands in for a span when tracing is off: every call on it does nothing. */
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export interface SpanSettings {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** The parent; the active context when absent. */
  readonly parent?: Context;
}

/** Marks `span` failed with `error`. */
export function failSpan(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/**
 * Runs `work` inside a new span, the active one for everything `work` awaits;
 * ends it when `work` settles, failed if it throws.
 */
export function inSpan<T>(
  name: string,
  settings: SpanSettings,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  if (provider === undefined) return work(NO_SPAN);
  const parent = settings.parent ?? context.active();
  const span = tracer().startSpan(name, settings, parent);
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Starts a span the caller ends (the request's, which outlives any one function). */
export function startSpan(name: string, settings: SpanSettings): Span {
  if (provider === undefined) return NO_SPAN;
  return tracer().startSpan(name, settings, settings.parent ?? context.active());
}

/** Records a span that already happened (a SQL statement, timed by Kysely), under the active one. */
export function recordSpan(
  name: string,
  settings: SpanSettings & {
    readonly startTime: number;
    readonly endTime: number;
    readonly error?: unknown;
  },
): void {
  if (provider === undefined) return;
  const span = tracer().startSpan(name, settings, settings.parent ?? context.active());
  if (settings.error !== undefined) failSpan(span, settings.error);
  span.end(settings.endTime);
}

/** The active span's W3C `traceparent`, to carry the trace into a job; undefined when off. */
export function activeTraceparent(): string | undefined {
  if (provider === undefined || trace.getSpan(context.active()) === undefined) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** Adds `traceparent` for the active span to outgoing `headers`. */
export function injectTraceHeaders(headers: Record<string, string>): void {
  if (provider !== undefined) propagation.inject(context.active(), headers);
}

/** The context a `traceparent` names, to continue its trace (a job, a request). */
export function contextFromHeaders(headers: Readonly<Record<string, unknown>>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}
