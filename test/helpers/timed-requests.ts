// HTTP through a real socket, each answer with when it was sent and when it was
// in: for end-to-end tests that reason about time (bursts, load, outages).

/** One request's outcome. Never throws: no answer at all is status 0. */
export interface TimedAnswer {
  /** Which of the test's servers answered (the caller's numbering). */
  readonly node: number;
  /** 0 when no answer came (connection error, or none within the timeout). */
  readonly status: number;
  readonly headers: Headers;
  /** The JSON body; `{ text }` when it is not JSON, `{ error }` when there was no answer. */
  readonly body: Record<string, any>;
  /** performance.now() when sent, and when the whole body was in. */
  readonly sentAt: number;
  readonly doneAt: number;
}

export interface TimedRequest {
  readonly method?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Sent as an application/json body. */
  readonly json?: unknown;
  /** Longest wait for the whole answer (default 5000 ms). */
  readonly timeoutMs?: number;
}

/** Sends one request to `baseUrl` + `url` and times it. */
export async function timedRequest(
  node: number,
  baseUrl: string,
  url: string,
  request: TimedRequest = {},
): Promise<TimedAnswer> {
  const headers: Record<string, string> = {};
  if (request.token) headers.authorization = `Bearer ${request.token}`;
  if (request.json !== undefined) headers['content-type'] = 'application/json';
  const sentAt = performance.now();
  try {
    const response = await fetch(`${baseUrl}${url}`, {
      method: request.method ?? 'GET',
      headers,
      body: request.json === undefined ? undefined : JSON.stringify(request.json),
      signal: AbortSignal.timeout(request.timeoutMs ?? 5000),
    });
    const text = await response.text();
    const body = text.startsWith('{') ? JSON.parse(text) : { text };
    const { status, headers: received } = response;
    return { node, status, headers: received, body, sentAt, doneAt: performance.now() };
  } catch (error) {
    const body = { error: String(error) };
    return { node, status: 0, headers: new Headers(), body, sentAt, doneAt: performance.now() };
  }
}

/** How many answers had each status, e.g. `{ 200: 30, 429: 60 }`. */
export function statusCounts(answers: readonly TimedAnswer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of answers) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** From the first request sent to the last answer in: every server-side decision lies inside. */
export function spanMs(answers: readonly TimedAnswer[]): number {
  const first = Math.min(...answers.map((answer) => answer.sentAt));
  const last = Math.max(...answers.map((answer) => answer.doneAt));
  return last - first;
}

/** The sum of a Prometheus counter's samples that carry all of `labels`, from /metrics text. */
export function counterValue(
  metricsText: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}
