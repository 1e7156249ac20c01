import { hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';

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
    if (typeof stored.token_signing_key === 'string' && stored.token_signing_key.length >= 32) {
      return stored.token_signing_key;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`${file} is unreadable; delete it to generate a new key`, { cause: error });
    }
  }
  const secret = randomBytes(48).toString('base64');
  fs.mkdirSync(config.dataDir, { recursive: true });
  // 'wx': two processes starting at once must not both write; the loser reads the winner's key.
  try {
    fs.writeFileSync(file, `${JSON.stringify({ token_signing_key: secret }, null, 2)}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadSigningSecret(config);
    throw error;
  }
  return secret;
}
