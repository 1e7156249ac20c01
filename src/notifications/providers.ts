/**
 * Where external notifications go: one provider per channel behind one small
 * interface. Email goes over SMTP (nodemailer) when SMTP_URL is set; push, SMS,
 * and email without SMTP_URL go to a provider that only logs, until real ones
 * (APNs/FCM, an SMS gateway) plug in here.
 */
import type { FastifyBaseLogger } from 'fastify';
import nodemailer from 'nodemailer';
import type { Config } from '../config.ts';
import type { NotificationChannel } from '../db/types.ts';

export interface OutgoingMessage {
  /**
   * The same on every attempt at one send (its Message-ID): a receiver that
   * has seen it drops the repeat. Providers with an idempotency header pass it there.
   */
  readonly idempotencyKey: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

export interface NotificationProvider {
  readonly channel: NotificationChannel;
  /** Resolves once the provider accepted the message; throws when it did not (or may not have). */
  send(message: OutgoingMessage): Promise<void>;
}

/** A provider for every external channel, built once per worker, and their connections' end. */
export interface NotificationProviders {
  readonly byChannel: Readonly<Record<NotificationChannel, NotificationProvider>>;
  close(): void;
}

// Short enough that a dead server fails an attempt (and the queue retries
// later) instead of holding a worker slot for nodemailer's default minutes.
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/**
 * Email over SMTP. The Message-ID is ours (the send's id), not nodemailer's
 * random one, so every attempt carries the same one. Options in SMTP_URL's query
 * (`?pool=true`) override the timeouts above.
 */
export function smtpProvider(url: string, from: string): NotificationProvider & { close(): void } {
  const transport = nodemailer.createTransport({ ...SMTP_TIMEOUTS, url });
  return {
    channel: 'email',
    async send(message) {
      await transport.sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId: message.idempotencyKey,
      });
    },
    close: () => transport.close(),
  };
}

/** Logs one line per message, with its ids and nothing of its content or address. */
export function loggingProvider(
  channel: NotificationChannel,
  log: FastifyBaseLogger,
): NotificationProvider {
  return {
    channel,
    async send(message) {
      log.info(
        { channel, idempotency_key: message.idempotencyKey },
        'notification handed to the logging provider',
      );
    },
  };
}

/** The providers the configuration asks for. */
export function createNotificationProviders(
  config: Pick<Config, 'smtpUrl' | 'smtpFrom'>,
  log: FastifyBaseLogger,
): NotificationProviders {
  const smtp = config.smtpUrl ? smtpProvider(config.smtpUrl, config.smtpFrom) : undefined;
  return {
    byChannel: {
      email: smtp ?? loggingProvider('email', log),
      push: loggingProvider('push', log),
      sms: loggingProvider('sms', log),
    },
    close: () => smtp?.close(),
  };
}
