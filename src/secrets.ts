import { hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Config, MIN_SIGNING_KEY_BYTES } from './config.ts';

/** Independent keys derived from the one configured secret, one per purpose. */
export interface Keys {
  readonly accessTokens: Uint8Array;
  readonly refreshSuccessors: Uint8Array;
  readonly cursors: Uint8Array;
}

function derive(secret: string, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, 'tasklane', purpose, 32));
}

export function deriveKeys(secret: string): Keys {
  return {
    accessTokens: derive(secret, 'access-token-signing'),
    refreshSuccessors: derive(secret, 'refresh-token-successor'),
    cursors: derive(secret, 'pagination-cursor'),
  };
}

/**
 * TOKEN_SIGNING_KEY when set (production must set it, config.ts enforces that);
 * otherwise a key generated on first start and kept in `$DATA_DIR/secrets.json`,
 * so sessions survive restarts of a development server.
 */
export function loadSigningSecret(config: Config): string {
  if (config.tokenSigningKey) return config.tokenSigningKey;
  const file = path.join(config.dataDir, 'secrets.json');
  try {
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as { token_signing_key?: unknown };
    const key = stored.token_signing_key;
    if (typeof key === 'string' && Buffer.byteLength(key) >= MIN_SIGNING_KEY_BYTES) return key;
    // Falling through would recurse forever: the write below finds this file and rereads it.
    throw new Error(`it holds no token_signing_key of at least ${MIN_SIGNING_KEY_BYTES} bytes`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`${file} is unreadable; delete it to generate a new key`, { cause: error });
    }
  }
  const secret = randomBytes(48).toString('base64');
  fs.mkdirSync(config.dataDir, { recursive: true });
  // Written whole to a private temporary file, then linked into place: link() fails
  // if the file exists, so of two processes starting at once exactly one key wins,
  // and the loser never reads a half-written file.
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify({ token_signing_key: secret }, null, 2)}\n`, {
    mode: 0o600,
  });
  try {
    fs.linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadSigningSecret(config);
    throw error;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  return secret;
}
