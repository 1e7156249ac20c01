import { type ELDHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendProblem } from './problem-response.ts';
import { AppError } from './problems.ts';

/** How much a request may be refused when the node is overloaded. */
export type ShedPriority = 'low' | 'normal' | 'auth' | 'never';

/** The signals read on each sample interval. */
export interface LoadSignals {
  /** The p99 event-loop delay over the last interval, beyond the timer's own period (ms). */
  readonly eventLoopDelayMs: number;
  readonly heapUsedBytes: number;
}

export interface LoadSheddingOptions {
  /** p99 event-loop delay (ms) at which the node is under pressure; 0 disables the signal. */
  readonly maxEventLoopDelayMs: number;
  /** V8 heap used (bytes) at which the node is under pressure; 0 disables the signal. */
  readonly maxHeapUsedBytes: number;
  /** Requests in flight on this node at which a new one is under pressure; 0 disables it. */
  readonly maxInFlight: number;
  /**
   * A request's priority, asked in onRequest and only under pressure. `routeOptions.url`
   * is the route's pattern, undefined for an unknown URL.
   */
  readonly priorityOf: (request: FastifyRequest) => ShedPriority;
  /** Told of every refusal, e.g. to count it. */
  readonly onShed?: (priority: ShedPriority) => void;
  /** Replaces the real signals (tests). */
  readonly sample?: () => LoadSignals;
  /** How often the signals are read; 1000 when absent. */
  readonly sampleIntervalMs?: number;
}

/** What the module exposes: the numbers for metrics, and a manual tick for tests. */
export interface LoadShedder {
  /** Reads the signals now, as each interval does. */
  sampleNow(): void;
  /** Requests admitted on this node whose response is not finished yet. */
  readonly inFlight: number;
  /** The worst signal/threshold ratio right now; shedding starts at 1. */
  readonly pressure: number;
}

/** The pressure from which each priority is shed. */
const SHED_FROM: Readonly<Record<ShedPriority, number>> = {
  low: 1,
  normal: 1.5,
  auth: 2,
  never: Number.POSITIVE_INFINITY,
};

// Spread over 1–3 s: with one fixed value every shed client comes back in the same
// second, a second wave against a node that re-reads its signals only once a second.
const SHED_ANSWERS = [1, 2, 3].map((seconds) => {
  const headers = { 'retry-after': String(seconds) };
  return new AppError('service_unavailable', 'this node is overloaded; retry shortly', { headers });
});

const DEFAULT_SAMPLE_INTERVAL_MS = 1000;
const EVENT_LOOP_RESOLUTION_MS = 10;

/**
 * Refuses the least important requests first when this node is overloaded, in
 * onRequest before any other work: no token check, no body read, no SQL. Register it
 * right after the request context (so a refusal still has its request id and log
 * line) and before every other onRequest hook.
 *
 * Pressure is the worst ratio of signal to threshold over the enabled signals:
 * - event-loop delay, the p99 over the last interval (one GC pause in a second of
 *   ~100 timer ticks is ignored, a run of slow ticks is not), reset every interval;
 * - V8 heap used, read once per interval, never per request;
 * - requests in flight on this node, counted here from admission until the response
 *   closes (finished, failed or abandoned by the client). A refused one never counts.
 *
 * Steps: pressure ≥ 1 sheds `low`, ≥ 1.5 also `normal`, ≥ 2 also `auth`; `never`
 * (health checks, metrics) always answers, so an overloaded node is not also killed
 * or pulled by its orchestrator, which would move its load onto the others. Sign-in
 * and refresh go last: a client refused a refresh falls back to a password login,
 * which costs more (argon2) than the refresh it was refused.
 *
 * A refusal is a 503 `service_unavailable` problem with `Retry-After` (1–3 s) and
 * `Cache-Control: no-store`. One warn line when shedding starts, one info line when
 * an interval passes without pressure; none per request.
 */
