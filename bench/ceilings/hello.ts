// Ceiling (1): bare Fastify answering a small JSON object — the HTTP ceiling.
// Started by bench/run.ts as its own process: PORT is set by the runner.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/hello', async () => ({ hello: 'world' }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
