import { createHash, createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { AppError } from './problems.ts';

export type CursorPosition = readonly (string | number | null)[];

/**
 * Opaque keyset cursors. A cursor holds the sort key and id of the last row
 * served, and a hash of the filters and sort that produced it; an HMAC makes it
 * tamper-evident. Reusing it with other filters, or editing it, is a 400.
 */
export interface CursorCodec {
  /** `binding`: everything that shapes the list (route, filters, sort). */
  encode(binding: unknown, position: CursorPosition): string;
  decode(cursor: string, binding: unknown): CursorPosition;
}

const bindingHash = (binding: unknown) =>
  createHash('sha256').update(JSON.stringify(binding)).digest('base64url').slice(0, 16);

const badCursor = (detail: string) =>
  new AppError('malformed_request', detail, { errors: [{ parameter: 'cursor', detail }] });

export function cursorCodec(key: Uint8Array): CursorCodec {
  // A KeyObject made once: from raw bytes, every createHmac would build one anew.
  const secret = createSecretKey(key);
  const mac = (payload: string) =>
    createHmac('sha256', secret).update(payload).digest().subarray(0, 16);
  return {
    encode(binding, position) {
      const payload = Buffer.from(
        JSON.stringify({ b: bindingHash(binding), p: position }),
      ).toString('base64url');
      return `${payload}.${mac(payload).toString('base64url')}`;
    },
    decode(cursor, binding) {
      const [payload, signature, extra] = cursor.split('.');
      if (!payload || !signature || extra !== undefined) throw badCursor('the cursor is not valid');
      const given = Buffer.from(signature, 'base64url');
      const expected = mac(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw badCursor('the cursor is not valid');
      }
      const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
        b: string;
        p: CursorPosition;
      };
      if (decoded.b !== bindingHash(binding)) {
        throw badCursor(
          'the cursor belongs to a list with other filters or sort; drop it to start over',
        );
      }
      return decoded.p;
    },
  };
}