export function registerLoadShedding(
  app: FastifyInstance,
  options: LoadSheddingOptions,
): LoadShedder {
  const { maxEventLoopDelayMs, maxHeapUsedBytes, maxInFlight, priorityOf } = options;
  let histogram: ELDHistogram | undefined;
  const sample = options.sample ?? (() => readSignals(histogram));

  let signals: LoadSignals = { eventLoopDelayMs: 0, heapUsedBytes: 0 };
  let sampledPressure = 0;
  let inFlight = 0;
  // Set when a request found in-flight pressure since the last tick: requests come and
  // go between ticks, and that pressure must not end an episode it is still part of.
  let inFlightPressed = false;
  let episode: { readonly since: number; peak: number; shed: number } | undefined;

  const pressure = () => Math.max(sampledPressure, ratio(inFlight, maxInFlight));
  const release = () => {
    inFlight -= 1;
  };

  const startOrPeak = (current: number) => {
    if (episode) {
      episode.peak = Math.max(episode.peak, current);
      return episode;
    }
    episode = { since: performance.now(), peak: current, shed: 0 };
    app.log.warn(
      {
        pressure: round(current, 2),
        event_loop_delay_ms: round(signals.eventLoopDelayMs, 1),
        heap_used_bytes: signals.heapUsedBytes,
        in_flight: inFlight,
      },
      'load shedding started',
    );
    return episode;
  };

  const sampleNow = () => {
    signals = sample();
    sampledPressure = Math.max(
      ratio(signals.eventLoopDelayMs, maxEventLoopDelayMs),
      ratio(signals.heapUsedBytes, maxHeapUsedBytes),
    );
    const current = pressure();
    const pressed = current >= 1 || inFlightPressed;
    inFlightPressed = false;
    if (pressed) startOrPeak(current);
    else if (episode) {
      app.log.info(
        {
          shed: episode.shed,
          peak_pressure: round(episode.peak, 2),
          duration_ms: Math.round(performance.now() - episode.since),
        },
        'load shedding stopped',
      );
      episode = undefined;
    }
  };

  app.addHook('onRequest', async (request, reply) => {
    const current = pressure();
    if (current >= 1) {
      if (ratio(inFlight, maxInFlight) >= 1) inFlightPressed = true;
      const open = startOrPeak(current);
      const priority = priorityOf(request);
      if (current >= SHED_FROM[priority]) {
        open.shed += 1;
        options.onShed?.(priority);
        const answer = SHED_ANSWERS[Math.floor(Math.random() * SHED_ANSWERS.length)]!;
        // Sent here, not thrown: the error handler would log every refusal as a failure.
        return sendProblem(request, reply, answer);
      }
    }
    inFlight += 1;
    // 'close' fires once for every response: finished, failed, or its client gone.
    reply.raw.once('close', release);
  });

  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    if (!options.sample && maxEventLoopDelayMs > 0) {
      histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
      histogram.enable();
    }
    timer = setInterval(sampleNow, options.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    histogram?.disable();
  });

  return {
    sampleNow,
    get inFlight() {
      return inFlight;
    },
    get pressure() {
      return pressure();
    },
  };
}

function readSignals(histogram: ELDHistogram | undefined): LoadSignals {
  // Each value is the time between two ticks of a 10 ms timer: the delay is what
  // exceeds the 10 ms. reset() also forgets the last tick, so a stall in the first
  // ~10 ms after it is lost; a sustained one shows in the ticks that follow.
  const p99 = histogram && histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0;
  histogram?.reset();
  return {
    eventLoopDelayMs: Math.max(0, p99 - EVENT_LOOP_RESOLUTION_MS),
    heapUsedBytes: process.memoryUsage().heapUsed,
  };
}

/** `value / limit`, or 0 when the signal is disabled (limit 0). */
function ratio(value: number, limit: number): number {
  return limit > 0 ? value / limit : 0;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
