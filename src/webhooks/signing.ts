/**
 * Standard Webhooks v1 signatures (https://www.standardwebhooks.com): HMAC-SHA256
 * over `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the base64 bytes of a
 * `whsec_` secret, sent as `v1,<base64>`; several space-separated while a rotated
 * secret is still in its grace period.
 */
import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
/** 32 random bytes: the spec asks for 24 to 64. */
const SECRET_BYTES = 32;

export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new RangeError('not a whsec_ secret');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

export interface SignedContent {
  readonly webhookId: string;
  /** Seconds since the epoch, per attempt: receivers refuse stale timestamps. */
  readonly timestamp: number;
  readonly body: string;
}

export function sign(secret: string, content: SignedContent): string {
  const mac = createHmac('sha256', keyOf(secret))
    .update(`${content.webhookId}.${content.timestamp}.${content.body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers, one signature per secret (newest first). */
export function webhookHeaders(
  secrets: readonly string[],
  content: SignedContent,
): Record<string, string> {
  return {
    'webhook-id': content.webhookId,
    'webhook-timestamp': String(content.timestamp),
    'webhook-signature': secrets.map((secret) => sign(secret, content)).join(' '),
  };
}
