import { NOTIFICATION_JOBS } from '../notifications/jobs.ts';
import { deliverWebhook } from '../webhooks/delivery-job.ts';
import type { JobDefinition } from './catalogue.ts';
import { purgeTrash, sweepIdempotency } from './maintenance.ts';

/** Every job the worker runs. A job missing here is never picked up by it. */
export const JOBS: readonly JobDefinition[] = [
  purgeTrash,
  sweepIdempotency,
  deliverWebhook,
  ...NOTIFICATION_JOBS,
];
