// Tasks created through the API (POST /v1/projects/{project_id}/tasks), for tests
// that need real tasks with real keys and events. For rows without the route,
// see rows.ts insertTask.
import type { FastifyInstance } from 'fastify';
import { body, type TestUser } from './factories.ts';

/** The task as the API presents it. */
export interface TestTask {
  readonly id: string;
  readonly project_id: string;
  readonly key: string;
  readonly title: string;
  readonly description: string;
  readonly status: string;
  readonly priority: string;
  readonly assignee_id: string | null;
  readonly due_date: string | null;
  readonly labels: string[];
  readonly created_by: string | null;
  readonly created_at: string;
  readonly updated_at: string;
  readonly deleted_at: string | null;
  readonly version: number;
}

export interface TaskFieldsInput {
  title?: string;
  description?: string;
  status?: 'todo' | 'in_progress' | 'in_review' | 'done' | 'canceled';
  priority?: 'none' | 'low' | 'medium' | 'high' | 'urgent';
  assignee_id?: string | null;
  due_date?: string | null;
  labels?: string[];
}

/** Creates a task in `projectId` as `user` (a project member or above); throws unless 201. */
export async function createTask(
  app: FastifyInstance,
  user: TestUser,
  projectId: string,
  fields: TaskFieldsInput = {},
): Promise<TestTask> {
  const response = await app.inject({
    method: 'POST',
    url: `/v1/projects/${projectId}/tasks`,
    headers: user.auth,
    payload: { title: 'A task', ...fields },
  });
  if (response.statusCode !== 201) {
    throw new Error(`create task failed: ${response.statusCode} ${response.body}`);
  }
  return body<TestTask>(response);
}
