// PORT=<port> node bench/observability/span-sink.ts
//
// An OTLP/HTTP trace collector that keeps nothing, for bench/observability/overhead.ts:
// it answers every POST at once with 200 and counts what it was sent, by the
// path before `/v1/traces`, so several Tasklane processes can share it and still
// be told apart (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:<port>/<name>).
// `GET /counts` answers { "<name>": { exports, spans, bytes } } as JSON.
// Its own process, so reading the exports never delays the load generator's event loop.
import http from 'node:http';

export interface SinkCounts {
  /** POSTs received. */
  exports: number;
  /** `"spanId"` keys in the JSON bodies: one per span (links and parent ids use other keys). */
  spans: number;
  bytes: number;
}

const SPAN_ID = Buffer.from('"spanId"');

function countSpans(body: Buffer): number {
  let count = 0;
  for (let at = body.indexOf(SPAN_ID); at >= 0; at = body.indexOf(SPAN_ID, at + SPAN_ID.length)) {
    count += 1;
  }
  return count;
}

const counts: Record<string, SinkCounts> = {};

const server = http.createServer((request, response) => {
  const url = request.url ?? '/';
  if (request.method === 'GET' && url === '/counts') {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
    return;
  }
  if (request.method !== 'POST') {
    response.writeHead(request.method === 'GET' ? 200 : 405).end();
    return;
  }
  const name = url.replace(/\/v1\/traces$/, '').replace(/^\//, '') || '(root)';
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    const entry = counts[name] ?? { exports: 0, spans: 0, bytes: 0 };
    counts[name] = entry;
    entry.exports += 1;
    entry.spans += countSpans(body);
    entry.bytes += body.length;
    // An empty ExportTraceServiceResponse: everything accepted.
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
