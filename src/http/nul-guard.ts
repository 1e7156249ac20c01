import type { FastifyInstance } from 'fastify';
import { AppError, type FieldError } from './problems.ts';

const NUL = '\u0000';
const DETAIL = 'must not contain the NUL character (U+0000)';

const pointerToken = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The JSON Pointer of the first string (value or key) in `root` that holds a NUL.
 * Iterative: a 1 MiB body can nest deeper than the call stack.
 */
function nulPointer(root: unknown): string | undefined {
  const pending: [unknown, string][] = [[root, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, pointer] = next;
    if (typeof value === 'string') {
      if (value.includes(NUL)) return pointer;
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const path = `${pointer}/${pointerToken(key)}`;
        if (key.includes(NUL)) return path;
        pending.push([item, path]);
      }
    }
  }
  return undefined;
}

/**
 * PostgreSQL text cannot hold U+0000, yet valid JSON (`"\u0000"`) and a query string
 * (`%00`) can carry it; it would fail inside a query as a 500. Refused at the edge
 * instead, as the 422 it is, naming the field.
 */
export function registerNulGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const errors: FieldError[] = [];
    const pointer = nulPointer(request.body);
    if (pointer !== undefined) errors.push({ pointer, detail: DETAIL });
    for (const part of [request.params, request.query]) {
      for (const [name, value] of Object.entries(part ?? {})) {
        if (nulPointer(value) !== undefined) errors.push({ parameter: name, detail: DETAIL });
      }
    }
    const first = errors[0];
    if (first) {
      const where = first.pointer?.slice(1) || first.parameter || 'body';
      throw new AppError('validation_failed', `${where} ${DETAIL}`, { errors });
    }
  });
}
