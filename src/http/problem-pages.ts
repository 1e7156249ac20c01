import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { problems } from './openapi-responses.ts';
import { AppError, type ProblemCode, problemCatalogue, problemSlug } from './problems.ts';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(code: ProblemCode): string {
  const { status, title, description } = problemCatalogue[code];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — Tasklane</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>${escapeHtml(title)}</h1>
<p><strong>HTTP ${status}</strong> · code <code>${code}</code></p>
<p>${escapeHtml(description).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>
<p><a href="/docs">API reference</a></p>
</body></html>`;
}

/** `GET /problems/<slug>`: the human page behind each problem `type`. */
export function registerProblemPages(app: FastifyInstance): void {
  const codes = Object.keys(problemCatalogue) as ProblemCode[];
  const bySlug = new Map(codes.map((code) => [problemSlug(code), code]));
  app.get(
    '/problems/:slug',
    {
      schema: {
        tags: ['meta'],
        summary: 'A human page describing one problem type',
        params: Type.Object({
          slug: Type.String({ description: `One of: ${[...bySlug.keys()].join(', ')}` }),
        }),
        response: {
          200: { description: 'HTML page', content: { 'text/html': { schema: Type.String() } } },
          ...problems(404),
        },
      },
    },
    async (request, reply) => {
      const { slug } = request.params as { slug: string };
      const code = bySlug.get(slug);
      if (!code) throw new AppError('not_found', `there is no problem type "${slug}"`);
      return reply.type('text/html; charset=utf-8').send(page(code));
    },
  );
}
