/**
 * Tracing is configured by OpenTelemetry's own variables, so an operator who
 * knows OpenTelemetry needs nothing else. It is off by default — unlike the
 * specification, which exports to localhost:4318 unless told otherwise — and
 * turns on when an OTLP endpoint is set or OTEL_TRACES_EXPORTER=otlp.
 * The exporter reads the OTEL_EXPORTER_OTLP_* variables (endpoint, headers,
 * timeout) itself; they are checked here so a typo fails at start.
 */
import { ConfigError, type Env, integer, text, url } from '../config-parse.ts';

export const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

export type SamplerName = (typeof SAMPLERS)[number];

export interface TracingConfig {
  readonly serviceName: string;
  readonly sampler: SamplerName;
  /** For the ratio samplers: the share of new traces kept, 0–1. */
  readonly samplerRatio: number;
  /** How long finished spans wait to be sent in one batch (OTEL_BSP_SCHEDULE_DELAY). */
  readonly scheduleDelayMs: number;
}

/** Undefined when tracing is off. */
export function tracingConfig(env: Env): TracingConfig | undefined {
  const exporter = text(env, 'OTEL_TRACES_EXPORTER');
  if (exporter !== undefined && exporter !== 'otlp' && exporter !== 'none') {
    throw new ConfigError(
      `OTEL_TRACES_EXPORTER must be otlp or none (Tasklane exports OTLP over HTTP), got "${exporter}"`,
    );
  }
  const endpoint =
    url(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:']) ??
    url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']);
  const disabled = text(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  if (disabled || exporter === 'none' || (endpoint === undefined && exporter !== 'otlp')) {
    return undefined;
  }
  const protocol =
    text(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? text(env, 'OTEL_EXPORTER_OTLP_PROTOCOL');
  if (protocol !== undefined && protocol !== 'http/json') {
    throw new ConfigError(
      `OTEL_EXPORTER_OTLP_PROTOCOL must be http/json (the exporter Tasklane ships), got "${protocol}"`,
    );
  }
  const sampler = (text(env, 'OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on') as SamplerName;
  if (!SAMPLERS.includes(sampler)) {
    throw new ConfigError(
      `OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(', ')}, got "${sampler}"`,
    );
  }
  const rawRatio = text(env, 'OTEL_TRACES_SAMPLER_ARG');
  const samplerRatio = rawRatio === undefined ? 1 : Number(rawRatio);
  if (!(samplerRatio >= 0 && samplerRatio <= 1)) {
    throw new ConfigError(
      `OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "${rawRatio}"`,
    );
  }
  return {
    serviceName: text(env, 'OTEL_SERVICE_NAME') ?? 'tasklane',
    sampler,
    samplerRatio,
    scheduleDelayMs: integer(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, 1, 3_600_000),
  };
}
