import type { JobDefinition } from '../jobs/catalogue.ts';
import { notifyDueSoonJob } from './due-soon-job.ts';
import { notifyEventJob } from './event-job.ts';
import { sendNotificationJob } from './send-job.ts';

/** The notification jobs, for the worker's registry. */
export const NOTIFICATION_JOBS: readonly JobDefinition[] = [
  notifyEventJob,
  sendNotificationJob,
  notifyDueSoonJob,
];
