import type { onRequestAsyncHookHandler } from 'fastify';
import { accessTokenIssuer } from './auth/access-tokens.ts';
import { authenticator } from './auth/authenticate.ts';
import { refreshTokenSecrets } from './auth/refresh-tokens.ts';
import type { Config } from './config.ts';
import type { Db } from './db/database.ts';
import { type CursorCodec, cursorCodec } from './http/cursor.ts';
import type { SessionDeps } from './modules/accounts/sessions.service.ts';
import type { Keys } from './secrets.ts';

/**
 * What route modules are given: built once in buildApp, passed explicitly, no
 * container and no globals. Services take only the parts they use.
 */
export interface AppDeps {
  readonly config: Config;
  readonly db: Db;
  readonly sessions: SessionDeps;
  readonly cursors: CursorCodec;
  readonly authenticate: onRequestAsyncHookHandler;
}

export function createDeps(config: Config, db: Db, keys: Keys): AppDeps {
  const accessTokens = accessTokenIssuer(keys.accessTokens, config.accessTokenTtlSeconds);
  return {
    config,
    db,
    sessions: {
      accessTokens,
      refreshTokens: refreshTokenSecrets(keys.refreshSuccessors),
      policy: {
        idleTtlSeconds: config.refreshIdleTtlSeconds,
        absoluteTtlSeconds: config.refreshAbsoluteTtlSeconds,
        reuseGraceSeconds: config.refreshReuseGraceSeconds,
      },
    },
    cursors: cursorCodec(keys.cursors),
    authenticate: authenticator(accessTokens),
  };
}
