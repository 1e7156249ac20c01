// One autocannon run of one scenario, reduced to the numbers the report needs.
import autocannon from 'autocannon';
import type { Scenario } from './scenarios.ts';

export interface Sample {
  readonly scenario: string;
  readonly round: number;
  /** Mean of autocannon's once-a-second samples. */
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly responses: number;
  readonly non2xx: number;
  /** Connection errors, timeouts included. */
  readonly errors: number;
  readonly statusCodes: Readonly<Record<string, number>>;
}

export interface Load {
  readonly connections: number;
  /** Seconds. */
  readonly duration: number;
}

export async function measure(
  scenario: Scenario,
  baseUrl: string,
  headers: Record<string, string>,
  load: Load,
  round: number,
): Promise<Sample> {
  const result = await autocannon({
    url: baseUrl,
    connections: load.connections,
    duration: load.duration,
    headers,
    title: scenario.name,
    requests: [
      {
        setupRequest(request) {
          const next = scenario.next();
          request.method = next.method;
          request.path = next.path;
          request.headers = { ...request.headers, ...next.headers };
          if (next.body !== undefined) request.body = next.body;
          return request;
        },
      },
    ],
  });
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, Number(count)]),
  );
  return {
    scenario: scenario.name,
    round,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    responses: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    statusCodes,
  };
}
