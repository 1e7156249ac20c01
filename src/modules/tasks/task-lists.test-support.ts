// Shared by the task-list tests: requests to the list routes, and walks through
// their pages by following `Link: rel="next"`.
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { body, type TestUser } from '../../../test/helpers/factories.ts';
import type { TestTask } from '../../../test/helpers/task-factories.ts';

export interface TaskPageBody {
  data: TestTask[];
  next_cursor: string | null;
}

export function getList(
  app: FastifyInstance,
  user: TestUser,
  url: string,
): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url, headers: user.auth });
}

/** The page of a 200 answer (asserted). */
export function pageOf(response: LightMyRequestResponse): TaskPageBody {
  assert.equal(response.statusCode, 200, response.body);
  return body<TaskPageBody>(response);
}

/** The titles of a 200 answer's tasks, in order. */
export async function titles(app: FastifyInstance, user: TestUser, url: string): Promise<string[]> {
  return pageOf(await getList(app, user, url)).data.map((task) => task.title);
}

/** The URL inside `Link: <…>; rel="next"`, or undefined when there is none. */
export function nextLink(response: LightMyRequestResponse): string | undefined {
  const header = response.headers.link;
  if (header === undefined) return undefined;
  const match = /^<([^>]+)>; rel="next"$/.exec(String(header));
  assert.ok(match, `unexpected Link header: ${header}`);
  return match[1];
}

/**
 * Follows `Link: rel="next"` from `url` to the end and returns every task served,
 * in order; `between` runs after each page (to change the data mid-walk).
 */
export async function walk(
  app: FastifyInstance,
  user: TestUser,
  url: string,
  between: () => Promise<void> = async () => {},
): Promise<{ tasks: TestTask[]; pages: number }> {
  const tasks: TestTask[] = [];
  let pages = 0;
  let next: string | undefined = url;
  while (next !== undefined) {
    const response = await getList(app, user, next);
    const page = pageOf(response);
    tasks.push(...page.data);
    pages += 1;
    next = nextLink(response);
    assert.equal(next === undefined, page.next_cursor === null, 'a Link exactly when more');
    assert.ok(pages <= 1000, 'the walk should end');
    if (next !== undefined) await between();
  }
  return { tasks, pages };
}
