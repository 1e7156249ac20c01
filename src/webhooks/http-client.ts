/**
 * Outbound webhook requests with undici: one POST, a deadline for the whole
 * attempt, no redirects followed (a 3xx is a failure: following one would let a
 * public URL bounce us to a private one), and at most RESPONSE_READ_LIMIT bytes
 * of a response read, whatever the receiver sends.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { Agent, request } from 'undici';
import { injectTraceHeaders, inSpan, SpanKind } from '../observability/tracing.ts';
import type { AttemptResult } from './retry-policy.ts';
import { parseRetryAfter } from './retry-policy.ts';
import { BlockedTargetError, guardedLookup, literalTargetRefusal } from './ssrf.ts';

const RESPONSE_READ_LIMIT = 64 * 1024;
export const RESPONSE_SNIPPET_LIMIT = 1024;
const ERROR_LIMIT = 300;
const USER_AGENT = 'Tasklane-Webhooks/1';

export interface SentAttempt {
  readonly result: AttemptResult;
  readonly durationMs: number;
  /** The start of the response body (text), for the delivery's history. */
  readonly snippet: string | null;
}

export interface WebhookSender {
  send(url: string, headers: Record<string, string>, body: string): Promise<SentAttempt>;
  close(): Promise<void>;
}

export interface SenderOptions {
  readonly timeoutMs: number;
  /** Off: private, loopback and link-local targets are refused (ADR 0019). */
  readonly allowPrivateTargets: boolean;
}

/** One sender per worker: its agent keeps connections to receivers alive between deliveries. */
export function webhookSender(options: SenderOptions): WebhookSender {
  const agent = new Agent({
    connect: {
      timeout: options.timeoutMs,
      ...(options.allowPrivateTargets ? {} : { lookup: guardedLookup }),
    },
    allowH2: false,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    keepAliveTimeout: 10_000,
  });

  return {
    send: (url, headers, body) => {
      // The span names the receiver without its query string, which may hold a token.
      const target = new URL(url);
      return inSpan(
        'POST',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.request.method': 'POST',
            'server.address': target.hostname,
            'url.full': `${target.origin}${target.pathname}`,
          },
        },
        async (span) => {
          const sent = await attempt(url, headers, body);
          const { result } = sent;
          if (result.kind === 'response') {
            span.setAttribute('http.response.status_code', result.status);
            if (result.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
          } else {
            span.setStatus({ code: SpanStatusCode.ERROR, message: result.kind });
          }
          return sent;
        },
      );
    },
    close: () => agent.close(),
  };

  async function attempt(
    url: string,
    headers: Record<string, string>,
    body: string,
  ): Promise<SentAttempt> {
    {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const refusal = options.allowPrivateTargets ? undefined : literalTargetRefusal(new URL(url));
      if (refusal) return { result: failure(refusal), durationMs: 0, snippet: null };
      try {
        const response = await request(url, {
          method: 'POST',
          dispatcher: agent,
          headers: outgoingHeaders(headers),
          body,
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        const snippet = await readSnippet(response.body);
        const retryAfter = response.headers['retry-after'];
        const retryAfterMs = parseRetryAfter(
          Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        );
        return {
          result: {
            kind: 'response',
            status: response.statusCode,
            ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          },
          durationMs: elapsed(),
          snippet,
        };
      } catch (error) {
        return { result: failure(error), durationMs: elapsed(), snippet: null };
      }
    }
  }
}

/** The signed headers, ours, and the trace's `traceparent` so the receiver can join it. */
function outgoingHeaders(signed: Record<string, string>): Record<string, string> {
  const headers = { ...signed, 'content-type': 'application/json', 'user-agent': USER_AGENT };
  injectTraceHeaders(headers);
  return headers;
}

/** Reads up to the snippet, drains up to the read limit, then drops the connection. */
async function readSnippet(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let readBytes = 0;
  for await (const chunk of body) {
    if (keptBytes < RESPONSE_SNIPPET_LIMIT) {
      const part = chunk.subarray(0, RESPONSE_SNIPPET_LIMIT - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    readBytes += chunk.length;
    if (readBytes > RESPONSE_READ_LIMIT) {
      body.destroy();
      break;
    }
  }
  // A multi-byte character cut at the limit decodes as U+FFFD; that is fine for a snippet.
  return Buffer.concat(kept).toString('utf8');
}

/** A short, stable description of why no response came: what the attempt records. */
function failure(error: unknown): AttemptResult {
  if (error instanceof BlockedTargetError) return { kind: 'error', error: error.message };
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof BlockedTargetError) return { kind: 'error', error: cause.message };
  const { name, code, message } = error as { name?: string; code?: string; message?: string };
  if (name === 'TimeoutError' || code?.endsWith('_TIMEOUT')) {
    return { kind: 'error', error: 'timed out' };
  }
  const text = [code, message].filter(Boolean).join(': ') || String(error);
  return { kind: 'error', error: text.slice(0, ERROR_LIMIT) };
}
