/**
 * The parsers config.ts reads the environment with: each takes the variable's
 * name, so a bad value fails with one line naming it (ConfigError).
 */
/** A bad setting: main prints its message as the one line it exits with. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Readonly<Record<string, string | undefined>>;

export function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

export function integer(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

export function optionalInteger(
  env: Env,
  name: string,
  min: number,
  max: number,
): number | undefined {
  return text(env, name) === undefined ? undefined : integer(env, name, min, min, max);
}

export function oneOf<T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function durationMs(raw: string): number | undefined {
  const match = /^(\d{1,9})(ms|s|m|h)$/.exec(raw);
  return match ? Number(match[1]) * DURATION_UNITS_MS[match[2]!]! : undefined;
}

export function duration(env: Env, name: string, fallback: string): number {
  const raw = text(env, name) ?? fallback;
  const ms = durationMs(raw);
  if (ms === undefined)
    throw new ConfigError(`${name} must be a duration like 500ms, 30s, 5m or 2h, got "${raw}"`);
  return ms;
}

/** Space- or comma-separated durations: `5s 5m 30m 2h`. */
export function durations(env: Env, name: string, fallback: string): number[] {
  const raw = text(env, name) ?? fallback;
  const parts = raw.split(/[\s,]+/).filter(Boolean);
  const values = parts.map(durationMs);
  if (parts.length === 0 || parts.length > 50 || values.some((ms) => ms === undefined)) {
    throw new ConfigError(`${name} must list 1 to 50 durations like "5s 5m 30m 2h", got "${raw}"`);
  }
  return values as number[];
}

export function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.join(' or ')}`);
  }
  return raw;
}

/**
 * A secret sent as `Authorization: Bearer <it>`: at least `minLength`
 * characters of RFC 6750's b64token. The value never goes into a message.
 */
export function bearerSecret(env: Env, name: string, minLength: number): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  if (raw.length < minLength) {
    throw new ConfigError(
      `${name} must be at least ${minLength} characters long (generate one: openssl rand -hex 32)`,
    );
  }
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(raw)) {
    throw new ConfigError(`${name} may hold only letters, digits and - . _ ~ + / (then = padding)`);
  }
  return raw;
}
